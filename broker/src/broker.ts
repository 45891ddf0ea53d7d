/**
 * `createBroker`: Aedes 1.2 (MQTT 3.1.1) with Sotto's authentication, topic
 * ACL, limits, presence and revocation, on TCP (optionally TLS) and on
 * WebSocket at `/mqtt` of any Node HTTP server (the key server's Fastify
 * server in embedded mode). Everything it talks to is injected: the key
 * server's store (ACL queries), its ACL event bus, the token verifier, and
 * for cluster mode a Redis mqemitter and persistence (see `cluster.ts`).
 *
 * This file only wires the parts together; each lives in its own module:
 * `auth.ts` (the Aedes hooks, one handler per packet in `internal/handlers/`),
 * `internal/connections.ts` (connection registry, token expiry),
 * `internal/presence.ts`, `internal/acl-events.ts` (revocation, group changes),
 * `internal/persistence.ts` (store before PUBACK, granted subscriptions only),
 * `internal/queue-cap.ts`, `internal/resume.ts` and `internal/transports.ts`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import memoryPersistence from 'aedes-persistence';
import type { Registry } from 'prom-client';
import type { Presence, WakeEvent } from '@sotto/crypto/wire';
import { createAuthHooks, DEFAULT_AUTH_LIMITS, type AuthHooks, type AuthLimits } from './auth.ts';
import type { BackendErrors, BackendEvent } from './cluster.ts';
import type { Identity } from './identity.ts';
import { createAclEventHandler } from './internal/acl-events.ts';
import { createConnectionRegistry } from './internal/connections.ts';
import {
  persistBeforeAck,
  wrapPersistence,
  type BrokerPersistence,
} from './internal/persistence.ts';
import { wakeOfflineSessions } from './internal/offline-wake.ts';
import { createPresenceTracker } from './internal/presence.ts';
import { createQueueReplay } from './internal/replay.ts';
import {
  capQueues,
  capRedisQueues,
  type CountedPersistence,
  type QueueCapsHandle,
} from './internal/queue-cap.ts';
import {
  clearRefusedByCounter,
  createResumeGuard,
  type QueuePersistence,
} from './internal/resume.ts';
import { createTransports, type TcpListener } from './internal/transports.ts';
import { createBrokerMetrics, type BrokerMetrics } from './metrics.ts';
import type { PasswordFile } from './passwords.ts';
import type { Policy } from './policy.ts';
import {
  silentLogger,
  type AclEventSource,
  type AclStoreQueries,
  type BrokerLogger,
  type VerifyToken,
} from './types.ts';

export type { BrokerPersistence } from './internal/persistence.ts';
export type { TcpListener } from './internal/transports.ts';

/** All limits of a broker. */
export interface BrokerLimits extends AuthLimits {
  /** Largest MQTT packet (remaining length) after CONNECT; default 256 KiB. */
  maxPacketBytes: number;
  /** Largest CONNECT; default 16 KiB. */
  maxConnectBytes: number;
  /** Inbound QoS 2 messages awaiting PUBREL per client (Aedes `maxInflightInbound`). */
  maxInflightInbound: number;
  /** Time from TCP accept to CONNECT (ms). */
  connectTimeoutMs: number;
  /** Open connections per remote address; 0 = unlimited. */
  maxConnectionsPerIp: number;
  /** A client whose socket does not drain within this time is closed (Aedes `drainTimeout`, ms). */
  drainTimeoutMs: number;
  /** Packets a client may send before its CONNECT is processed (Aedes `queueLimit`). */
  queueLimit: number;
  /**
   * Live messages held for a persistent session while its stored queue is handed over (they
   * follow the queue, in order); a client that collects more is closed and gets them queued.
   */
  resumeHoldLimit: number;
  /** Messages queued per persistent session (cluster mode: give `queueLengths`). */
  maxQueuedMessagesPerSession: number;
  /** In-memory persistence: payload bytes queued per persistent session. */
  maxQueuedBytesPerSession: number;
  /** In-memory persistence: payload bytes queued over all sessions. */
  maxQueuedBytesTotal: number;
}

