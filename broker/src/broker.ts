/**
 * `createBroker`: Aedes 1.2 (MQTT 3.1.1) with Sotto's authentication, topic
 * ACL, limits, presence and revocation, on TCP (optionally TLS) and on
 * WebSocket at `/mqtt` of any Node HTTP server (the key server's Fastify
 * server in embedded mode). Everything it talks to is injected: the key
 * server's store (ACL queries), its ACL event bus, the token verifier, and
 * for cluster mode a Redis mqemitter and persistence (see `cluster.ts`).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import { Aedes, type AedesPublishPacket, type Client, type Subscription } from 'aedes';
import memoryPersistence from 'aedes-persistence';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Registry } from 'prom-client';
import { createAuthHooks, DEFAULT_AUTH_LIMITS, type AuthHooks, type AuthLimits } from './auth.ts';
import type { BackendErrors } from './cluster.ts';
import { identityOf, type Identity } from './identity.ts';
import {
  deviceClientId,
  encodePresence,
  groupTopic,
  parseTopic,
  presenceTopic,
  thingClientId,
  GROUP_ID_PATTERN,
  type Presence,
} from '@sotto/crypto/wire';
import { ConnectionCounter, guardPacketSize } from './limits.ts';
import { coalesceWrites } from './internal/coalesce.ts';
import { createBrokerMetrics, type BrokerMetrics } from './metrics.ts';
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
  type ResumeGuard,
} from './internal/resume.ts';
import type { Policy } from './policy.ts';
import {
  silentLogger,
  type AclEvent,
  type AclEventSource,
  type AclStoreQueries,
  type BrokerLogger,
  type VerifyToken,
} from './types.ts';

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

/**
 * Persistence as Aedes 1.x uses it (promise API of aedes-persistence 11 and
 * aedes-persistence-redis 11); typed here only as far as the broker calls it.
 */
export interface BrokerPersistence {
  addSubscriptions(client: { id: string }, subs: Subscription[]): Promise<unknown>;
  removeSubscriptions(client: { id: string }, topics: string[]): Promise<unknown>;
  subscriptionsByTopic(topic: string): Promise<{ clientId: string; topic: string; qos?: number }[]>;
  subscriptionsByClient(client: { id: string }): Promise<{ topic: string }[] | null | undefined>;
  outgoingStream(client: { id: string }): Readable;
  destroy?(): Promise<unknown> | undefined;
}

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
   * Lengths of sessions' offline queues in `persistence` (`createRedisBackends`): with it the
   * per-session message cap applies to that persistence too (the in-memory one is always capped).
   */
  queueLengths?: ((clientIds: string[]) => Promise<number[]>) | undefined;
  limits?: Partial<BrokerLimits> | undefined;
  /** Operator policy file (see `policy.ts`), off when omitted. */
  policy?: Policy | undefined;
  logger?: BrokerLogger | undefined;
  /** Prometheus registry to register on (shared with the key server in embedded mode). */
  metricsRegistry?: Registry | undefined;
  /** Publish retained online/offline presence for devices (default true). */
  presence?: boolean | undefined;
  /** Broker id (cluster); random when omitted. */
  id?: string | undefined;
  /** Aedes heartbeat interval (ms); brokers of a cluster detect dead peers after 3 missed beats. */
  heartbeatIntervalMs?: number | undefined;
}

