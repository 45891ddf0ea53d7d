/**
 * Embedded mode (DESIGN.md §2): the key server, the MQTT broker and the web
 * client in one Node process. The broker shares the key server's store and
 * its in-process ACL event bus (or Redis ones when `redisUrl` is set), speaks
 * MQTT over WebSocket at `/mqtt` on the key server's own HTTP server and MQTT
 * over TCP on `mqttPort`; the key server's control notices go straight into
 * the in-process broker.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createClient } from 'redis';
import {
  createBroker,
  createRedisBackends,
  parsePasswordFile,
  parsePolicy,
  type Broker,
  type RedisBackends,
} from '@sotto/broker';
import {
  advertisedBrokers,
  buildApp,
  listenMetrics,
  loadOrCreateMfaKey,
  loadOrCreateVapidKeys,
  secureDataDir,
} from '@sotto/keyserver';
import {
  createMemoryAclEvents,
  createMemoryWakeBus,
  createRedisAclEvents,
  createRedisStore,
  createRedisWakeBus,
  createSqliteStore,
  type AclEvents,
  type RedisClient,
  type Store,
  type WakeBus,
} from '@sotto/server-core/store';
import { createTokenVerifier, loadOrCreateSigningKey } from '@sotto/server-core/tokens';
import type { EmbeddedConfig } from './start-config.ts';
import { ensureWebClient } from './web-assets.ts';
import { webSecurityHeaders } from './web-headers.ts';

/** A running embedded server. */
export interface EmbeddedServer {
  /** Where people open the web client. */
  url: string;
  httpPort: number;
  /** 0 when MQTT over TCP is off. */
  mqttPort: number;
  /** The separate `/metrics` listener; 0 when off (the default). */
  metricsPort: number;
  /** False when the web client could not be built or found. */
  webClient: boolean;
  /** Close MQTT clients, listeners, HTTP, the store (SQLite checkpoints its WAL on close). */
  close(): Promise<void>;
}

/** A listen failure turned into the one line an operator needs. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    message: string,
    /** The system error behind it, so a caller can tell "in use" (retry elsewhere) from the rest. */
    readonly code: 'EADDRINUSE' | 'EACCES' | 'EADDRNOTAVAIL',
  ) {
    super(message);
  }
}

function listenError(err: unknown, port: number, option: string, env: string): unknown {
  const code = (err as { code?: string }).code;
  if (code === 'EADDRINUSE')
    return new ListenError(`port ${port} is in use: choose another with ${option} or ${env}`, code);
  if (code === 'EACCES')
    return new ListenError(
      `port ${port} needs privileges: choose one above 1023 with ${option} or ${env}`,
      code,
    );
  if (code === 'EADDRNOTAVAIL')
    return new ListenError(`cannot listen on that address: change it with --host or HOST`, code);
  return err;
}

