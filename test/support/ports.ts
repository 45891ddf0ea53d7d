/**
 * Free TCP ports on 127.0.0.1 for tests that start real servers.
 *
 * A port found free can still be taken before the server binds it. The commonest taker is not
 * another test's server but an outgoing connection: Linux gives every `connect()` a source port
 * from `ip_local_port_range` (32768–60999 by default), the same range `listen(0)` hands out, and a
 * suite with browsers and hundreds of MQTT clients opens thousands of them. So {@link freePort}
 * picks below that range, and {@link retryOnPortClash} starts again on fresh ports if the bind
 * still loses the race (CI once failed with "port 40361 is in use").
 */
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

/** Ports below the kernel's ephemeral range, where no outgoing connection lands. */
function quietRange(): { low: number; high: number } {
  let ephemeralLow = 32768;
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/);
    if (low !== undefined && Number(low) > 20000) ephemeralLow = Number(low);
  } catch {
    // Not Linux: keep the IANA/Linux default boundary.
  }
  return { low: 20000, high: ephemeralLow - 1 };
}

const range = quietRange();
/** Handed out by this process already; a worker never hands the same port to two servers. */
const handedOut = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A currently free port on 127.0.0.1, below the ephemeral range (bounded search). */
export async function freePort(): Promise<number> {
  const span = range.high - range.low + 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = range.low + Math.floor(Math.random() * span);
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${range.low}–${range.high} after 200 tries`);
}

/** True for a bind that failed because the port was taken (Node's code or a ListenError's). */
export function isPortClash(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

/**
 * Run `start` (which picks its ports with {@link freePort}) again, up to `attempts` times, when
 * its bind lost a race for the port; any other error is thrown at once.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start();
    } catch (err) {
      if (!isPortClash(err) || i >= attempts) throw err;
    }
  }
}

/** Poll `check` every `intervalMs` until it returns true or `timeoutMs` passes (bounded). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
