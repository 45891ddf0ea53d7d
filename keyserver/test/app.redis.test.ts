/**
 * The app on the Redis store (cluster mode): the concurrency-sensitive paths
 * (parallel bundle claims, refresh reuse, logout revocation) and Redis-backed
 * rate limits shared between two key-server instances.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { buildApp } from '../src/app.ts';
import { createMemoryAclEvents } from '../src/store/events.ts';
import { createRedisStore, type RedisClient } from '../src/store/redis.ts';
import { generateSigningKey } from '../src/tokens.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import { FAST_ARGON2, bearer, makeServer, registeredDevice, signupAndLogin } from './fixtures.ts';

let redis: RedisProcess;
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe('key server on Redis', () => {
  it('hands 50 parallel claims 50 distinct one-time prekeys and revokes on logout', async () => {
    const s = await makeServer({
      store: await createRedisStore({ url: redis.url, prefix: `app${++n}:` }),
    });
    try {
      await registeredDevice(s.app, 'bob', 'd1', { otks: 50, kemOtks: 0 });
      const a = await signupAndLogin(s.app, 'alice');
      const rs = await Promise.all(
        Array.from({ length: 50 }, () =>
          s.app.inject({
            method: 'POST',
            url: '/v1/users/bob/devices/d1/bundle',
            headers: bearer(a.accessToken),
          }),
        ),
      );
      const otks = rs.map((r) => r.json().oneTimePrekey);
      expect(otks.includes(null)).toBe(false);
      expect(new Set(otks).size).toBe(50);

      const reuse1 = await s.app.inject({
        method: 'POST',
        url: '/v1/sessions/refresh',
        payload: { refreshToken: a.refreshToken },
      });
      expect(reuse1.statusCode).toBe(200);
      const reuse2 = await s.app.inject({
        method: 'POST',
        url: '/v1/sessions/refresh',
        payload: { refreshToken: a.refreshToken },
      });
      expect(reuse2.statusCode).toBe(401);
      const after = await s.app.inject({
        method: 'GET',
        url: '/v1/users/bob',
        headers: bearer(reuse1.json().accessToken),
      });
      expect(after.statusCode).toBe(401);
    } finally {
      await s.close();
    }
  });

  it('shares login rate limits between two key servers through Redis', async () => {
    const prefix = `app${++n}:`;
    const client: RedisClient = createClient({ url: redis.url });
    await client.connect();
    const store = await createRedisStore({ client, prefix });
    const signingKey = generateSigningKey();
    const blobDir = mkdtempSync(join(tmpdir(), 'sotto-rl-'));
    const make = () =>
      buildApp({
        store,
        aclEvents: createMemoryAclEvents(),
        signingKey,
        blobDir,
        redis: client,
        redisPrefix: `${prefix}rl:`,
        config: { argon2: FAST_ARGON2, rateLimit: { enabled: true, login: 2 } },
      });
    const [one, two] = await Promise.all([make(), make()]);
    try {
      const login = (app: typeof one) =>
        app.inject({
          method: 'POST',
          url: '/v1/sessions',
          payload: { username: 'alice', password: 'whatever123' },
        });
      expect((await login(one)).statusCode).toBe(401);
      expect((await login(two)).statusCode).toBe(401);
      const third = await login(one);
      expect(third.statusCode).toBe(429);
      expect(third.json().error).toBe('RATE_LIMITED');
      expect((await client.keys(`${prefix}rl:*`)).length).toBeGreaterThan(0);
    } finally {
      await Promise.all([one.close(), two.close()]);
      await client.close();
      rmSync(blobDir, { recursive: true, force: true });
    }
  });
});