/** Defaults for {@link BrokerLimits}. */
export const DEFAULT_LIMITS: BrokerLimits = {
  ...DEFAULT_AUTH_LIMITS,
  maxPacketBytes: 256 * 1024,
  maxConnectBytes: 16 * 1024,
  maxInflightInbound: 100,
  connectTimeoutMs: 10_000,
  maxConnectionsPerIp: 1_000,
  drainTimeoutMs: 10_000,
  queueLimit: 42,
  resumeHoldLimit: 10_000,
  maxQueuedMessagesPerSession: 10_000,
  maxQueuedBytesPerSession: 64 * 1024 * 1024,
  maxQueuedBytesTotal: 1024 * 1024 * 1024,
};

/** Options of {@link createBroker}. */
export interface BrokerOptions {
  /** ACL queries of the key server's store. */
  store: AclStoreQueries;
  /** ACL change bus; without it revocations only take effect at the next connect. */
  aclEvents?: AclEventSource | undefined;
  /** Access-token verifier (`createTokenVerifier(...).verify`). */
  verifyToken: VerifyToken;
  /** Aedes persistence; in-memory when omitted. The broker closes it on {@link Broker.close}. */
  persistence?: unknown;
  /** mqemitter; in-process when omitted (`mqemitter-redis` in cluster mode). Closed with the broker. */
  mq?: unknown;
  /** Connection errors of `mq` and `persistence` (`createRedisBackends`): logged and counted. */
  backendErrors?: BackendErrors | undefined;
  /**
   * `mq` is subscribed again after a Redis outage (`createRedisBackends().mqResubscribed`): the
   * stored queues of connected persistent sessions are handed over again (`internal/replay.ts`).
   */
  mqResubscribed?: BackendEvent | undefined;
  /**
   * Lengths of sessions' offline queues in `persistence` (`createRedisBackends`): with it the
   * per-session message cap applies to that persistence too (the in-memory one is always capped).
   */
  queueLengths?: ((clientIds: string[]) => Promise<number[]>) | undefined;
  limits?: Partial<BrokerLimits> | undefined;
  /** Operator policy file (see `policy.ts`), off when omitted. */
  policy?: Policy | undefined;
  /** Operator accounts (Mosquitto password file, `passwords.ts`) for the policy's namespaces. */
  passwords?: PasswordFile | undefined;
  /** Admit clients without a user name to the policy's anonymous rules (needs `policy`). */
  allowAnonymous?: boolean | undefined;
  logger?: BrokerLogger | undefined;
  /** Prometheus registry to register on (shared with the key server in embedded mode). */
  metricsRegistry?: Registry | undefined;
  /**
   * Wake-up bus to the key servers (`createMemoryWakeBus` / `createRedisWakeBus`): told of every
   * message queued for a device with no connection here (`internal/offline-wake.ts`); off when
   * omitted.
   */
  wakes?: { publish(event: WakeEvent): void } | undefined;
  /** Publish retained online/offline presence for devices (default true). */
  presence?: boolean | undefined;
  /**
   * Broker id (cluster): the operator's stable name; Aedes gets it with a suffix that is new
   * for every process (see {@link incarnationId}). Random when omitted.
   */
  id?: string | undefined;
  /** Aedes heartbeat interval (ms); brokers of a cluster detect dead peers after 3 missed beats. */
  heartbeatIntervalMs?: number | undefined;
}

/** A running broker. */
export interface Broker {
  aedes: Aedes;
  metrics: BrokerMetrics;
  hooks: AuthHooks;
  /** Serve MQTT over WebSocket on `server` at `path` (upgrade requests only). Returns a detach function. */
  attachWebSocket(server: HttpServer, path?: string): () => void;
  /** Listen for MQTT over TCP (TLS when `tls` is given). Port 0 picks a free one. */
  listenTcp(port: number, host?: string, tls?: TlsOptions): Promise<TcpListener>;
  /** Hand an already accepted byte stream to the broker (tests, custom transports). */
  handle(conn: Duplex, req?: IncomingMessage): void;
  /** Identities of currently connected clients. */
  connectedIdentities(): Identity[];
  /** Close listeners, disconnect everyone, close persistence and mq. */
  close(): Promise<void>;
}

