/**
 * Redis store (node-redis v6) — cluster mode: any number of stateless key
 * servers share one Redis. Every key lives under one configurable prefix.
 * Multi-step changes that must be atomic (prekey claims, refresh-token use,
 * group compare-and-set appends, revocations) run as Lua scripts, which Redis
 * executes without interleaving. Binary values are stored as base64.
 *
 * Some scripts build key names from the prefix inside Lua; that is fine on a
 * single Redis (or a replica set) but would need hash tags on Redis Cluster.
 * The parts are in `redis/` by concern (support, accounts, prekeys, tokens,
 * groups, things, mfa).
 */
import { createClient } from 'redis';
import type { Store } from './types.ts';
import { redisAccounts } from './redis/accounts.ts';
import { redisGroups } from './redis/groups.ts';
import { redisGuests } from './redis/guests.ts';
import { redisMfa } from './redis/mfa.ts';
import { redisModeration } from './redis/moderation.ts';
import { redisPrekeys } from './redis/prekeys.ts';
import { redisPush } from './redis/push.ts';
import { createRedisContext, type RedisClient } from './redis/support.ts';
import { redisThings } from './redis/things.ts';
import { redisTokens } from './redis/tokens.ts';

export { RedisBatchTimeoutError, type RedisClient } from './redis/support.ts';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** `redis://…`; a client is created, connected and closed by the store. */
  url?: string;
  /** Or an existing connected client (left open on `close()`). */
  client?: RedisClient;
  /** Key prefix (default `sotto:`). */
  prefix?: string;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Longest a batched claim or token-check call may wait for Redis (ms, default 5,000). */
  batchTimeoutMs?: number;
}

/** Open a Redis store (connecting when given a URL). */
export async function createRedisStore(opts: RedisStoreOptions): Promise<Store> {
  const prefix = opts.prefix ?? 'sotto:';
  const now = opts.now ?? Date.now;
  const owned = !opts.client;
  let client: RedisClient;
  if (opts.client) {
    client = opts.client;
  } else {
    if (!opts.url) throw new TypeError('createRedisStore needs `url` or `client`');
    client = createClient({ url: opts.url });
    client.on('error', () => {
      // Reconnects are automatic; commands fail (and routes answer 503) while Redis is down.
    });
    await client.connect();
  }

  const ctx = createRedisContext({ client, prefix, now, batchTimeoutMs: opts.batchTimeoutMs });
  return {
    ...redisAccounts(ctx),
    ...redisPrekeys(ctx),
    ...redisTokens(ctx),
    ...redisGroups(ctx),
    ...redisThings(ctx),
    ...redisMfa(ctx),
    ...redisModeration(ctx),
    ...redisPush(ctx),
    ...redisGuests(ctx),
    async ping() {
      await client.ping();
    },
    async close() {
      ctx.stop();
      if (owned && client.isOpen) await client.close();
    },
  };
}
