/**
 * Runs the key server on its own (`npm start -w keyserver`, cluster mode in
 * docker-compose): reads the validated config, opens the store (Redis when
 * `REDIS_URL` is set, else SQLite in the data dir), loads or creates the
 * signing key, builds the app and listens. SIGINT/SIGTERM close everything.
 */
import { join, resolve } from 'node:path';
import { createClient } from 'redis';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import type { ControlPublisher } from './context.ts';
import { PermissionError, secureDataDir } from './files.ts';
import { loadOrCreateMfaKey } from './mfa.ts';
import { loadOrCreateVapidKeys } from './push.ts';
import { listenMetrics } from '@sotto/server-core/metrics-listener';
import { createMqttControlPublisher } from './mqtt-publisher.ts';
import {
  createMemoryAclEvents,
  createRedisAclEvents,
  createRedisStore,
  createRedisWakeBus,
  createSqliteStore,
  type AclEvents,
  type RedisClient,
  type Store,
  type WakeBus,
} from '@sotto/server-core/store';
import { createTokenIssuer, loadOrCreateSigningKey } from '@sotto/server-core/tokens';

/** `--create-operator NAME`: grant the role (creating the account) and say so on stdout. */
async function announceOperator(
  name: string,
  app: { createOperator(n: string): Promise<string | null> },
): Promise<void> {
  const password = await app.createOperator(name);
  console.log(
    password === null
      ? `operator: ${name} (existing account) is an operator`
      : `operator: created ${name} with password ${password} (shown once; change it after logging in)`,
  );
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Before anything opens a file: 0700 dir, 0600 secrets, or a refusal (files.ts).
  const { dataDir, jwtKeyFile, mfaKeyFile, vapidKeyFile } = secureDataDir(config, {
    warn: (message) => console.error(`warning: ${message}`),
  });
  const signingKey = loadOrCreateSigningKey(jwtKeyFile);
  const mfaKey = loadOrCreateMfaKey(mfaKeyFile);
  const vapidKeys = loadOrCreateVapidKeys(vapidKeyFile);
  const closers: (() => Promise<unknown>)[] = [];

  let store: Store;
  let events: AclEvents;
  let wakes: WakeBus | undefined;
  let redis: RedisClient | undefined;
  if (config.redisUrl) {
    const client = createClient({ url: config.redisUrl });
    client.on('error', (err: Error) => console.error(`redis: ${err.message}`));
    await client.connect();
    redis = client;
    store = await createRedisStore({ client, prefix: config.redisPrefix });
    events = createRedisAclEvents({ client, prefix: config.redisPrefix });
    // Wake-ups from the brokers (docs/PROTOCOL.md §7 "Wake-up pushes"); one bus per process.
    const bus = createRedisWakeBus({
      client,
      prefix: config.redisPrefix,
      onError: (err) => console.error(`wake bus: ${(err as Error).message}`),
    });
    wakes = bus;
    closers.push(
      () => bus.close(),
      () => client.close(),
    );
  } else {
    store = createSqliteStore({ filename: join(dataDir, 'keyserver.db') });
    events = createMemoryAclEvents();
  }
  closers.push(
    () => store.close(),
    () => events.close(),
  );

  let publisher: (ControlPublisher & { close(): Promise<void> }) | undefined;
  if (config.brokerUrl) {
    const issuer = createTokenIssuer({
      privateKey: signingKey,
      issuer: config.publicUrl,
      audience: config.tokenAudience,
      ttlSeconds: config.accessTokenTtl,
    });
    publisher = createMqttControlPublisher({ url: config.brokerUrl, issuer });
    const p = publisher;
    closers.push(() => p.close());
  }

  const app = await buildApp({
    store,
    aclEvents: events,
    signingKey,
    mfaKey,
    blobDir: resolve(config.blobDir ?? join(dataDir, 'blobs')),
    vapidKeys,
    ...(wakes ? { wakes } : {}),
    config,
    ...(publisher ? { publisher } : {}),
    ...(redis ? { redis, redisPrefix: `${config.redisPrefix}rl:` } : {}),
    logger: { level: config.logLevel },
    processMetrics: true,
  });
  closers.unshift(() => app.close());
  if (config.createOperator) await announceOperator(config.createOperator, app);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    void (async () => {
      for (const c of closers)
        await c().catch((err: unknown) => app.log.error({ err }, 'close failed'));
      process.exit(0);
    })();
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));

  await app.listen({ port: config.port, host: config.host });
  // Metrics only on their own port (meant for an internal network), or behind METRICS_TOKEN.
  const metricsListener = config.metricsPort
    ? await listenMetrics({
        registry: app.metrics.registry,
        port: config.metricsPort,
        host: config.host,
        token: config.metricsToken,
      })
    : null;
  if (metricsListener) closers.unshift(() => metricsListener.close());
  app.log.info(
    {
      store: config.redisUrl ? 'redis' : 'sqlite',
      dataDir,
      publicUrl: config.publicUrl,
      metricsPort: metricsListener?.port ?? null,
    },
    'key server ready',
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PermissionError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
