/**
 * Test support: a real key server + broker (embedded mode, in-process) on
 * random free ports with a throwaway data dir, and helpers to make engines
 * connected to it over MQTT/TCP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmbedded, type EmbeddedServer } from '../../../scripts/embedded.ts';
import { loadEmbeddedConfig } from '../../../scripts/start-config.ts';
import { freePort, retryOnPortClash } from '../../../test/support/ports.ts';
import { createClient, type SottoClient } from '../../src/engine.ts';
import type { ClientOptionsResolved } from '../../src/internal/context.ts';
import type { ClientStore } from '../../src/store/types.ts';
import { isClientError } from '../../src/errors.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

/** Bearer token that opens `/metrics` on the test server's public port. */
export const TEST_METRICS_TOKEN = 'test-metrics-token-0123456789';

/** A running server for tests. */
export interface TestServer {
  httpUrl: string;
  mqttUrl: string;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  server: EmbeddedServer;
  close(): Promise<void>;
}

/** `npm start` options of a test server: these ports and data dir, cheap Argon2, no rate limits. */
export function testServerArgs(dataDir: string, httpPort: number, mqttPort: number): string[] {
  return [
    '--port',
    String(httpPort),
    '--mqtt-port',
    String(mqttPort),
    '--data-dir',
    dataDir,
    '--web',
    'off',
    '--rate-limit',
    'false',
    '--argon2-memory',
    '1024',
    '--argon2-time',
    '1',
  ];
}

/**
 * A test server in a process of its own (`scripts/start.ts`, run by node itself: tsx's CLI would
 * fork a child that SIGKILL does not reach), resolved once it says it is running. Its stderr goes
 * to ours when `DEBUG_E2E` is set or `stderr` says so.
 */
export async function spawnServer(opts: {
  dataDir: string;
  httpPort: number;
  mqttPort: number;
  stderr?: 'inherit';
}): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(REPO_ROOT, 'scripts', 'start.ts'),
      ...testServerArgs(opts.dataDir, opts.httpPort, opts.mqttPort),
    ],
    { stdio: ['ignore', 'pipe', opts.stderr ?? 'pipe'], cwd: REPO_ROOT },
  );
  if (process.env.DEBUG_E2E) child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start in 60 s')), 60_000);
      createInterface({ input: child.stdout! }).on('line', (l) => {
        if (!l.includes('Sotto is running')) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.removeAllListeners('exit');
  return child;
}

/** Start key server + broker on free ports (cheap Argon2, no rate limits). */
export async function startServer(
  opts: {
    dataDir?: string;
    httpPort?: number;
    mqttPort?: number;
    /** More `npm start` options (e.g. `--create-operator NAME`). */
    args?: string[];
    /** Receives the start-up lines. */
    log?: (line: string) => void;
  } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sotto-client-e2e-'));
  const { httpPort, mqttPort, server } = await retryOnPortClash(
    async () => {
      const httpPort = opts.httpPort ?? (await freePort());
      const mqttPort = opts.mqttPort ?? (await freePort());
      const config = loadEmbeddedConfig(
        [
          ...testServerArgs(dataDir, httpPort, mqttPort),
          '--metrics-token',
          TEST_METRICS_TOKEN,
          ...(opts.args ?? []),
        ],
        {},
      );
      return {
        httpPort,
        mqttPort,
        server: await startEmbedded(config, opts.log ?? (() => undefined)),
      };
    },
    opts.httpPort !== undefined || opts.mqttPort !== undefined ? 1 : 4,
  );
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpPort,
    mqttPort,
    dataDir,
    server,
    async close() {
      await server.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An engine bound to a test server (memory store unless one is given). */
export function makeClient(
  srv: { httpUrl: string; mqttUrl: string },
  store: ClientStore = createMemoryStore(),
  wrap: (c: MqttClient) => MqttClient = (c) => c,
  options: Partial<ClientOptionsResolved> = {},
): SottoClient {
  return createClient({
    store,
    http: { baseUrl: srv.httpUrl },
    mqttConnect: (o) => wrap(mqtt.connect(srv.mqttUrl, { ...o, reconnectPeriod: 200 })),
    options: { resendAfterMs: 3000, ...options },
  });
}

/**
 * Engines on a test server that are closed together: `client()` makes one (DEBUG_E2E=1 logs its
 * errors), `track(c)` adds one made otherwise, `closeAll()` closes them all.
 */
export function clientPool(srv: () => { httpUrl: string; mqttUrl: string }) {
  const clients: SottoClient[] = [];
  const track = (c: SottoClient): SottoClient => {
    clients.push(c);
    return c;
  };
  return {
    client(): SottoClient {
      const c = makeClient(srv());
      if (process.env.DEBUG_E2E) c.on('error', (e) => console.log('ERR', e));
      return track(c);
    },
    track,
    async closeAll(): Promise<void> {
      for (const c of clients.splice(0)) await c.close().catch(() => undefined);
    },
  };
}

/** The `ClientError` code `p` rejects with, or `'resolved'` (anything else is rethrown). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isClientError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

/** Wait until `check` passes (bounded). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let n = 0;
/** A fresh username. */
export function uname(prefix = 'u'): string {
  n += 1;
  return `${prefix}${process.pid % 10000}_${n}_${Math.floor(Math.random() * 1e6)}`.slice(0, 32);
}

/**
 * `store` with its method `method` replaced by `wrap(original)` (the original bound to `store`):
 * a test counts, delays or watches one kind of store call without touching the others.
 */
export function interceptStore<K extends keyof ClientStore>(
  store: ClientStore,
  method: K,
  wrap: (original: ClientStore[K]) => ClientStore[K],
): ClientStore {
  const original = (store[method] as (...args: unknown[]) => unknown).bind(store) as ClientStore[K];
  const replaced = wrap(original);
  return new Proxy(store, {
    get: (target, prop, receiver) =>
      prop === method ? replaced : (Reflect.get(target, prop, receiver) as unknown),
  });
}