/** A TCP (or TLS) listener. */
export interface TcpListener {
  port: number;
  close(): Promise<void>;
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

/** Create and start a broker (Aedes listens on its persistence and mq before this resolves). */
export async function createBroker(opts: BrokerOptions): Promise<Broker> {
  const limits: BrokerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.logger ?? silentLogger;
  const presenceOn = opts.presence ?? true;

  let aedesRef: Aedes | null = null;
  const metrics = createBrokerMetrics(
    opts.metricsRegistry,
    () => {
      let total = 0;
      for (const c of clientsById.values())
        total += (c.conn as { writableLength?: number }).writableLength ?? 0;
      return total;
    },
    () => queueCaps?.totalBytes() ?? 0,
  );
  const hooks = createAuthHooks({
    verifyToken: opts.verifyToken,
    store: opts.store,
    policy: opts.policy,
    limits,
    metrics,
    logger: log,
  });

  const unsubscribeBackendErrors = opts.backendErrors?.subscribe((err, connection) => {
    metrics.redisErrors.inc({ connection });
    log.warn({ err: err.message, connection }, 'redis connection error (reconnecting)');
  });
  const persistence = (opts.persistence ?? memoryPersistence()) as BrokerPersistence;
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
    ...(opts.id ? { id: opts.id } : {}),
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
  aedesRef = aedes;
  void aedesRef;
  persistBeforeAck(aedes, hooks);
  aedes.on('clientReady', (client) => resume.finish(client));

  // ---- connected clients, indexed for revocation ----
  const clientsById = new Map<string, Client>();
  const clientsByAccount = new Map<string, Set<Client>>();
  const expiryTimers = new Map<Client, NodeJS.Timeout>();

  const accountKey = (id: Identity) =>
    id.kind === 'device'
      ? id.username
      : id.kind === 'thing'
        ? `thing:${id.owner}`
        : `service:${id.instance}`;

  let closing = false;
  /** Publish retained presence; `hidden` clears it (an empty retained payload, MQTT 3.1.1 §3.3.1.3). */
  const publishPresence = (username: string, status: PresencePayload['status'] | 'hidden') => {
    if (closing) return;
    const presence: Presence | null = status === 'hidden' ? null : { status, at: Date.now() };
    const bytes = encodePresence(presence);
    aedes.publish(
      {
        cmd: 'publish',
        topic: presenceTopic(username),
        payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        qos: 1,
        retain: true,
        dup: false,
      },
      (err) => {
        if (err) log.warn({ err, username }, 'presence publish failed');
      },
    );
  };
  // Presence setting of accounts with a device connected here: read at connect (ClientSession),
  // kept current by `presence-visibility` events, forgotten when the last device leaves.
  const presenceVisible = new Map<string, boolean>();
  // Changes heard for users with no device here, kept for a minute: a connect whose setting was
  // read from the store before the change must not go by that stale value (the event came first).
  const recentVisibility = new Map<string, { visible: boolean; at: number }>();
  const RECENT_VISIBILITY_MS = 60_000;

  const onlineDevices = (username: string) => {
    let n = 0;
    for (const c of clientsByAccount.get(username) ?? [])
      if (hooks.sessionOf(c)?.identity.kind === 'device') n++;
    return n;
  };

  // 'client' fires when Aedes registers the connection (before CONNACK); it pairs with 'clientDisconnect'.
  aedes.on('client', (client) => {
    const session = hooks.sessionOf(client);
    if (!session) return;
    clientsById.set(client.id, client);
    const key = accountKey(session.identity);
    let set = clientsByAccount.get(key);
    if (!set) clientsByAccount.set(key, (set = new Set()));
    set.add(client);
    metrics.connections.inc();
    if (session.expiresAt !== undefined) {
      // Close the connection when its token expires; the client reconnects with a fresh one.
      const ms = Math.max(0, session.expiresAt - Date.now());
      const t = setTimeout(
        () => {
          metrics.disconnects.inc({ reason: 'token-expired' });
          log.info({ clientId: client.id }, 'token expired: closing');
          client.close();
        },
        Math.min(ms, 2 ** 31 - 1),
      );
      t.unref();
      expiryTimers.set(client, t);
    }
    if (presenceOn && session.identity.kind === 'device') {
      const user = session.identity.username;
      if (!presenceVisible.has(user)) {
        const recent = recentVisibility.get(user);
        recentVisibility.delete(user);
        presenceVisible.set(
          user,
          recent && Date.now() - recent.at < RECENT_VISIBILITY_MS
            ? recent.visible
            : (session.presenceVisible ?? true),
        );
      }
      if (presenceVisible.get(user)) publishPresence(user, 'online');
    }
  });

  aedes.on('clientDisconnect', (client) => {
    const t = expiryTimers.get(client);
    if (t) clearTimeout(t);
    expiryTimers.delete(client);
    const session = hooks.sessionOf(client);
    if (!session) return;
    if (clientsById.get(client.id) === client) clientsById.delete(client.id);
    const key = accountKey(session.identity);
    const set = clientsByAccount.get(key);
    if (set?.delete(client)) metrics.connections.dec();
    if (set && set.size === 0) clientsByAccount.delete(key);
    if (
      presenceOn &&
      session.identity.kind === 'device' &&
      onlineDevices(session.identity.username) === 0
    ) {
      const user = session.identity.username;
      if (presenceVisible.get(user) ?? true) publishPresence(user, 'offline');
      presenceVisible.delete(user);
    }
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

  // ---- ACL changes, from this process or (via Redis) from any key server ----
  const disconnect = (client: Client, reason: string) => {
    metrics.disconnects.inc({ reason });
    log.info({ clientId: client.id, reason }, 'disconnecting client');
    client.close();
  };

  /**
   * Subscribe every active device of newly added members to the group topic, on the
   * broker's side: a member's device only subscribes itself once it hears of the group
   * (a notice or sender key that may arrive after the first group message), and an
   * offline device would otherwise miss everything sent before it comes back. Connected
   * clients of this broker get a live subscription (authorized by the same hook, and
   * persisted when their session is); the others, when they have a stored session, get the
   * subscription in it, so their queue starts now.
   */
  const subscribeAdded = async (topic: string, users: string[]): Promise<void> => {
    for (const user of users) {
      for (const device of await opts.store.listDevices(user)) {
        if (!device.active) continue;
        const clientId = deviceClientId(device.username, device.deviceId);
        const live = clientsById.get(clientId);
        if (live) {
          if (
            topic in (live as unknown as { subscriptions: Record<string, unknown> }).subscriptions
          )
            continue;
          await new Promise<void>((resolve) =>
            live.subscribe({ topic, qos: 1 } as never, () => resolve()),
          );
        } else {
          // Only a stored (clean=false) session gets one: a device that never connected
          // subscribes itself when it starts, and a clean-session client (here or on another
          // broker of a cluster) must not collect a queue it will never read.
          const stored = await persistence.subscriptionsByClient({ id: clientId });
          if (!stored || stored.length === 0) continue;
          await storeSubscriptions({ id: clientId }, [{ topic, qos: 1 }]);
        }
        metrics.groupSubscriptions.inc();
      }
    }
  };

  const onAclEvent = async (event: AclEvent): Promise<void> => {
    switch (event.type) {
      case 'group-changed': {
        if (!GROUP_ID_PATTERN.test(event.groupId)) return;
        const removed = new Set(event.removed);
        await hooks.groups.changed(event.groupId, event.removed);
        const topic = groupTopic(event.groupId);
        if (event.added.length > 0) await subscribeAdded(topic, event.added);
        if (removed.size === 0) return;
        // Connected members: drop the live subscription (and its persisted copy).
        for (const user of removed) {
          for (const client of clientsByAccount.get(user) ?? []) {
            if (
              !(
                topic in
                (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions
              )
            )
              continue;
            client.unsubscribe({ unsubscriptions: [topic] } as never, () => undefined);
            if (!client.clean) await persistence.removeSubscriptions({ id: client.id }, [topic]);
            metrics.refusals.inc({ rule: 'ACL-2', action: 'revoke-subscription' });
          }
        }
        // Offline persistent sessions: remove the stored subscription so nothing more is queued;
        // anything already queued is filtered on delivery (authorizeForward + wrapped outgoingStream).
        const subs = await persistence.subscriptionsByTopic(topic);
        for (const s of subs) {
          const id = identityOf(s.clientId);
          if (id?.kind === 'device' && removed.has(id.username) && s.topic === topic) {
            await persistence.removeSubscriptions({ id: s.clientId }, [topic]);
          }
        }
        return;
      }
      case 'token-revoked':
        for (const c of clientsByAccount.get(event.username) ?? []) {
          if (hooks.sessionOf(c)?.jti === event.jti) disconnect(c, 'token-revoked');
        }
        return;
      case 'device-revoked': {
        const c = clientsById.get(deviceClientId(event.username, event.deviceId));
        if (c) disconnect(c, 'device-revoked');
        return;
      }
      case 'user-revoked':
        for (const c of [...(clientsByAccount.get(event.username) ?? [])])
          disconnect(c, 'user-revoked');
        return;
      case 'thing-revoked': {
        const c = clientsById.get(thingClientId(event.owner, event.thing));
        if (c) disconnect(c, 'thing-revoked');
        return;
      }
      case 'presence-visibility': {
        if (!presenceOn) return;
        const user = event.username;
        const here = onlineDevices(user) > 0;
        if (here) presenceVisible.set(user, event.visible);
        else {
          recentVisibility.delete(user);
          recentVisibility.set(user, { visible: event.visible, at: Date.now() });
          if (recentVisibility.size > 10_000) {
            const oldest = recentVisibility.keys().next().value;
            if (oldest !== undefined) recentVisibility.delete(oldest);
          }
        }
        // Hiding clears the retained status on every broker (last seen included); showing
        // republishes `online` from each broker where a device of the user is connected.
        if (!event.visible) publishPresence(user, 'hidden');
        else if (here) publishPresence(user, 'online');
        return;
      }
    }
  };
  const unsubscribeEvents = opts.aclEvents?.subscribe((event) => {
    onAclEvent(event).catch((err: unknown) =>
      log.error({ err, event }, 'ACL event handling failed'),
    );
  });

  // ---- transports ----
  const counter = new ConnectionCounter(limits.maxConnectionsPerIp);
  const sizeLimits = {
    maxConnectBytes: limits.maxConnectBytes,
    maxPacketBytes: limits.maxPacketBytes,
  };
  const closers: (() => Promise<void>)[] = [];

  const handle = (conn: Duplex, req?: IncomingMessage) => {
    guardPacketSize(conn, sizeLimits, (reason) => {
      metrics.disconnects.inc({ reason });
      log.info({ reason }, 'packet guard closed a connection');
    });
    // A connection's packets of one loop turn leave in one write (internal/coalesce.ts).
    coalesceWrites(conn);
    aedes.handle(conn, req);
  };

  const admit = (socket: Socket): boolean => {
    const ip = socket.remoteAddress ?? 'unknown';
    if (!counter.acquire(ip)) {
      metrics.connectsRefused.inc({ reason: 'PER_IP_CAP' });
      socket.destroy();
      return false;
    }
    socket.once('close', () => counter.release(ip));
    socket.setNoDelay(true);
    return true;
  };

  const broker: Broker = {
    aedes,
    metrics,
    hooks,
    handle,

    attachWebSocket(server, path = '/mqtt') {
      const wss = new WebSocketServer({
        noServer: true,
        perMessageDeflate: false,
        // One WebSocket message carries at most one MQTT packet from mqtt.js; bound it too.
        maxPayload: limits.maxPacketBytes + 16,
        handleProtocols: (protocols) =>
          protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
      });
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const pathname = (req.url ?? '').split('?', 1)[0];
        if (pathname !== path) {
          // Not ours: leave it to other upgrade handlers, or close it if there are none.
          if (server.listenerCount('upgrade') <= 1) socket.destroy();
          return;
        }
        if (!admit(socket as Socket)) return;
        wss.handleUpgrade(req, socket, head, (ws) => {
          const stream = createWebSocketStream(ws);
          // Aedes writes each packet in pieces (fixed header, topic, id, payload) into a stream
          // that mqtt-packet corks until the next tick. The ws Duplex has no `_writev`, so every
          // piece went out as its own WebSocket frame and socket write; one frame per tick
          // instead (MQTT over WebSocket lets a frame carry several or partial packets).
          stream._writev = (chunks, callback) => {
            const parts = chunks.map((c) => c.chunk as Buffer);
            const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
            stream._write(data, 'binary', callback);
          };
          stream.on('error', () => undefined);
          handle(stream, req);
        });
      };
      server.on('upgrade', onUpgrade);
      const detach = () => {
        server.off('upgrade', onUpgrade);
        for (const ws of wss.clients) ws.terminate();
        wss.close();
      };
      closers.push(() => {
        detach();
        return Promise.resolve();
      });
      return detach;
    },

    async listenTcp(port, host = '0.0.0.0', tls) {
      const onSocket = (socket: Socket) => {
        if (admit(socket)) handle(socket);
      };
      const server: NetServer = tls ? createTlsServer(tls, onSocket) : createNetServer(onSocket);
      const sockets = new Set<Socket>();
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      let closed: Promise<void> | null = null;
      const close = () =>
        (closed ??= new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        }));
      closers.push(close);
      return { port: actual, close };
    },

    connectedIdentities() {
      const out: Identity[] = [];
      for (const c of clientsById.values()) {
        const s = hooks.sessionOf(c);
        if (s) out.push(s.identity);
      }
      return out;
    },

    async close() {
      closing = true;
      unsubscribeEvents?.();
      for (const t of expiryTimers.values()) clearTimeout(t);
      expiryTimers.clear();
      await Promise.all(closers.splice(0).map((c) => c()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      // Promise form: the callback form of aedes-persistence 11 waits for a 'ready' event that
      // Aedes 1.x (which calls setup()) never triggers.
      await Promise.resolve(persistence.destroy?.()).catch(() => undefined);
      unsubscribeBackendErrors?.();
    },
  };
  return broker;
}

/**
 * Aedes 1.2 answers a QoS 1 PUBLISH with PUBACK *before* it stores and routes
 * the message (lib/handlers/publish.js, `enqueuePublish`), so a broker killed
 * right after the PUBACK loses a message the sender considers delivered (our
 * SIGKILL test lost the last of ten). Here the authorize hook publishes the
 * message itself — offline queues in the persistence, then the mqemitter —
 * and only then lets Aedes send the PUBACK; Aedes' own publish of that same
 * packet object is then skipped.
 */
function persistBeforeAck(aedes: Aedes, hooks: AuthHooks): void {
  type Done = (err?: Error) => void;
  type PublishFn = (packet: object, client: Client | null | Done, done?: Done) => void;
  const target = aedes as unknown as { publish: PublishFn };
  const original = target.publish.bind(aedes);
  const early = new WeakSet<object>();
  hooks.beforeAck = (client, packet, done) => {
    original(packet, client, (err) => {
      if (!err) early.add(packet);
      done(err);
    });
  };
  target.publish = (packet, client, done) => {
    if (early.has(packet)) {
      early.delete(packet);
      const cb = typeof client === 'function' ? client : done;
      cb?.();
      return;
    }
    original(packet, client, done);
  };
}

/**
 * Three adjustments to the persistence Aedes uses:
 * 1. Aedes stores *every* filter of a SUBSCRIBE packet once any one of them is
 *    granted (lib/handlers/subscribe.js `storeSubscriptions`), so a refused
 *    filter would be kept for a persistent session and get offline messages
 *    queued. Only filters our hook granted are stored.
 * 2. Aedes calls `addSubscriptions` once per filter of the packet, concurrently,
 *    each time with the whole filter list. aedes-persistence-redis then waits
 *    for its own `$SYS/sub/add` broadcast under the key `{clientId}-sub_{first
 *    topic}` (aedes-persistence `broadcastPersistence.js`, one waiter per key):
 *    concurrent calls overwrite each other's waiter, all but one never resolve,
 *    and the SUBACK of a multi-filter SUBSCRIBE from a persistent session never
 *    came. Calls are therefore serialized per client, and a call whose granted
 *    filters an earlier call of the same packet already stored returns at once.
 * 3. Queued messages of a persistent session are filtered by the synchronous
 *    `authorizeForward` on delivery; before each queued group message is handed
 *    over, the group's member list is fetched fresh so that check is exact (a
 *    member removed while offline gets none of the group's queued messages).
 */
function wrapPersistence(
  p: BrokerPersistence,
  hooks: AuthHooks,
  resume: ResumeGuard,
): BrokerPersistence['addSubscriptions'] {
  const add = p.addSubscriptions.bind(p);
  const queues = new Map<string, Promise<unknown>>();
  const stored = new WeakMap<Subscription[], Set<string>>();
  p.addSubscriptions = (client, subs) => {
    const run = async (): Promise<unknown> => {
      const done = stored.get(subs) ?? new Set<string>();
      stored.set(subs, done);
      // Filtered when the call runs, so it includes every filter granted by then.
      const granted = subs.filter((s) => hooks.isGranted(s));
      if (granted.length === 0 || granted.every((s) => done.has(s.topic))) return undefined;
      const r = await add(client, granted);
      for (const s of granted) done.add(s.topic);
      return r;
    };
    const previous = queues.get(client.id) ?? Promise.resolve();
    const next = previous.then(run, run);
    queues.set(client.id, next);
    const forget = () => {
      if (queues.get(client.id) === next) queues.delete(client.id);
    };
    next.then(forget, forget);
    return next;
  };
  const outgoing = p.outgoingStream.bind(p);
  p.outgoingStream = (client) => {
    const source = outgoing(client);
    const refreshed = new Set<string>();
    async function* checked(): AsyncGenerator<unknown> {
      for await (const packet of source as AsyncIterable<AedesPublishPacket>) {
        resume.queued(client as Client, packet);
        const parsed = typeof packet.topic === 'string' ? parseTopic(packet.topic) : null;
        if (parsed?.kind === 'group') {
          const groupId = parsed.groupId;
          if (!refreshed.has(groupId)) {
            refreshed.add(groupId);
            await hooks.groups.refresh(groupId).catch(() => undefined);
          }
        }
        yield packet;
      }
    }
    return Readable.from(checked());
  };
  return add;
}
