/**
 * Starts a real `redis-server` (Debian package) on a random port in a temporary
 * directory, for store, broker and cluster tests. Persistence is off unless
 * `aof` is asked for; the process is killed and the directory removed on stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

/** A running Redis server. */
export interface RedisProcess {
  url: string;
  port: number;
  dir: string;
  /** Kill (SIGKILL when `hard`) and, unless `keepDir`, delete the data folder. */
  stop(opts?: { hard?: boolean; keepDir?: boolean }): Promise<void>;
  /** Restart on the same port and data folder (AOF replays when enabled). */
  restart(): Promise<void>;
}

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** Start a Redis server; throws a clear error if `redis-server` is not installed. */
export async function startRedis(opts: { aof?: boolean } = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sotto-redis-'));
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      opts.aof ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--protected-mode',
      'yes',
      '--loglevel',
      'warning',
    ];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (err) =>
        reject(
          new Error(`cannot start redis-server (apt-get install redis-server): ${err.message}`),
        ),
      ),
    );
    await Promise.race([
      waitFor(() => ping(port), { timeoutMs: 10_000, what: 'redis-server' }),
      spawnError,
    ]);
  };

  const kill = async (signal: NodeJS.Signals) => {
    const proc = child;
    // A process killed by a signal has `signalCode` set and `exitCode` null.
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop({ hard = false, keepDir = false } = {}) {
      await kill(hard ? 'SIGKILL' : 'SIGTERM');
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill('SIGTERM');
      await launch();
    },
  };
}