/** Presence payload (docs/PROTOCOL.md §7 "Presence"); defined in the wire contract. */
export type PresencePayload = Presence;

/**
 * The id Aedes runs under: the operator's broker id plus a suffix unique to this process.
 * Aedes numbers its packets `brokerId:counter` with a counter that starts at 0 in every
 * process, and that pair is the packet's identity across the cluster: the forward hook's
 * exact de-duplication (`handlers/forward.ts`) remembers pairs it delivered to each
 * connection, and aedes-persistence-redis stores queued messages under `packet:{id}:{counter}`.
 * A broker restarted under the same id re-used the pairs of its previous life: subscribers
 * on the other brokers refused its first few thousand messages as already seen (PUBACKed,
 * then delivered only by the sender's end-to-end re-send a minute later), and a queued
 * message of an offline device was overwritten by a new one under the same key. With a
 * fresh suffix, the wills of a crashed process are also published by the other brokers
 * after three missed heartbeats instead of being kept alive by its successor's heartbeat.
 */
export function incarnationId(brokerId: string): string {
  return `${brokerId}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Create and start a broker (Aedes listens on its persistence and mq before this resolves). */
export async function createBroker(opts: BrokerOptions): Promise<Broker> {
  const limits: BrokerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.logger ?? silentLogger;

  const metrics = createBrokerMetrics(
    opts.metricsRegistry,
    () => connections.writableBytes(),
    () => queueCaps?.totalBytes() ?? 0,
  );
  const hooks = createAuthHooks({
    verifyToken: opts.verifyToken,
    store: opts.store,
    policy: opts.policy,
    passwords: opts.passwords,
    allowAnonymous: opts.allowAnonymous,
    limits,
    metrics,
    logger: log,
  });
  const connections = createConnectionRegistry({ sessionOf: hooks.sessionOf, metrics, log });

  const unsubscribeBackendErrors = opts.backendErrors?.subscribe((err, connection) => {
    metrics.redisErrors.inc({ connection });
    log.warn({ err: err.message, connection }, 'redis connection error (reconnecting)');
  });
  const persistence = (opts.persistence ?? memoryPersistence()) as BrokerPersistence;
  // Registry of connected clients by id: public on the Aedes instance, absent from its typings.
  const aedesClients = () => (aedes as unknown as { clients: Record<string, Client> }).clients;
  const wakes = opts.wakes;
  if (wakes) {
    // Before the caps, which then hand it only the sessions a message is really queued for.
    wakeOfflineSessions(persistence as unknown as CountedPersistence, {
      connected: (clientId) => aedesClients()[clientId] !== undefined,
      wake: (event) => wakes.publish(event),
    });
  }
  let queueCaps: QueueCapsHandle | undefined;
  const onQueueDrop = (clientId: string, reason: string) => {
    metrics.queueDropped.inc({ reason });
    log.debug({ clientId, reason }, 'message not queued: queue cap');
  };
  if (opts.persistence === undefined) {
    // Caps first: the exact clear below goes through the counted one.
    queueCaps = capQueues(
      persistence as unknown as CountedPersistence,
      {
        maxMessages: limits.maxQueuedMessagesPerSession,
        maxBytes: limits.maxQueuedBytesPerSession,
        maxTotalBytes: limits.maxQueuedBytesTotal,
      },
      onQueueDrop,
    );
    clearRefusedByCounter(persistence as unknown as QueuePersistence);
  } else if (opts.queueLengths) {
    capRedisQueues(
      persistence as unknown as CountedPersistence,
      limits.maxQueuedMessagesPerSession,
      opts.queueLengths,
      onQueueDrop,
    );
  }
  const disconnect = (client: Client, reason: string) => {
    metrics.disconnects.inc({ reason });
    log.info({ clientId: client.id, reason }, 'disconnecting client');
    client.close();
  };
  const resume = createResumeGuard({
    holdLimit: limits.resumeHoldLimit,
    onOverflow: (client) => disconnect(client, 'resume-backlog'),
  });
  const storeSubscriptions = wrapPersistence(persistence, hooks, resume);
  const preConnect = hooks.preConnect;
  hooks.preConnect = (client, packet, callback) => {
    resume.begin(client, packet.clean !== false);
    preConnect(client, packet, callback);
  };

  const aedes = await Aedes.createBroker({
    ...(opts.id ? { id: incarnationId(opts.id) } : {}),
    ...(opts.mq ? { mq: opts.mq } : {}),
    persistence,
    connectTimeout: limits.connectTimeoutMs,
    drainTimeout: limits.drainTimeoutMs,
    maxInflightInbound: limits.maxInflightInbound,
    queueLimit: limits.queueLimit,
    heartbeatInterval: opts.heartbeatIntervalMs ?? 60_000,
    preConnect: hooks.preConnect,
    authenticate: hooks.authenticate,
    authorizePublish: hooks.authorizePublish,
    authorizeSubscribe: hooks.authorizeSubscribe,
    authorizeForward: hooks.authorizeForward,
  });
  persistBeforeAck(aedes, hooks);
  aedes.on('clientReady', (client) => resume.finish(client));
  const replay = createQueueReplay({
    clients: () => Object.values(aedesClients()),
    persistence,
    resume,
    log,
  });
  const unsubscribeResubscribed = opts.mqResubscribed?.subscribe(() => {
    const started = Date.now();
    replay().then(
      (r) =>
        log.info(
          { ...r, ms: Date.now() - started },
          'redis subscriber back: stored queues of connected sessions handed over again',
        ),
      (err: unknown) => log.error({ err }, 'queue replay failed'),
    );
  });

  const presence =
    (opts.presence ?? true) ? createPresenceTracker({ aedes, connections, log }) : undefined;
  // 'client' fires when Aedes registers the connection (before CONNACK); it pairs with 'clientDisconnect'.
  aedes.on('client', (client) => {
    const session = connections.add(client);
    if (session) presence?.connected(session);
  });
  aedes.on('clientDisconnect', (client) => {
    const session = connections.remove(client);
    if (session) presence?.disconnected(session);
  });

  // Aedes reports persistence failures (offline enqueue, will sweep) as an 'error' event, which
  // would throw without a listener and end the process (its typings omit the event).
  (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) =>
    log.error({ err: err.message }, 'broker persistence error'),
  );
  aedes.on('clientError', (client, err) =>
    log.debug({ clientId: client.id, err: err.message }, 'client error'),
  );
  aedes.on('connectionError', (_client, err) =>
    log.debug({ err: err.message }, 'connection error'),
  );

  // ACL changes, from this process or (via Redis) from any key server.
  const onAclEvent = createAclEventHandler({
    store: opts.store,
    hooks,
    connections,
    persistence,
    storeSubscriptions,
    presence,
    metrics,
    disconnect,
  });
  const unsubscribeEvents = opts.aclEvents?.subscribe((event) => {
    onAclEvent(event).catch((err: unknown) =>
      log.error({ err, event }, 'ACL event handling failed'),
    );
  });

  const transports = createTransports({ aedes, limits, metrics, log });
  return {
    aedes,
    metrics,
    hooks,
    handle: transports.handle,
    attachWebSocket: transports.attachWebSocket,
    listenTcp: transports.listenTcp,
    connectedIdentities: () => connections.identities(),

    async close() {
      presence?.close();
      unsubscribeEvents?.();
      connections.close();
      await transports.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      // Promise form: the callback form of aedes-persistence 11 waits for a 'ready' event that
      // Aedes 1.x (which calls setup()) never triggers.
      await Promise.resolve(persistence.destroy?.()).catch(() => undefined);
      unsubscribeBackendErrors?.();
      unsubscribeResubscribed?.();
    },
  };
}
