/**
 * Cluster back ends (DESIGN.md §2): a Redis mqemitter so a publish on one
 * broker reaches subscribers on every broker, and Redis persistence so
 * persistent sessions, queued QoS 1 messages, retained messages and wills are
 * shared (a device can reconnect to any broker, and a broker restart loses
 * nothing that was acknowledged).
 *
 * The three ioredis connections are made here, each with an `error` listener:
 * while Redis restarts, ioredis reports ECONNRESET / EPIPE / ECONNREFUSED as
 * `error` events and reconnects with backoff. mqemitter-redis re-emits its
 * connections' errors on an EventEmitter of its own (`state`), where an
 * unheard `error` event throws and would take the broker process down.
 * Errors go to the listeners of {@link RedisBackends.backendErrors} (the broker
 * logs and counts them). Commands wait for the reconnect (no retry limit), so a
 * publish during an outage is stored and acknowledged once Redis is back.
 */
import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import redisPersistence from 'aedes-persistence-redis';

/** Queued messages handed to a persistent session per connect (cluster mode). */
export const MAX_SESSION_DELIVERY = 100_000;

/** Which Redis connection of the back ends failed. */
export type RedisConnectionName = 'mq-pub' | 'mq-sub' | 'persistence';

/** Listener of back-end connection errors. */
export type BackendErrorListener = (err: Error, connection: RedisConnectionName) => void;

/** Where back-end connection errors are reported (pass to `createBroker` as `backendErrors`). */
export interface BackendErrors {
  /** Register a listener; returns the function that removes it. */
  subscribe(listener: BackendErrorListener): () => void;
}

/** A back-end event without data (pass to `createBroker` as `mqResubscribed`). */
export interface BackendEvent {
  /** Register a listener; returns the function that removes it. */
  subscribe(listener: () => void): () => void;
}

/**
 * Back ends to pass to `createBroker`: each key is the broker option of the same name, so
 * `createBroker({ ...createRedisBackends(url), … })` wires all of them (a renamed key once left
 * the queue replay unwired in the broker's own cluster tests).
 */
export interface RedisBackends {
  mq: unknown;
  persistence: unknown;
  backendErrors: BackendErrors;
  /** The mqemitter's subscriber connection is back and subscribed again after a Redis outage. */
  mqResubscribed: BackendEvent;
  /** Lengths of sessions' offline queues (for the per-session cap; see internal/queue-cap.ts). */
  queueLengths: (clientIds: string[]) => Promise<number[]>;
}

/** Create the Redis mqemitter and persistence for `redisUrl` (the broker closes both). */
export function createRedisBackends(redisUrl: string): RedisBackends {
  const options = redisOptions(redisUrl) as RedisOptions;
  const errors = new EventEmitter();
  // Never unheard: an `error` event without a listener throws.
  errors.on('error', () => undefined);
  const report = (connection: RedisConnectionName) => (err: Error) => {
    errors.emit('backend-error', err, connection);
  };
  const connect = (connection: RedisConnectionName, extra: RedisOptions = {}) => {
    const c = new Redis({
      ...options,
      ...extra,
      connectionName: `sotto-broker-${connection}`,
      // While Redis is away, commands wait for the reconnect instead of failing after 20 retries:
      // a failed enqueue makes Aedes drop the publish without an answer (no PUBACK, no error).
      maxRetriesPerRequest: null,
    });
    c.on('error', report(connection));
    return c;
  };
  // mqemitter-redis turns auto-pipelining on for the connections it makes itself.
  const subConn = connect('mq-sub', { enableAutoPipelining: true });
  const mq = mqemitterRedis({
    pubConn: connect('mq-pub', { enableAutoPipelining: true }),
    subConn,
  }) as unknown as { state: EventEmitter };
  // After a reconnect ioredis re-sends the (P)SUBSCRIBEs in its `ready` handler, right after it
  // emits `ready`; a PING sent after them (next turn) is answered only once Redis has
  // processed them, so from its answer on every publish reaches this broker again. Publishes made before it (by any broker) are missed
  // live; see `internal/replay.ts` for how they are still delivered at once.
  let everReady = false;
  subConn.on('ready', () => {
    if (!everReady) {
      everReady = true;
      return;
    }
    setImmediate(() => {
      subConn.ping().then(
        () => errors.emit('resubscribed'),
        () => undefined, // the connection dropped again: its next `ready` tries once more
      );
    });
  });
  // Its connections' errors are already reported above; this only keeps `state` from throwing.
  mq.state.on('error', () => undefined);
  // At a connect the stored queue is read from its head, up to `maxSessionDelivery` messages
  // (1,000 by default: a device back from a weekend in a busy group got the first 1,000 and the
  // rest only at its next connect, after newer ones).
  // Auto-pipelining here too: the commands a turn of the event loop issues for many messages
  // (enqueue, delivery update, PUBACK clear) go to Redis as one write. Measured with
  // scripts/bench-cluster.ts: Redis socket reads per message 0.19–0.29 → 0.15–0.17, Redis CPU
  // per message about 15 % lower (docs/PERFORMANCE.md "Cluster scale-out").
  const persistenceConn = connect('persistence', { enableAutoPipelining: true });
  const persistence = redisPersistence({
    conn: persistenceConn,
    maxSessionDelivery: MAX_SESSION_DELIVERY,
  });
  // aedes-persistence-redis keeps a session's queue as the list `outgoing:{encoded client id}`.
  const queueLengths = async (clientIds: string[]): Promise<number[]> => {
    const pipeline = persistenceConn.pipeline();
    for (const id of clientIds) pipeline.llen(`outgoing:${encodeURIComponent(id)}`);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, n]) => (err ? 0 : Number(n)));
  };
  return {
    mq,
    persistence,
    queueLengths,
    mqResubscribed: {
      subscribe(listener) {
        errors.on('resubscribed', listener);
        return () => {
          errors.off('resubscribed', listener);
        };
      },
    },
    backendErrors: {
      subscribe(listener) {
        errors.on('backend-error', listener);
        return () => {
          errors.off('backend-error', listener);
        };
      },
    },
  };
}

/** ioredis connection options from a `redis://[user:pass@]host:port[/db]` URL. */
export function redisOptions(redisUrl: string): Record<string, unknown> {
  const u = new URL(redisUrl);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new RangeError(`redisUrl must be redis://…, got ${u.protocol}`);
  const opts: Record<string, unknown> = {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
  };
  if (u.username) opts.username = decodeURIComponent(u.username);
  if (u.password) opts.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db) opts.db = Number(db);
  if (u.protocol === 'rediss:') opts.tls = {};
  return opts;
}
