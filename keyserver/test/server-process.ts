/**
 * Test support: the standalone key server (`src/server.ts`) as a real process on a random free
 * port, configured only through its environment, and plain `fetch` helpers to talk to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { KEYSERVER_NODE_FLAGS } from '../../scripts/node-flags.ts';
import { freePort, waitFor } from '../../test/support/ports.ts';

const ENTRY = join(import.meta.dirname, '..', 'src', 'server.ts');

/** Cheap Argon2 for tests; every limit is left at its default unless `env` sets it. */
export const CHEAP_ARGON2_ENV: Record<string, string> = {
  ARGON2_MEMORY_KIB: '64',
  ARGON2_TIME: '1',
  LOG_LEVEL: 'warn',
};

/** A spawned key server. */
export interface KeyServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** stdout and stderr so far. */
  output(): string;
  /** Exit code (or signal). */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

/** Spawn `src/server.ts` with `env` (PORT is chosen here unless given). */
export function spawnKeyServer(
  env: Record<string, string>,
  args: string[] = [],
): Omit<KeyServerProcess, 'port' | 'url'> {
  const child = spawn(
    process.execPath,
    [...KEYSERVER_NODE_FLAGS, '--import', 'tsx', ENTRY, ...args],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...CHEAP_ARGON2_ENV,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(t);
    },
  };
}

/** Start a key server and wait until `/healthz` answers (or fail with its output). */
export async function startKeyServer(
  env: Record<string, string>,
  args: string[] = [],
): Promise<KeyServerProcess> {
  const port = await freePort();
  const proc = spawnKeyServer({ HOST: '127.0.0.1', PORT: String(port), ...env }, args);
  const url = `http://127.0.0.1:${port}`;
  const ready = waitFor(
    async () => {
      if (proc.child.exitCode !== null)
        throw new Error(`key server exited early:\n${proc.output()}`);
      return fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    { timeoutMs: 60_000, intervalMs: 100, what: 'the key server' },
  );
  try {
    await ready;
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { ...proc, port, url };
}

/** A JSON answer: status, body and headers. */
export interface Answer {
  status: number;
  body: { error?: string; message?: string } & Record<string, unknown>;
  headers: Headers;
}

/** Send JSON (or nothing) and read the JSON answer. */
export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const r = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  let parsed: Answer['body'] = {};
  try {
    parsed = JSON.parse(text) as Answer['body'];
  } catch {
    parsed = { text };
  }
  return { status: r.status, body: parsed, headers: r.headers };
}
