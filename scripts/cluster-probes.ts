/**
 * Readiness probes of the local cluster's members (scripts/cluster-lib.ts): a free port, a TCP
 * port that accepts, a Redis that answers PING, an HTTP URL that answers 2xx, and the bounded
 * wait that polls one of them while watching the process it waits for.
 */
import { createConnection, createServer } from 'node:net';

/** A free TCP port on `host` (closed again; the member binds it next). */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether `host:port` accepts a TCP connection within 0.5 s. */
export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Whether a Redis on `host:port` answers PING with PONG within 0.5 s. */
export function redisPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** Whether `url` answers 2xx within 1 s. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Poll `check` until true; fail when `alive` turns false or after `timeoutMs`, with the output. */
export async function until(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  alive: () => boolean,
  output: () => string[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (!alive())
      throw new Error(`${what} exited while starting:\n${output().slice(-20).join('\n')}`);
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}:\n${output().slice(-20).join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}
