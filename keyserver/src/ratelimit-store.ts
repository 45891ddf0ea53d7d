/**
 * A `@fastify/rate-limit` store on node-redis (the plugin's built-in Redis
 * store expects ioredis). Cluster-mode key servers share counters through it,
 * so a limit holds across all of them. Fixed window: INCR + PEXPIRE in one
 * Lua script.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RedisClient } from '@sotto/server-core/store';

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

/**
 * A fixed-window budget that a request draws on by a count rather than by
 * one (the batched bundle claim spends one unit per device it claims). On
 * Redis when a client is given, so cluster-mode key servers share it.
 */
export interface CountLimiter {
  /** Spend `n` units of `key`'s budget; refused (nothing spent) when it would go over. */
  take(key: string, n: number): Promise<{ ok: boolean; retryInMs: number }>;
}

const TAKE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = tonumber(ARGV[2]) end
if current + tonumber(ARGV[1]) > tonumber(ARGV[3]) then return { 0, ttl } end
redis.call('INCRBY', KEYS[1], ARGV[1])
if current == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return { 1, ttl }`;

/** Build a {@link CountLimiter} of `max` units per `windowMs`, in memory or on Redis. */
export function createCountLimiter(opts: {
  max: number;
  windowMs: number;
  now: () => number;
  redis?: RedisClient;
  prefix: string;
}): CountLimiter {
  const { max, windowMs, now, redis, prefix } = opts;
  if (redis) {
    return {
      async take(key, n) {
        const [ok, ttl] = (await redis.eval(TAKE, {
          keys: [prefix + key],
          arguments: [String(n), String(windowMs), String(max)],
        })) as [number, number];
        return { ok: ok === 1, retryInMs: ttl };
      },
    };
  }
  const windows = new Map<string, { used: number; resetAt: number }>();
  return {
    take(key, n) {
      const t = now();
      for (const [k, w] of windows) if (w.resetAt <= t) windows.delete(k);
      const w = windows.get(key) ?? { used: 0, resetAt: t + windowMs };
      if (w.used + n > max) return Promise.resolve({ ok: false, retryInMs: w.resetAt - t });
      w.used += n;
      windows.set(key, w);
      return Promise.resolve({ ok: true, retryInMs: w.resetAt - t });
    },
  };
}
