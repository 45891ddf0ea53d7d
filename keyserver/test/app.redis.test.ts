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
import {
  createMemoryAclEvents,
  createRedisAclEvents,
  createRedisStore,
  type RedisClient,
} from '@sotto/server-core/store';
import { generateSigningKey } from '@sotto/server-core/tokens';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import { waitFor } from '../../test/support/ports.ts';
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
      // One account claims 50 times here: the per-claimant cap is tested in prekey-claims.test.ts.
      config: { prekeyClaims: { perClaimant: 10_000 } },
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

  it('two key servers on one Redis: a revocation on one is refused by both, and a lost bus empties the token cache', async () => {
    // Cluster mode: each key server caches verified tokens while its Redis bus hears every
    // event (auth-cache.ts). Logout on key server 1 must be refused there at once and on key
    // server 2 as soon as the event arrives; if key server 2's subscriber connection drops,
    // its cache must be emptied (events may be lost), so a revocation it never heard of is
    // still seen through the store.
    const prefix = `app${++n}:`;
    const client: RedisClient = createClient({ url: redis.url });
    await client.connect();
    const store = await createRedisStore({ client, prefix });
    const signingKey = generateSigningKey();
    const blobDir = mkdtempSync(join(tmpdir(), 'sotto-cache-'));
    const buses = [
      createRedisAclEvents({ client, prefix }),
      createRedisAclEvents({ client, prefix }),
    ];
    await Promise.all(buses.map((b) => b.ready()));
    const make = (aclEvents: (typeof buses)[number]) =>
      buildApp({
        store,
        aclEvents,
        signingKey,
        blobDir,
        config: { argon2: FAST_ARGON2, rateLimit: { enabled: false } },
      });
    const [one, two] = await Promise.all([make(buses[0]!), make(buses[1]!)]);
    const count = (app: typeof one, token: string) =>
      app.inject({ method: 'GET', url: '/v1/devices/d1/keys/count', headers: bearer(token) });
    try {
      const a = await signupAndLogin(one, 'alice');
      expect((await count(one, a.accessToken)).statusCode).toBe(200);
      expect((await count(two, a.accessToken)).statusCode).toBe(200); // now cached on both
      const out = await one.inject({
        method: 'DELETE',
        url: '/v1/sessions/current',
        headers: bearer(a.accessToken),
      });
      expect(out.statusCode).toBe(204);
      expect((await count(one, a.accessToken)).statusCode).toBe(401);
      await waitFor(async () => (await count(two, a.accessToken)).statusCode === 401, {
        timeoutMs: 1000,
        what: 'key server 2 to refuse the logged-out token',
      });

      // A token cached on key server 2, then its subscriber connection is killed by Redis.
      const b = await signupAndLogin(one, 'bob');
      expect((await count(two, b.accessToken)).statusCode).toBe(200);
      const second = buses[1]!;
      const heard: boolean[] = [];
      const stop = second.onHearingChange((h) => heard.push(h));
      await client.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await waitFor(() => heard.includes(false), {
        timeoutMs: 5000,
        what: 'the bus to stop hearing',
      });
      // Revoked in the store with no event at all: key server 2 must read the store again.
      const jti = JSON.parse(Buffer.from(b.accessToken.split('.')[1] ?? '', 'base64url').toString())
        .jti as string;
      await store.revokeToken(jti, Date.now() + 600_000);
      expect((await count(two, b.accessToken)).statusCode).toBe(401);
      // The subscriber comes back by itself and the bus hears again.
      await waitFor(() => second.hearing(), { timeoutMs: 5000, what: 'the bus to hear again' });
      stop();
    } finally {
      await Promise.all([one.close(), two.close()]);
      await Promise.all(buses.map((b) => b.close()));
      await client.close();
      rmSync(blobDir, { recursive: true, force: true });
    }
  });
});
