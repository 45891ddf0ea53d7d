/**
 * Aedes hooks for authentication and topic authorization (DESIGN.md §4.2,
 * issue 4). `createAuthHooks` returns the five hooks to pass to Aedes plus
 * the per-connection state the broker needs for revocation and presence.
 *
 * Authentication: the client id must be `{user}:{device}`,
 * `thing:{owner}:{thing}` or `service:keyserver:{n}` and equal the MQTT
 * username; the password is an access token verified with the key server's
 * public key (EdDSA only) whose `kind`, `sub` and `dev` must name exactly this
 * client id, or a thing's credential. A valid user therefore cannot take over
 * another device's persistent session: the token does not match the id.
 *
 * Authorization: `acl.ts` decides, deny by default; refusals are counted by
 * rule. A refused SUBSCRIBE gets SUBACK 0x80; a refused PUBLISH closes the
 * connection (MQTT 3.1.1 has no negative PUBACK).
 */
import type { AedesPublishPacket, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';
import { checkPublish, checkSubscribe, type AclDecision } from './acl.ts';
import { AclError, AuthError, ReturnCode } from './errors.ts';
import { identityOf, type Identity } from './identity.ts';
import { GroupCache } from './internal/groups.ts';
import { PublishLine, TokenBucket } from './limits.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { Policy } from './policy.ts';
import { notQueuedFor } from './internal/queue-cap.ts';
import {
  silentLogger,
  type AclStoreQueries,
  type BrokerLogger,
  type VerifyToken,
} from './types.ts';

/** What the broker remembers about an authenticated connection. */
export interface ClientSession {
  identity: Identity;
  /** Token id (`jti`), for token revocation; absent for things. */
  jti?: string;
  /** Token expiry, ms since the epoch; absent for things (their credential does not expire). */
  expiresAt?: number;
  /** This client's publishes, in arrival order through its rate limit. */
  publishes: PublishLine;
  /** The CONNECT will, checked here and again on delivery ([ACL-8]). */
  will?: PublishPacket;
  /** Devices: the account's presence setting as read at connect (the broker tracks changes). */
  presenceVisible?: boolean;
}

/** Rate and size settings the hooks enforce. */
export interface AuthLimits {
  /** Sustained publishes per second per client. */
  publishRatePerSec: number;
  /** Burst size of the per-client bucket. */
  publishBurst: number;
  /** A publish that would wait longer than this for its token closes the connection instead. */
  maxPublishDelayMs: number;
  /** Keepalive bounds (seconds); 0 (no keepalive) is raised to the maximum. */
  keepaliveMinSec: number;
  keepaliveMaxSec: number;
  /** A connected client with more than this many bytes waiting on its socket is a slow consumer and is closed. */
  maxQueuedBytesPerClient: number;
  /** How long a group member list is trusted (ms). */
  groupCacheTtlMs: number;
}

/** Defaults for {@link AuthLimits}. */
export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  publishRatePerSec: 200,
  publishBurst: 400,
  maxPublishDelayMs: 5_000,
  keepaliveMinSec: 5,
  keepaliveMaxSec: 300,
  maxQueuedBytesPerClient: 8 * 1024 * 1024,
  groupCacheTtlMs: 5_000,
};

/** Dependencies of {@link createAuthHooks}. */
export interface AuthHooksOptions {
  verifyToken: VerifyToken;
  store: AclStoreQueries;
  policy?: Policy | undefined;
  limits?: Partial<AuthLimits>;
  metrics?: BrokerMetrics | undefined;
  logger?: BrokerLogger | undefined;
}

