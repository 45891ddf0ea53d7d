/**
 * The count-based limiter of the batched bundle claim (ratelimit-store.ts),
 * in memory and on a real Redis, with one shared behaviour: a request spends
 * as many units as it names, one that would go over is refused whole, and the
 * budget comes back when the window ends.
 *
 * The per-username login backoff (login-throttle.ts), in memory and on the same Redis, with one
 * shared behaviour under a controlled clock: free failures, then waits that double up to the
 * cap, refusals during a wait that count nothing, a success that forgets, and a count that is
 * forgotten the cap's length after its last wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { createLoginThrottle, type LoginThrottle } from '../src/login-throttle.ts';
import { createCountLimiter, type CountLimiter } from '../src/ratelimit-store.ts';
import type { RedisClient } from '@sotto/server-core/store';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';

let redis: RedisProcess;
let client: RedisClient;
beforeAll(async () => {
  redis = await startRedis();
  client = createClient({ url: redis.url });
  await client.connect();
});
afterAll(async () => {
  await client?.quit();
  await redis?.stop();
});

let n = 0;
const kinds: [string, (windowMs: number) => CountLimiter][] = [
  ['memory', (windowMs) => createCountLimiter({ max: 5, windowMs, now: Date.now, prefix: '' })],
  [
    'redis',
    (windowMs) =>
      createCountLimiter({ max: 5, windowMs, now: Date.now, redis: client, prefix: `t${++n}:` }),
  ],
];

describe.each(kinds)('count limiter (%s)', (_name, make) => {
  it('spends by count, refuses a request that would go over whole, per key', async () => {
    const l = make(60_000);
    expect((await l.take('a', 3)).ok).toBe(true);
    expect((await l.take('a', 3)).ok).toBe(false);
    expect((await l.take('a', 2)).ok).toBe(true);
    const refused = await l.take('a', 1);
    expect(refused.ok).toBe(false);
    expect(refused.retryInMs).toBeGreaterThan(0);
    expect(refused.retryInMs).toBeLessThanOrEqual(60_000);
    expect((await l.take('b', 5)).ok).toBe(true);
  });

  it('gives the budget back when the window ends', async () => {
    const l = make(300);
    expect((await l.take('a', 5)).ok).toBe(true);
    expect((await l.take('a', 1)).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    expect((await l.take('a', 5)).ok).toBe(true);
  });
});

type Make = (now: () => number, maxEntries?: number) => LoginThrottle;
const opts = { freeFailures: 2, baseMs: 1000, maxMs: 5000 };
const throttles: [string, Make][] = [
  [
    'memory',
    (now, maxEntries) =>
      createLoginThrottle({ ...opts, now, prefix: '', ...(maxEntries ? { maxEntries } : {}) }),
  ],
  ['redis', (now) => createLoginThrottle({ ...opts, now, redis: client, prefix: `lt${++n}:` })],
];

describe.each(throttles)('login throttle (%s)', (_name, make) => {
  it('lets the free failures through, then doubles the wait up to the cap', async () => {
    let t = 1_000_000;
    const th = make(() => t);
    expect(await th.attempt('alice')).toEqual({ ok: true, retryInMs: 0 });
    expect(await th.attempt('alice')).toEqual({ ok: true, retryInMs: 0 });
    expect(await th.attempt('alice')).toEqual({ ok: false, retryInMs: 1000 });
    t += 999;
    expect(await th.attempt('alice')).toEqual({ ok: false, retryInMs: 1 });
    // Each wait ends (the count stays): one more attempt is let through and sets the next wait.
    const waits: number[] = [];
    let left = 1;
    for (let i = 0; i < 4; i++) {
      t += left;
      expect((await th.attempt('alice')).ok).toBe(true);
      const refused = await th.attempt('alice');
      expect(refused.ok).toBe(false);
      left = refused.retryInMs;
      waits.push(left);
    }
    expect(waits).toEqual([2000, 4000, 5000, 5000]);
    // Other names are untouched.
    expect((await th.attempt('bob')).ok).toBe(true);
  });

  it('forgets the count on success, and the cap after the last wait ends', async () => {
    let t = 2_000_000;
    const th = make(() => t);
    await th.attempt('carol');
    await th.attempt('carol');
    expect((await th.attempt('carol')).ok).toBe(false);
    await th.succeeded('carol');
    expect((await th.attempt('carol')).ok).toBe(true);
    expect((await th.attempt('carol')).ok).toBe(true);
    expect((await th.attempt('carol')).ok).toBe(false);
    // The wait (1 s) ends, then the count lives on for the cap (5 s).
    t += 1000 + 5000 + 1;
    expect((await th.attempt('carol')).ok).toBe(true);
    expect((await th.attempt('carol')).ok).toBe(true);
    expect((await th.attempt('carol')).ok).toBe(false);
  });
});

describe('login throttle in memory', () => {
  it('keeps at most maxEntries names, dropping the oldest', async () => {
    const t = 3_000_000;
    const th = throttles[0]![1](() => t, 3);
    await th.attempt('old');
    await th.attempt('old');
    for (const name of ['a', 'b', 'c']) await th.attempt(name);
    // 'old' was pushed out by the flood: its count starts again.
    expect((await th.attempt('old')).ok).toBe(true);
    expect((await th.attempt('old')).ok).toBe(true);
    expect((await th.attempt('old')).ok).toBe(false);
  });
});
