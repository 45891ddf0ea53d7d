/**
 * Per-username password throttle with exponential backoff (docs/SECURITY.md "Password
 * guessing"): the IP limits stop one machine, this stops a botnet that spreads its guesses for
 * one account over many addresses.
 *
 * Every attempt is counted as a failure *before* the password is checked and forgotten only when
 * it succeeds, so a burst of parallel guesses cannot all slip through while the first ones are
 * still hashing. The `freeFailures`-th attempt in a row sets a wait of `baseMs`, each further
 * one twice the last, up to `maxMs`; an attempt during a wait is refused, uncounted, without
 * touching the password. Keys are whatever username the caller typed, existing or not, so the answers for a
 * real and an unknown account are the same. In memory, or on Redis so every key server of a
 * cluster shares the counts.
 */
import type { RedisClient } from '@sotto/server-core/store';

/** See the module comment. */
export interface LoginThrottle {
  /**
   * Count one attempt for `key`; refused (nothing counted) while `key` is in a wait, with the
   * ms left of it.
   */
  attempt(key: string): Promise<{ ok: boolean; retryInMs: number }>;
  /** The attempt proved the password: forget `key`'s count. */
  succeeded(key: string): Promise<void>;
}

/** Options of {@link createLoginThrottle}. */
export interface LoginThrottleOptions {
  freeFailures: number;
  baseMs: number;
  maxMs: number;
  now: () => number;
  /** Shared counts (cluster mode); in memory without. */
  redis?: RedisClient;
  /** Prefix of the Redis keys. */
  prefix: string;
  /** Most usernames remembered in memory (a flood of made-up names cannot grow it past this). */
  maxEntries?: number;
}

/** Wait after the `failures`-th counted attempt. */
function waitAfter(failures: number, o: LoginThrottleOptions): number {
  if (failures < o.freeFailures) return 0;
  return Math.min(o.maxMs, o.baseMs * 2 ** Math.min(failures - o.freeFailures, 40));
}

// KEYS[1] = the username's hash {f: attempts, u: wait ends, x: forgotten at (ms, caller's clock)};
// ARGV = now, free, base, max. Same arithmetic as waitAfter() and the memory version; the TTL
// only collects the garbage (a minute after `x`, so a skewed clock never drops a live count).
const ATTEMPT = `
local t = tonumber(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'f', 'u', 'x')
local f = tonumber(v[1] or '0')
local u = tonumber(v[2] or '0')
if u > t then return { 0, u - t } end
if tonumber(v[3] or '0') <= t then f = 0 end
f = f + 1
local free = tonumber(ARGV[2])
local max = tonumber(ARGV[4])
local wait = 0
if f >= free then wait = math.min(max, tonumber(ARGV[3]) * 2 ^ math.min(f - free, 40)) end
redis.call('HSET', KEYS[1], 'f', f, 'u', t + wait, 'x', t + wait + max)
redis.call('PEXPIRE', KEYS[1], wait + max + 60000)
return { 1, 0 }`;

/** Build a {@link LoginThrottle}, in memory or on Redis. */
export function createLoginThrottle(o: LoginThrottleOptions): LoginThrottle {
  const { redis, prefix, now } = o;
  if (redis) {
    return {
      async attempt(key) {
        const [ok, left] = (await redis.eval(ATTEMPT, {
          keys: [prefix + key],
          arguments: [String(now()), String(o.freeFailures), String(o.baseMs), String(o.maxMs)],
        })) as [number, number];
        return { ok: ok === 1, retryInMs: left };
      },
      async succeeded(key) {
        await redis.del(prefix + key);
      },
    };
  }
  const maxEntries = o.maxEntries ?? 100_000;
  // Insertion order = oldest first; an entry is moved to the end when counted again.
  const entries = new Map<string, { failures: number; until: number; forgetAt: number }>();
  return {
    attempt(key) {
      const t = now();
      const e = entries.get(key);
      if (e && e.until > t) return Promise.resolve({ ok: false, retryInMs: e.until - t });
      const failures = (e && e.forgetAt > t ? e.failures : 0) + 1;
      const wait = waitAfter(failures, o);
      entries.delete(key);
      entries.set(key, { failures, until: t + wait, forgetAt: t + wait + o.maxMs });
      for (const [k, old] of entries) {
        if (entries.size <= maxEntries && old.forgetAt > t) break;
        entries.delete(k);
      }
      return Promise.resolve({ ok: true, retryInMs: 0 });
    },
    succeeded(key) {
      entries.delete(key);
      return Promise.resolve();
    },
  };
}