/** The hooks plus the state they share with the broker. */
export interface AuthHooks {
  preConnect: (
    client: Client,
    packet: ConnectPacket,
    callback: (error: Error | null, success: boolean) => void,
  ) => void;
  authenticate: (
    client: Client,
    username: Readonly<string | undefined>,
    password: Readonly<Buffer | undefined>,
    done: (error: AuthError | null, success: boolean | null) => void,
  ) => void;
  authorizePublish: (
    client: Client | null,
    packet: PublishPacket,
    callback: (error?: Error | null) => void,
  ) => void;
  authorizeSubscribe: (
    client: Client,
    subscription: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void,
  ) => void;
  authorizeForward: (client: Client, packet: AedesPublishPacket) => AedesPublishPacket | null;
  /** The session of an authenticated client, if any. */
  sessionOf: (client: Client) => ClientSession | undefined;
  /** Subscriptions this process granted (aedes stores every filter of a SUBSCRIBE; see broker.ts). */
  isGranted: (sub: object) => boolean;
  /** Group member-list cache (the broker invalidates it on `group-changed`). */
  groups: GroupCache;
  /** Force-close reasons are reported here by the forward hook (slow consumer). */
  onSlowConsumer?: (client: Client) => void;
  /**
   * Called for an authorized QoS 1 PUBLISH before the hook lets Aedes send PUBACK; the
   * broker uses it to persist and route the message first (see broker.ts, `persistBeforeAck`).
   */
  beforeAck?: (client: Client, packet: PublishPacket, done: (err?: Error) => void) => void;
}

/** How many recent deliveries per client and emitting broker the exact de-duplication remembers. */
const SEEN_LIMIT = 4096;

/** Topics per client whose read decision is remembered (see `readDecisions`). */
const READ_CACHE_LIMIT = 256;

/** A `duplicates` map for Aedes clients that never reports a packet as already delivered. */
const NO_ORDER_DEDUPE: object = new Proxy(Object.create(null) as object, {
  get: () => 0,
  set: () => true,
  deleteProperty: () => true,
});

/**
 * Create the authentication and authorization hooks.
 *
 * @example
 * const hooks = createAuthHooks({ verifyToken: verifier.verify, store });
 * const aedes = await Aedes.createBroker({ ...hooks });
 */
