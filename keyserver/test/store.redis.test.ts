import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { createRedisStore } from '../src/store/redis.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import { storeSuite } from './store.suite.ts';

let redis: RedisProcess;
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

// A fresh prefix per test isolates tests on one server.
storeSuite('redis', async () => ({
  store: await createRedisStore({ url: redis.url, prefix: `t${++n}:` }),
}));

describe('redis store keys', () => {
  it('puts every key under the configured prefix', async () => {
    const store = await createRedisStore({ url: redis.url, prefix: 'only:' });
    await store.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
    await store.activateDevice('alice', 'd1');
    await store.appendLogLeaf(new Uint8Array([1]));
    await store.close();
    const c = createClient({ url: redis.url });
    await c.connect();
    const keys = await c.keys('*');
    await c.close();
    const ours = keys.filter((key) => !/^t\d+:/.test(key));
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.every((key) => key.startsWith('only:'))).toBe(true);
  });
});
