/**
 * A `@fastify/rate-limit` store on node-redis (the plugin's built-in Redis
 * store expects ioredis). Cluster-mode key servers share counters through it,
 * so a limit holds across all of them. Fixed window: INCR + PEXPIRE in one
 * Lua script.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RedisClient } from './store/redis.ts';

const INCR = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { current, ttl }`;

/** Build a store class bound to `client`; every key starts with `prefix`. */
export function nodeRedisRateLimitStore(
  client: RedisClient,
  prefix: string,
): FastifyRateLimitStoreCtor {
  class Store implements FastifyRateLimitStore {
    // The plugin calls `new Store(pluginOptions)`; the key prefix is set by `child()` only.
    keyPrefix = prefix;

    incr(
      key: string,
      cb: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      client
        .eval(INCR, { keys: [this.keyPrefix + key], arguments: [String(timeWindow)] })
        .then((r) => {
          const [current, ttl] = r as [number, number];
          cb(null, { current, ttl });
        })
        .catch((err: unknown) => cb(err instanceof Error ? err : new Error(String(err))));
    }

    child(routeOptions: {
      routeInfo?: { method?: string; url?: string };
      url?: string;
    }): FastifyRateLimitStore {
      const info = routeOptions.routeInfo;
      const child = new Store();
      child.keyPrefix = `${this.keyPrefix}${info?.method ?? ''}${info?.url ?? routeOptions.url ?? ''}:`;
      return child;
    }
  }
  return Store;
}
