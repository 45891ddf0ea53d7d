/**
 * `@sotto/server-core/store`: the storage contract, its implementations and the
 * ACL change bus, shared by the key server and the broker.
 *
 * - {@link createSqliteStore}: embedded mode (`:memory:` for tests).
 * - {@link createRedisStore}: cluster mode.
 * - {@link createMemoryAclEvents} / {@link createRedisAclEvents}: the ACL change bus.
 * - {@link createMemoryWakeBus} / {@link createRedisWakeBus}: broker → key server wake-ups.
 */
export type * from './types.ts';
export { DEFAULT_USER_SETTINGS } from './types.ts';
export { createMemoryAclEvents, createRedisAclEvents, type RedisPubSubClient } from './events.ts';
export {
  createMemoryWakeBus,
  createRedisWakeBus,
  type WakeBus,
  type WakeEvent,
  type WakeHandler,
} from './wakes.ts';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite.ts';
export { createRedisStore, type RedisStoreOptions, type RedisClient } from './redis.ts';
export { hashThingSecret, checkThingSecret } from './secrets.ts';