export function createAuthHooks(opts: AuthHooksOptions): AuthHooks {
  const limits: AuthLimits = { ...DEFAULT_AUTH_LIMITS, ...opts.limits };
  const log = opts.logger ?? silentLogger;
  const metrics = opts.metrics;
  const { store, policy } = opts;
  const sessions = new WeakMap<Client, ClientSession>();
  const wills = new WeakMap<Client, PublishPacket>();
  const granted = new WeakSet<object>();
  const groups = new GroupCache(store, limits.groupCacheTtlMs);
  // Exact de-duplication per client: counters seen, per broker id that emitted them.
  const seen = new WeakMap<Client, Map<string, Set<number>>>();
  // Read decisions per client for `sotto/` topics: those depend only on the identity and the
  // topic (never on the policy file), so one parse per topic and connection is exact.
  const readDecisions = new WeakMap<Client, Map<string, AclDecision>>();

  const refuse = (rule: string, action: 'publish' | 'subscribe' | 'forward') => {
    metrics?.refusals.inc({ rule, action });
  };

  const resolve = async (identity: Identity, d: AclDecision): Promise<boolean> => {
    if (d.verdict === 'allow') return true;
    if (d.verdict === 'deny') return false;
    // [ACL-2] group topics: ask (through the short cache) whether the account is a current member.
    if (identity.kind !== 'device') return false;
    return groups.isMember(d.groupId, identity.username);
  };

  async function authenticateIdentity(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<ClientSession> {
    const clientId = client.id;
    // Aedes replaces an empty client id with `aedes_<uuid>`, which never parses: refused below.
    const identity = identityOf(clientId);
    if (identity === null || clientId.startsWith('aedes_')) {
      throw new AuthError(
        'BAD_CLIENT_ID',
        ReturnCode.IDENTIFIER_REJECTED,
        'client id is not {user}:{device}',
      );
    }
    if (username !== clientId) {
      throw new AuthError(
        'USERNAME_MISMATCH',
        ReturnCode.BAD_USERNAME_OR_PASSWORD,
        'username must equal the client id',
      );
    }
    if (!password || password.length === 0) {
      throw new AuthError('NO_PASSWORD', ReturnCode.BAD_USERNAME_OR_PASSWORD, 'password required');
    }
    const secret = password.toString('utf8');
    const publishes = new PublishLine(
      new TokenBucket(limits.publishRatePerSec, limits.publishBurst),
      limits.maxPublishDelayMs,
    );

    if (identity.kind === 'thing') {
      const ok = await store.verifyThingCredential(identity.owner, identity.thing, secret);
      if (!ok)
        throw new AuthError(
          'BAD_THING_CREDENTIAL',
          ReturnCode.BAD_USERNAME_OR_PASSWORD,
          'bad thing credential',
        );
      return { identity, publishes };
    }

    let claims;
    try {
      claims = await opts.verifyToken(secret);
    } catch (cause) {
      throw new AuthError(
        'BAD_TOKEN',
        ReturnCode.BAD_USERNAME_OR_PASSWORD,
        'access token rejected',
        { cause },
      );
    }
    if (identity.kind === 'device') {
      if (claims.kind !== 'user' && claims.kind !== 'bot') {
        throw new AuthError(
          'WRONG_TOKEN_KIND',
          ReturnCode.NOT_AUTHORIZED,
          `a ${claims.kind} token cannot connect a device`,
        );
      }
      // The takeover defence: a valid token of another user or device does not open this id.
      if (claims.sub !== identity.username || claims.dev !== identity.deviceId) {
        throw new AuthError(
          'TOKEN_SUBJECT_MISMATCH',
          ReturnCode.NOT_AUTHORIZED,
          'token was issued for another device',
        );
      }
    } else {
      if (claims.kind !== 'service') {
        throw new AuthError(
          'WRONG_TOKEN_KIND',
          ReturnCode.NOT_AUTHORIZED,
          'service ids need a service token',
        );
      }
      if (claims.sub !== identity.service || claims.dev !== identity.instance) {
        throw new AuthError(
          'TOKEN_SUBJECT_MISMATCH',
          ReturnCode.NOT_AUTHORIZED,
          'token was issued for another service',
        );
      }
    }
    if (await store.isTokenRevoked(claims.jti)) {
      throw new AuthError('TOKEN_REVOKED', ReturnCode.NOT_AUTHORIZED, 'token revoked');
    }
    if (identity.kind === 'device') {
      const [active, settings] = await Promise.all([
        store.isDeviceActive(identity.username, identity.deviceId),
        store.getUserSettings(identity.username),
      ]);
      if (!active) {
        throw new AuthError(
          'DEVICE_INACTIVE',
          ReturnCode.NOT_AUTHORIZED,
          'device logged out or revoked',
        );
      }
      return {
        identity,
        publishes,
        jti: claims.jti,
        expiresAt: claims.exp * 1000,
        presenceVisible: settings?.presenceVisible ?? true,
      };
    }
    return { identity, publishes, jti: claims.jti, expiresAt: claims.exp * 1000 };
  }

  const hooks: AuthHooks = {
    groups,

    preConnect: (client, packet, callback) => {
      // Aedes drops a delivery whose per-broker counter is not above the last one it delivered
      // to this client (lib/client.js `dedupe`), which assumes a broker emits packets in counter
      // order. QoS 1 publishes are emitted after an asynchronous offline enqueue, so a group
      // message (one enqueue per persistent subscriber) is often overtaken by a later DM and was
      // then silently dropped. The order-based check is disabled here and replaced by an exact
      // recently-seen set in `authorizeForward`.
      (client as unknown as { duplicates: object }).duplicates = NO_ORDER_DEDUPE;
      // Keepalive bounds: 0 ("never") and huge values would let dead connections linger.
      const ka = packet.keepalive ?? 0;
      packet.keepalive =
        ka === 0
          ? limits.keepaliveMaxSec
          : Math.min(Math.max(ka, limits.keepaliveMinSec), limits.keepaliveMaxSec);
      if (packet.will) wills.set(client, packet.will as PublishPacket);
      callback(null, true);
    },

    authenticate: (client, username, password, done) => {
      authenticateIdentity(client, username, password)
        .then(async (session) => {
          const will = wills.get(client);
          if (will) {
            // [ACL-8] a will must be a publish this client could make itself.
            const ok = await resolve(
              session.identity,
              checkPublish(session.identity, will.topic, will.retain, policy),
            );
            if (!ok)
              throw new AuthError('BAD_WILL', ReturnCode.NOT_AUTHORIZED, 'will topic not allowed');
            session.will = will;
          }
          sessions.set(client, session);
          done(null, true);
        })
        .catch((err: unknown) => {
          const e =
            err instanceof AuthError
              ? err
              : new AuthError(
                  'STORE_UNAVAILABLE',
                  ReturnCode.SERVER_UNAVAILABLE,
                  'cannot check credentials now',
                  {
                    cause: err,
                  },
                );
          metrics?.connectsRefused.inc({ reason: e.code });
          log.info({ clientId: client.id, code: e.code, err: e.cause }, 'connect refused');
          done(e, false);
        });
    },

    authorizePublish: (client, packet, callback) => {
      // A will of a client that died on another broker arrives with client === null: judge it by
      // the client id it was stored under, which that broker authenticated ([ACL-8]).
      const session = client ? sessions.get(client) : undefined;
      const clientId = (packet as { clientId?: string }).clientId;
      const identity =
        session?.identity ?? (client === null && clientId ? identityOf(clientId) : null);
      if (!identity) {
        refuse('deny-default', 'publish');
        callback(new AclError('deny-default', 'not authenticated'));
        return;
      }
      const decision = checkPublish(identity, packet.topic, packet.retain, policy);
      const isWill = session?.will === packet || client === null;
      // A client's own publishes take effect in the order they arrived, whatever each verdict
      // waits for (PublishLine); a will (or one without a session) goes on its own.
      const line = session && !isWill ? session.publishes : null;
      const ticket = line?.enter();
      const refused = (rule: string, message: string) => () => {
        refuse(rule, 'publish');
        log.info({ clientId: identity.clientId, topic: packet.topic, rule }, 'publish refused');
        callback(new AclError(rule, message));
      };
      const proceed = () => {
        metrics?.messagesIn.inc();
        if (packet.qos !== 1 || !hooks.beforeAck || !client) {
          callback(null);
          return;
        }
        hooks.beforeAck(client, packet, (err) => {
          if (!err) {
            callback(null);
            return;
          }
          log.warn({ clientId: identity.clientId, err }, 'publish could not be stored: no PUBACK');
          callback(new AclError('store-unavailable', 'publish could not be stored'));
        });
      };
      const decide = (ok: boolean) => {
        const refusal = ok ? null : refused(decision.rule, `publish to ${packet.topic} refused`);
        if (!line || !ticket) {
          if (refusal) refusal();
          else callback(null);
          return;
        }
        // Per-client rate: a publish waits for its token (Aedes reads less from this socket
        // meanwhile, so a flood is slowed at the TCP level); a client too far ahead is refused.
        line.settle(
          ticket,
          refusal
            ? { rated: false, run: refusal }
            : { rated: true, run: proceed, tooFast: refused('rate', 'publish rate exceeded') },
        );
      };
      // Only group topics need the store ([ACL-2]); every other verdict is final here, so the
      // common case (a DM to an inbox) takes no promise hop.
      if (decision.verdict !== 'member') {
        decide(decision.verdict === 'allow');
        return;
      }
      resolve(identity, decision)
        .then(decide)
        .catch((err: unknown) => {
          log.warn({ clientId: identity.clientId, err }, 'publish check failed');
          const fail = () =>
            callback(new AclError('store-unavailable', 'cannot check the ACL now'));
          if (line && ticket) line.settle(ticket, { rated: false, run: fail });
          else fail();
        });
    },

    authorizeSubscribe: (client, sub, callback) => {
      const session = sessions.get(client);
      if (!session) {
        refuse('deny-default', 'subscribe');
        callback(null, null);
        return;
      }
      const decision = checkSubscribe(session.identity, sub.topic, policy);
      resolve(session.identity, decision)
        .then((ok) => {
          if (ok) {
            granted.add(sub);
            callback(null, sub);
          } else {
            refuse(decision.rule, 'subscribe');
            log.debug(
              { clientId: client.id, topic: sub.topic, rule: decision.rule },
              'subscribe refused',
            );
            // SUBACK 0x80 for this filter; the connection stays up.
            callback(null, null);
          }
        })
        .catch((err: unknown) => {
          log.warn({ clientId: client.id, err }, 'subscribe check failed');
          refuse('store-unavailable', 'subscribe');
          callback(null, null);
        });
    },

    authorizeForward: (client, packet) => {
      // Not queued for this session (a queue cap): not delivered live either (internal/queue-cap.ts).
      if (!client.clean && notQueuedFor(packet, client.id)) return null;
      // Exact de-duplication (overlapping subscriptions deliver one packet twice).
      const brokerId = (packet as { brokerId?: string }).brokerId;
      if (brokerId) {
        const counter = (packet as { brokerCounter?: number }).brokerCounter ?? -1;
        let byBroker = seen.get(client);
        if (!byBroker) seen.set(client, (byBroker = new Map<string, Set<number>>()));
        let set = byBroker.get(brokerId);
        if (!set) byBroker.set(brokerId, (set = new Set()));
        if (set.has(counter)) return null;
        set.add(counter);
        if (set.size > SEEN_LIMIT) {
          const oldest = set.values().next().value;
          if (oldest !== undefined) set.delete(oldest);
        }
      }
      // Slow consumer: a client whose socket backlog keeps growing is closed rather than allowed
      // to hold memory and delivery slots. A persistent session keeps the message queued.
      const conn = client.conn as {
        writableLength?: number;
        destroyed?: boolean;
        destroy(err?: Error): void;
      };
      if ((conn.writableLength ?? 0) > limits.maxQueuedBytesPerClient && !conn.destroyed) {
        metrics?.disconnects.inc({ reason: 'slow-consumer' });
        log.warn({ clientId: client.id, queued: conn.writableLength }, 'slow consumer closed');
        hooks.onSlowConsumer?.(client);
        conn.destroy(new Error('slow consumer'));
        return client.clean ? null : packet;
      }
      // Every delivery is re-checked against the read rules (sync: pure string rules plus the
      // member cache), so a message queued under a subscription that should not exist is dropped.
      const session = sessions.get(client);
      if (!session) {
        refuse('deny-default', 'forward');
        return null;
      }
      const topic = packet.topic;
      let decision: AclDecision | undefined;
      if (topic.startsWith('sotto/')) {
        let cache = readDecisions.get(client);
        if (!cache) readDecisions.set(client, (cache = new Map<string, AclDecision>()));
        decision = cache.get(topic);
        if (decision === undefined) {
          decision = checkSubscribe(session.identity, topic, policy);
          if (cache.size >= READ_CACHE_LIMIT) cache.clear();
          cache.set(topic, decision);
        }
      } else {
        decision = checkSubscribe(session.identity, topic, policy);
      }
      if (decision.verdict === 'deny') {
        refuse(decision.rule, 'forward');
        return null;
      }
      if (decision.verdict === 'member' && session.identity.kind === 'device') {
        // [ACL-2] defence in depth: never hand a group message to a client that is no longer a
        // member, whatever subscription or queued message survived.
        const member = groups.peek(decision.groupId, session.identity.username);
        if (member === false) {
          refuse('ACL-2', 'forward');
          return null;
        }
        if (member === undefined) void groups.refresh(decision.groupId).catch(() => undefined);
      }
      metrics?.messagesOut.inc();
      return packet;
    },

    sessionOf: (client) => {
      return sessions.get(client);
    },

    isGranted: (sub) => {
      return granted.has(sub);
    },
  };
  return hooks;
}