/** Start everything; `log` receives the human-readable start-up lines. */
export async function startEmbedded(
  config: EmbeddedConfig,
  log: (line: string) => void = console.log,
): Promise<EmbeddedServer> {
  const ks = config.keyserver;
  const opt = config.embedded;
  // Before anything opens a file: 0700 dir, 0600 secrets, or a refusal (keyserver files.ts).
  const { dataDir, jwtKeyFile, mfaKeyFile, vapidKeyFile } = secureDataDir(ks, {
    extraSecrets: opt.tls ? [opt.tls.keyFile] : [],
    warn: (message) => log(`warning: ${message}`),
  });
  const blobDir = join(dataDir, 'blobs');
  mkdirSync(blobDir, { recursive: true, mode: 0o700 });
  const signingKey = loadOrCreateSigningKey(jwtKeyFile);
  const mfaKey = loadOrCreateMfaKey(mfaKeyFile);
  const vapidKeys = loadOrCreateVapidKeys(vapidKeyFile);

  const cleanups: (() => Promise<unknown>)[] = [];
  const runCleanups = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };

  try {
    // ---- store and ACL events: SQLite + in-process, or Redis for both ----
    let store: Store;
    let events: AclEvents;
    let wakes: WakeBus;
    let backends: RedisBackends | null = null;
    let redis: RedisClient | null = null;
    if (ks.redisUrl) {
      const client = createClient({ url: ks.redisUrl }) as unknown as RedisClient;
      client.on('error', () => undefined);
      await client.connect();
      cleanups.push(() => client.close());
      redis = client;
      store = await createRedisStore({ client, prefix: ks.redisPrefix });
      const redisEvents = createRedisAclEvents({
        client: client,
        prefix: ks.redisPrefix,
      });
      await redisEvents.ready();
      events = redisEvents;
      // Redis even in one process: key servers of other processes may hold the subscription.
      wakes = createRedisWakeBus({ client, prefix: ks.redisPrefix });
      backends = createRedisBackends(ks.redisUrl);
    } else {
      store = createSqliteStore({ filename: join(dataDir, 'keyserver.db') });
      events = createMemoryAclEvents();
      wakes = createMemoryWakeBus();
    }
    cleanups.push(() => store.close());
    cleanups.push(() => events.close());
    cleanups.push(() => wakes.close());

    const verifier = createTokenVerifier({
      publicKey: signingKey,
      issuer: ks.publicUrl,
      audience: ks.tokenAudience,
    });

    // ---- broker first, so the key server's control notices have somewhere to go ----
    let broker: Broker | null = null;
    const control = {
      publish(topic: string, payload: Uint8Array): Promise<void> {
        const b = broker;
        if (!b) return Promise.reject(new Error('broker not started'));
        return new Promise((res, rej) =>
          b.aedes.publish(
            {
              cmd: 'publish',
              topic,
              payload: Buffer.from(payload),
              qos: 1,
              retain: false,
              dup: false,
            },
            (err) => (err ? rej(err) : res()),
          ),
        );
      },
    };

    const tls = opt.tls
      ? { cert: readFileSync(opt.tls.certFile), key: readFileSync(opt.tls.keyFile) }
      : null;

    const app = await buildApp({
      store,
      aclEvents: events,
      signingKey,
      mfaKey,
      vapidKeys,
      wakes,
      blobDir,
      publisher: control,
      config: ks,
      ...(redis ? { redis, redisPrefix: `${ks.redisPrefix}rl:` } : {}),
      logger: { level: ks.logLevel },
      processMetrics: true,
    });
    cleanups.push(() => app.close());
    if (ks.createOperator) {
      // `--create-operator NAME` (docs/OPERATIONS.md "Moderation"): the password of a new account
      // is printed once, here.
      const password = await app.createOperator(ks.createOperator);
      log(
        password === null
          ? `operator: ${ks.createOperator} (existing account) is an operator`
          : `operator: created ${ks.createOperator} with password ${password} (shown once; change it after logging in)`,
      );
    }

    const { policyFile, passwordFile, allowAnonymous } = config.embedded;
    broker = await createBroker({
      store,
      aclEvents: events,
      wakes,
      verifyToken: (token) => verifier.verify(token),
      ...(backends ?? {}),
      metricsRegistry: app.metrics.registry,
      // Operator namespaces (docs/OPERATIONS.md "Operator namespaces"): read at start, a bad line stops it.
      policy: policyFile ? parsePolicy(readFileSync(policyFile, 'utf8')) : undefined,
      passwords: passwordFile ? parsePasswordFile(readFileSync(passwordFile, 'utf8')) : undefined,
      allowAnonymous,
    });
    const b = broker;
    cleanups.push(() => b.close());

    // TLS: Fastify's own server is plain HTTP, so an HTTPS server hands requests to its router.
    const httpsServer = tls ? createHttpsServer(tls, (req, res) => app.routing(req, res)) : null;
    if (httpsServer) {
      cleanups.push(
        () =>
          new Promise<void>((res) => {
            httpsServer.close(() => res());
            httpsServer.closeAllConnections();
          }),
      );
    }
    broker.attachWebSocket(httpsServer ?? app.server, '/mqtt');

    // ---- the web client ----
    let webClient = false;
    if (opt.web !== 'off') {
      const status = ensureWebClient({ build: opt.web === 'auto', log });
      if (status.ok) {
        const dir = status.dir;
        // One plugin scope, so the page headers reach the web client's files and not the API.
        const headers = webSecurityHeaders({ brokerWsUrl: advertisedBrokers(ks).mqtt.ws });
        await app.register(async (web) => {
          web.addHook('onSend', async (_req, reply) => {
            for (const [name, value] of headers) reply.header(name, value);
          });
          await web.register(fastifyStatic, {
            root: dir,
            prefix: '/',
            wildcard: false,
            index: ['index.html'],
            decorateReply: false,
          });
          // SPA fallback: client-side routes (anything not API, docs or a file) get index.html.
          const indexHtml = readFileSync(join(dir, 'index.html'));
          web.get('/*', async (req: FastifyRequest, reply: FastifyReply) => {
            const path = req.url.split('?', 1)[0] ?? '';
            if (path.startsWith('/v1/') || path.startsWith('/docs') || /\.[a-z0-9]+$/i.test(path))
              return reply.callNotFound();
            return reply.type('text/html; charset=utf-8').send(indexHtml);
          });
        });
        webClient = true;
      } else {
        log(`web client: not served — ${status.reason}. The API and MQTT work without it.`);
      }
    }

    // ---- listen ----
    let httpPort: number;
    try {
      if (httpsServer) {
        await app.ready();
        await new Promise<void>((res, rej) => {
          httpsServer.once('error', rej);
          httpsServer.listen(ks.port, ks.host, () => {
            httpsServer.off('error', rej);
            res();
          });
        });
        httpPort = (httpsServer.address() as AddressInfo).port;
      } else {
        await app.listen({ port: ks.port, host: ks.host });
        httpPort = (app.server.address() as AddressInfo).port;
      }
    } catch (err) {
      throw listenError(err, ks.port, '--port', 'PORT');
    }
    // Off unless --metrics-port: key-server and broker series together, for an internal network.
    let metricsPort = 0;
    if (ks.metricsPort !== 0) {
      try {
        const m = await listenMetrics({
          registry: app.metrics.registry,
          port: ks.metricsPort,
          host: ks.host,
          token: ks.metricsToken,
        });
        cleanups.push(() => m.close());
        metricsPort = m.port;
      } catch (err) {
        throw listenError(err, ks.metricsPort, '--metrics-port', 'METRICS_PORT');
      }
    }
    let mqttPort = 0;
    if (opt.mqttPort !== 0) {
      try {
        const l = await broker.listenTcp(opt.mqttPort, ks.host, tls ?? undefined);
        mqttPort = l.port;
      } catch (err) {
        throw listenError(err, opt.mqttPort, '--mqtt-port', 'MQTT_PORT');
      }
    }

    const url = ks.publicUrl;
    let closing: Promise<void> | null = null;
    return {
      url,
      httpPort,
      mqttPort,
      metricsPort,
      webClient,
      close: () => (closing ??= runCleanups()),
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}
