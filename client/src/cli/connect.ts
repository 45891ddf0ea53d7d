/**
 * Opening the engine for one CLI command: the state directory's SQLite store,
 * the key server, and the broker(s) (`--mqtt`, else what the server names at
 * `/.well-known/sotto`); waiting until online; reporting the connection of
 * long-running commands.
 */
import { join } from 'node:path';
import { DISCOVERY_PATH, decodeDiscovery } from '@sotto/crypto';
import mqtt from 'mqtt';
import { createClient, type SottoClient } from '../engine.ts';
import { NODE_RECEIVE_BATCH } from '../internal/inbound.ts';
import { createSqliteStore } from '../stores/sqlite.ts';
import { ensureStateDir, type CliConfig } from './config.ts';
import { errorText, EXIT, UsageError } from './exit.ts';

/** Where the broker is when the server does not say (servers older than discovery). */
function guessedMqttUrl(server: string): string {
  return `mqtt://${new URL(server).hostname}:1883`;
}

/**
 * The broker URL(s) to use: `--mqtt` / `SOTTO_MQTT` / remembered, else the one the key server
 * names at `/.well-known/sotto` (TCP if offered, else WebSocket), else the old default port.
 */
async function brokerUrls(cfg: CliConfig, server: string): Promise<string[]> {
  if (cfg.mqtt !== undefined) return cfg.mqtt.split(',').filter((u) => u !== '');
  let res: Response;
  try {
    res = await fetch(new URL(DISCOVERY_PATH, server), { signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw Object.assign(
      new Error(`cannot reach the server at ${server}: ${errorText(cause)} — is it running?`),
      { exit: EXIT.UNREACHABLE },
    );
  }
  if (res.status === 404) return [guessedMqttUrl(server)];
  try {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const { mqtt: urls } = decodeDiscovery(await res.text());
    return [urls.tcp ?? urls.ws];
  } catch (cause) {
    throw Object.assign(
      new Error(
        `${server}${DISCOVERY_PATH} did not name a broker (${errorText(cause)}); pass --mqtt URL`,
      ),
      { exit: EXIT.UNREACHABLE },
    );
  }
}

/** Open the engine on the state directory (and the broker when `withMqtt`); not started yet. */
export async function open(cfg: CliConfig, withMqtt: boolean): Promise<Opened> {
  if (!cfg.server)
    throw new UsageError('no server: pass --server URL (remembered after register/login)');
  // Several brokers (repeated --mqtt or a comma list): failover in that order.
  const brokers = withMqtt ? await brokerUrls(cfg, cfg.server) : [];
  const first = brokers[0];
  if (withMqtt && !first) throw new UsageError('--mqtt needs a broker URL');
  ensureStateDir(cfg.stateDir);
  const store = createSqliteStore({
    path: join(cfg.stateDir, 'state.sqlite'),
    ...(cfg.passphrase !== undefined ? { passphrase: cfg.passphrase } : {}),
  });
  const client = createClient({
    store,
    http: { baseUrl: cfg.server },
    options: { receiveBatch: NODE_RECEIVE_BATCH },
    ...(first
      ? {
          mqttConnect: (o) => mqtt.connect(first, o),
          ...(brokers.length > 1 ? { brokers } : {}),
        }
      : {}),
  });
  return Object.assign(client, { brokerUrl: brokers.join(',') });
}

/** Open the engine, run `fn` with it, and close engine and store whatever happens. */
export async function withClient<T>(
  cfg: CliConfig,
  withMqtt: boolean,
  fn: (client: Opened) => Promise<T>,
): Promise<T> {
  const client = await open(cfg, withMqtt);
  try {
    return await fn(client);
  } finally {
    await client.close();
    await client.store.close();
  }
}

/** An engine opened by the CLI, with the broker URL(s) it uses (for messages). */
export type Opened = SottoClient & { brokerUrl: string };

/**
 * Start the engine and wait (up to `seconds`) until it is connected to the broker; otherwise
 * fail with {@link EXIT.UNREACHABLE} and the last connection error.
 */
export async function startOnline(client: Opened, seconds: number): Promise<void> {
  let lastError: string | undefined;
  const onConnection = (c: { state: string; error?: string | undefined }): void => {
    if (c.error) lastError = c.error;
  };
  client.on('connection', onConnection);
  try {
    await client.start();
    const deadline = Date.now() + seconds * 1000;
    while (client.connectionState !== 'online' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    if (client.connectionState !== 'online') {
      throw Object.assign(
        new Error(
          `cannot reach the broker at ${client.brokerUrl}${lastError ? `: ${lastError}` : ''} ` +
            '(pass --mqtt URL, or check what the server names at /.well-known/sotto)',
        ),
        { exit: EXIT.UNREACHABLE },
      );
    }
  } finally {
    client.off('connection', onConnection);
  }
}

/**
 * Long-running commands (listen, bridge): every connection change as a `connection:` line on
 * stderr, and a broker that cannot be reached said plainly once per outage (the engine keeps
 * retrying).
 */
export function reportConnection(client: Opened): void {
  let reported = false;
  client.on('connection', (c) => {
    process.stderr.write(`connection: ${c.state}${c.error ? ` (${c.error})` : ''}\n`);
    if (c.state === 'online') reported = false;
    else if (c.error && !reported && c.state === 'offline') {
      reported = true;
      process.stderr.write(
        `sotto: cannot reach the broker at ${client.brokerUrl}: ${c.error}; retrying ` +
          '(pass --mqtt URL, or check what the server names at /.well-known/sotto)\n',
      );
    }
  });
}

/** Resolves on SIGINT or SIGTERM: how `listen` and `bridge` are stopped. */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
