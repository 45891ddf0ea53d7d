/**
 * Test support: a hostile key server. An HTTP proxy on 127.0.0.1 (random free port) in front of
 * the real key server that lets a test rewrite any answer, the way a compromised or malicious key
 * server could (issue 14). Point an engine at it with
 * `makeClient({ httpUrl: proxy.url, mqttUrl: srv.mqttUrl })`; the broker stays the real one.
 *
 * Every request is forwarded untouched (method, headers including Authorization, body bytes), the
 * real answer is read, offered to the rewriters in the order they were added (the first one that
 * returns a response wins), and sent back. Bodies that are not JSON (blob routes) pass through
 * byte for byte unless a rewriter replaces them.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeDeviceCertificate, toBase64, type LocalDevice } from '@sotto/crypto';

/** One request as the proxy saw it. */
export interface ProxyExchange {
  method: string;
  /** Path with query string, e.g. `/v1/groups/abc?since=2`. */
  path: string;
  /** parsed JSON request body or null */
  body: unknown;
}

/** The key server's answer as offered to rewriters, or a rewriter's replacement. */
export interface ProxyResponse {
  status: number;
  /** parsed JSON, or string when not JSON */
  body: unknown;
  headers: Record<string, string>;
}

/** Return a replacement response, or undefined to pass the real one through. */
export type Rewriter = (
  req: ProxyExchange,
  res: ProxyResponse,
) => ProxyResponse | undefined | Promise<ProxyResponse | undefined>;

/** A running hostile proxy. */
export interface HostileProxy {
  url: string;
  /** add a rewriter; returns a remover */
  use(r: Rewriter): () => void;
  /** requests seen, for assertions */
  readonly log: ProxyExchange[];
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and ones fetch/node recompute; never copied across. */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
  'content-encoding',
]);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /\bjson\b/i.test(contentType);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return bytes.toString('utf8');
  }
}

/** Start a proxy in front of `targetUrl` (e.g. the test server's `httpUrl`). */
export async function startHostileProxy(targetUrl: string): Promise<HostileProxy> {
  const target = targetUrl.replace(/\/+$/, '');
  const rewriters: Rewriter[] = [];
  const log: ProxyExchange[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const reqBytes = await readBody(req);
    const exchange: ProxyExchange = {
      method,
      path,
      body: reqBytes.length > 0 && isJson(req.headers['content-type']) ? parseJson(reqBytes) : null,
    };
    log.push(exchange);

    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_HEADERS.has(k)) continue;
      headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const upstream = await fetch(target + path, {
      method,
      headers,
      ...(reqBytes.length > 0 && method !== 'GET' && method !== 'HEAD'
        ? { body: new Uint8Array(reqBytes) }
        : {}),
      redirect: 'manual',
    });
    const resBytes = Buffer.from(await upstream.arrayBuffer());
    const resHeaders: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!HOP_HEADERS.has(k)) resHeaders[k] = v;
    });
    const json = isJson(resHeaders['content-type']);
    const real: ProxyResponse = {
      status: upstream.status,
      body: json ? parseJson(resBytes) : resBytes.toString('utf8'),
      headers: resHeaders,
    };

    let replaced: ProxyResponse | undefined;
    for (const r of [...rewriters]) {
      replaced = await r(exchange, real);
      if (replaced) break;
    }
    if (!replaced) {
      // Untouched: send the original bytes so binary (blob) bodies survive exactly.
      res.writeHead(upstream.status, resHeaders);
      res.end(resBytes);
      return;
    }
    const out =
      typeof replaced.body === 'string' ? replaced.body : JSON.stringify(replaced.body ?? null);
    const outHeaders = { ...replaced.headers };
    if (typeof replaced.body !== 'string') outHeaders['content-type'] = 'application/json';
    res.writeHead(replaced.status, outHeaders);
    res.end(out);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`hostile proxy: ${e instanceof Error ? e.message : String(e)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    use(r) {
      rewriters.push(r);
      return () => {
        const i = rewriters.indexOf(r);
        if (i >= 0) rewriters.splice(i, 1);
      };
    },
    log,
    close() {
      return new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      });
    },
  };
}

/**
 * Make `proxy` answer every lookup of `user`'s device list with an identity of the attacker's:
 * `device`'s UIK and its one device, with no log entry (a key server swapping a user's identity
 * for one the log cannot prove). Returns the remover.
 */
export function swapIdentity(proxy: HostileProxy, user: string, device: LocalDevice): () => void {
  return proxy.use((req, res) =>
    req.method === 'GET' && req.path === `/v1/users/${user}`
      ? {
          ...res,
          body: {
            username: user,
            uik: toBase64(device.certificate.uik),
            devices: [
              {
                deviceId: device.certificate.deviceId,
                certificate: toBase64(encodeDeviceCertificate(device.certificate)),
                logIndex: null,
              },
            ],
          },
        }
      : undefined,
  );
}
