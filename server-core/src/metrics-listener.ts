/**
 * Where Prometheus metrics may be read (docs/OPERATIONS.md "Metrics"): request counts, login
 * results and queue lengths tell an outsider too much to sit on the public port. They are served
 * on a separate listener (`--metrics-port`, meant for an internal network) and, on the public
 * port, only to a caller presenting the metrics bearer token (`--metrics-token`). The key server
 * and the standalone broker both use this module, so the rule is written once.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * True when `token` is null (no token required) or `authorization` is `Bearer <token>`.
 * Compared in constant time (over SHA-256 digests, so the length leaks nothing either).
 */
export function metricsAuthorized(
  authorization: string | undefined,
  token: string | null,
): boolean {
  if (token === null) return true;
  const m = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1] as string), digest(token));
}

/**
 * Answer one HTTP request for `/metrics`: 401 without the token (when one is set), else the
 * registry's text. Anything but `GET /metrics` is the caller's business.
 */
export function sendMetrics(
  registry: Registry,
  token: string | null,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (!metricsAuthorized(req.headers.authorization, token)) {
    res
      .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' })
      .end('{"error":"UNAUTHORIZED","message":"send Authorization: Bearer <metrics token>"}');
    return;
  }
  registry.metrics().then(
    (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
    () => res.writeHead(500).end(),
  );
}

/** A running metrics listener. */
export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

/**
 * Listen on `host:port` (0 = any free port) serving only `GET /metrics` from `registry` (and the
 * token check when `token` is set); everything else is 404.
 */
export async function listenMetrics(opts: {
  registry: Registry;
  port: number;
  host: string;
  token?: string | null;
}): Promise<MetricsListener> {
  const token = opts.token ?? null;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (req.method === 'GET' && path === '/metrics') sendMetrics(opts.registry, token, req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
