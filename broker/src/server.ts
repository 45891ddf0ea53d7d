/**
 * Standalone broker process (cluster mode, or beside a key server sharing its
 * SQLite file): reads the configuration, builds the store, ACL event bus,
 * token verifier and Redis back ends, and listens. `npm start -w broker`.
 * Health is served on the WebSocket HTTP port at `/healthz`; Prometheus
 * metrics on the separate `METRICS_PORT`, and on the WebSocket port only with
 * `METRICS_TOKEN` (server-core's metrics-listener.ts says why).
 */
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { pino } from 'pino';
import { createClient } from 'redis';
import { Registry } from 'prom-client';
import {
  createRedisAclEvents,
  createRedisStore,
  createRedisWakeBus,
  createSqliteStore,
  type AclEvents,
  type Store,
  type WakeBus,
} from '@sotto/server-core/store';
import { createTokenVerifier } from '@sotto/server-core/tokens';
import { listenMetrics, sendMetrics } from '@sotto/server-core/metrics-listener';
import { createBroker } from './broker.ts';
import { createRedisBackends } from './cluster.ts';
import { loadConfig } from './config.ts';
import { parsePasswordFile } from './passwords.ts';
import { parsePolicy } from './policy.ts';

async function main(): Promise<void> {
  const cfg = loadConfig();
  const log = pino({
    level: cfg.logLevel,
    base: { service: 'broker', ...(cfg.brokerId ? { brokerId: cfg.brokerId } : {}) },
  });
  const verifier = createTokenVerifier({
    publicKey: readFileSync(cfg.jwtPublicKeyFile, 'utf8'),
    issuer: cfg.jwtIssuer,
    audience: cfg.jwtAudience,
  });
  const policy = cfg.policyFile ? parsePolicy(readFileSync(cfg.policyFile, 'utf8')) : undefined;
  const passwords = cfg.passwordFile
    ? parsePasswordFile(readFileSync(cfg.passwordFile, 'utf8'))
    : undefined;

  let store: Store;
  let events: (AclEvents & { ready?: () => Promise<void> }) | undefined;
  let backends: ReturnType<typeof createRedisBackends> | undefined;
  let redisPub: ReturnType<typeof createClient> | undefined;
  let wakes: WakeBus | undefined;
  if (cfg.redisUrl) {
    store = await createRedisStore({ url: cfg.redisUrl });
    redisPub = createClient({ url: cfg.redisUrl });
    redisPub.on('error', (err: unknown) => log.warn({ err }, 'redis (ACL events)'));
    await redisPub.connect();
    const bus = createRedisAclEvents({
      client: redisPub,
      onError: (err) => log.warn({ err }, 'ACL event bus'),
    });
    await bus.ready();
    events = bus;
    // Messages queued for offline devices wake them through the key servers (Web Push).
    wakes = createRedisWakeBus({
      client: redisPub,
      onError: (err) => log.warn({ err }, 'wake bus'),
    });
    backends = createRedisBackends(cfg.redisUrl);
  } else {
    store = createSqliteStore({ filename: cfg.storeFile });
    log.warn(
      'no REDIS_URL: ACL changes made by a key server in another process reach this broker only at reconnect',
    );
  }

  const registry = new Registry();
  const broker = await createBroker({
    store,
    aclEvents: events,
    wakes,
    verifyToken: (t) => verifier.verify(t),
    ...backends,
    policy,
    passwords,
    allowAnonymous: cfg.allowAnonymous,
    logger: log,
    metricsRegistry: registry,
    presence: cfg.presence,
    ...(cfg.brokerId ? { id: cfg.brokerId } : {}),
    limits: {
      maxPacketBytes: cfg.maxPacketBytes,
      maxConnectBytes: cfg.maxConnectBytes,
      publishRatePerSec: cfg.publishRatePerSec,
      publishBurst: cfg.publishBurst,
      maxConnectionsPerIp: cfg.maxConnectionsPerIp,
      keepaliveMaxSec: cfg.keepaliveMaxSec,
    },
  });

  const tls = cfg.tls
    ? { cert: readFileSync(cfg.tls.certFile), key: readFileSync(cfg.tls.keyFile) }
    : undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.url === '/metrics' && cfg.metricsToken !== null) {
      sendMetrics(registry, cfg.metricsToken, req, res);
    } else {
      res.writeHead(404).end();
    }
  };
  const http = cfg.wsPort
    ? tls
      ? createHttpsServer(tls, onRequest)
      : createHttpServer(onRequest)
    : null;
  if (http) {
    broker.attachWebSocket(http, '/mqtt');
    await new Promise<void>((resolve) => http.listen(cfg.wsPort, cfg.host, resolve));
  }
  const tcp = cfg.mqttPort ? await broker.listenTcp(cfg.mqttPort, cfg.host, tls) : null;
  const metrics = cfg.metricsPort
    ? await listenMetrics({
        registry,
        port: cfg.metricsPort,
        host: cfg.host,
        token: cfg.metricsToken,
      })
    : null;
  log.info(
    {
      mqttPort: tcp?.port ?? null,
      wsPort: cfg.wsPort || null,
      metricsPort: metrics?.port ?? null,
      cluster: !!cfg.redisUrl,
      tls: !!tls,
    },
    'broker listening',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'broker stopping');
    http?.closeAllConnections();
    http?.close();
    await metrics?.close();
    await broker.close();
    await events?.close();
    await wakes?.close();
    await redisPub?.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
