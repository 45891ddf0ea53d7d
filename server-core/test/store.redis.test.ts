import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { createRedisStore, RedisBatchTimeoutError } from '../src/store/redis.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import { pushStoreSuite } from './store.push.suite.ts';
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

pushStoreSuite('redis', async () => ({
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

describe('a Redis that stops answering', () => {
  it('fails a batched claim after batchTimeoutMs, then claims again once Redis answers', async () => {
    const store = await createRedisStore({ url: redis.url, prefix: 'stall:', batchTimeoutMs: 300 });
    await store.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      // CLIENT PAUSE holds every client's commands (the admin's own reply comes first).
      await admin.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      const started = Date.now();
      await expect(store.claimPrekeyBundle('alice', 'd1')).rejects.toBeInstanceOf(
        RedisBatchTimeoutError,
      );
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(300);
      expect(took).toBeLessThan(1_400); // well before the pause ends
      await admin.sendCommand(['CLIENT', 'UNPAUSE']);
      expect(await store.claimPrekeyBundle('alice', 'd1')).toBeNull(); // no such device: answered
    } finally {
      await admin.close();
      await store.close();
    }
  });
});
