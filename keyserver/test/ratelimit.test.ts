/**
 * The count-based limiter of the batched bundle claim (ratelimit-store.ts),
 * in memory and on a real Redis, with one shared behaviour: a request spends
 * as many units as it names, one that would go over is refused whole, and the
 * budget comes back when the window ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
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
