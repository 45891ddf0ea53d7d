/**
 * Cluster back ends (DESIGN.md §2): a Redis mqemitter so a publish on one
 * broker reaches subscribers on every broker, and Redis persistence so
 * persistent sessions, queued QoS 1 messages, retained messages and wills are
 * shared (a device can reconnect to any broker, and a broker restart loses
 * nothing that was acknowledged).
 */
import mqemitterRedis from 'mqemitter-redis';
import redisPersistence from 'aedes-persistence-redis';

/** Back ends to pass to `createBroker` as `mq` and `persistence`. */
export interface RedisBackends {
  mq: unknown;
  persistence: unknown;
}

/** Create the Redis mqemitter and persistence for `redisUrl` (the broker closes both). */
export function createRedisBackends(redisUrl: string): RedisBackends {
  const mq = mqemitterRedis({ connectionString: redisUrl });
  const persistence = redisPersistence(redisOptions(redisUrl));
  return { mq, persistence };
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
