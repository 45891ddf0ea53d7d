/**
 * Issue 14, item 6: one-time prekeys cannot be drained by one account. Each claiming account
 * gets at most `prekeyClaims.perClaimant` one-time prekeys of one device per window, on both
 * claim routes and both stores; beyond it the claim still answers with a usable bundle (signed
 * prekey + last-resort KEM prekey). A claim that leaves a device low sends it a throttled
 * `prekeys-low` control notice, so draining across many accounts is answered by a top-up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeDeviceCertificate,
  decodeKemPrekey,
  decodeOneTimePrekey,
  decodeSignedPrekey,
  fromBase64,
  verifyPrekeyBundle,
} from '@sotto/crypto';
import { createRedisStore, createSqliteStore, type Store } from '@sotto/server-core/store';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import {
  bearer,
  login,
  makeDeviceUpload,
  makeServer,
  registeredDevice,
  signupAndLogin,
  type TestServer,
} from './fixtures.ts';

let redis: RedisProcess;
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

interface Bundle {
  certificate: string;
  signedPrekey: string;
  kemPrekey: string;
  oneTimePrekey: string | null;
}

const STORES: [string, () => Promise<Store>][] = [
  ['sqlite', () => Promise.resolve(createSqliteStore({ filename: ':memory:' }))],
  ['redis', () => createRedisStore({ url: redis.url, prefix: `pc${++n}:` })],
];

describe.each(STORES)('one-time prekey claims on %s', (_name, makeStore) => {
  async function withServer(
    run: (s: TestServer, clock: { t: number }) => Promise<void>,
    config: Parameters<typeof makeServer>[0] = {},
  ): Promise<void> {
    const clock = { t: Date.now() };
    const s = await makeServer({ store: await makeStore(), now: () => clock.t, ...config });
    try {
      await run(s, clock);
    } finally {
      await s.close();
    }
  }

  const single = async (s: TestServer, token: string, user: string, dev: string) => {
    const r = await s.app.inject({
      method: 'POST',
      url: `/v1/users/${user}/devices/${dev}/bundle`,
      headers: bearer(token),
    });
    expect(r.statusCode).toBe(200);
    return r.json<Bundle>();
  };
  const batched = async (s: TestServer, token: string, user: string, dev: string) => {
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/bundles/claim',
      headers: bearer(token),
      payload: { devices: [{ username: user, deviceId: dev }] },
    });
    expect(r.statusCode).toBe(200);
    const b = r.json<{ bundles: { bundle: Bundle | null }[] }>().bundles[0]?.bundle;
    if (!b) throw new Error('no bundle');
    return b;
  };
  const withOtk = (bs: Bundle[]) => bs.filter((b) => b.oneTimePrekey !== null);
  const lastResort = (b: Bundle) => decodeKemPrekey(fromBase64(b.kemPrekey)).lastResort;

  it('gives one account at most 5 one-time prekeys of a device on the single route, then bundles without', async () => {
    await withServer(async (s) => {
      const bob = await registeredDevice(s.app, 'bob', 'd1', { otks: 20, kemOtks: 20 });
      const a = await signupAndLogin(s.app, 'alice');
      const got: Bundle[] = [];
      for (let i = 0; i < 8; i++) got.push(await single(s, a.accessToken, 'bob', 'd1'));
      expect(withOtk(got)).toHaveLength(5);
      expect(got.slice(0, 5).every((b) => !lastResort(b))).toBe(true);
      for (const b of got.slice(5)) {
        // Over the cap: no one-time prekey, the last-resort KEM prekey — and still a bundle
        // that verifies, so a first message to bob never fails.
        expect(b.oneTimePrekey).toBeNull();
        expect(lastResort(b)).toBe(true);
        expect(() =>
          verifyPrekeyBundle(
            {
              certificate: decodeDeviceCertificate(fromBase64(b.certificate)),
              signedPrekey: decodeSignedPrekey(fromBase64(b.signedPrekey)),
              kemPrekey: decodeKemPrekey(fromBase64(b.kemPrekey)),
            },
            { uik: bob.uik.publicKey, username: 'bob', deviceId: 'd1' },
          ),
        ).not.toThrow();
      }
      expect(await s.store.countOneTimePrekeys('bob', 'd1')).toEqual({
        oneTimePrekeys: 15,
        oneTimeKemPrekeys: 15,
      });
    });
  });

  it('counts the batched route against the same cap, and across device ids of one account', async () => {
    await withServer(async (s) => {
      await registeredDevice(s.app, 'bob', 'd1', { otks: 20, kemOtks: 20 });
      // The attacker cycles device ids: every login is a new device of the same account.
      const a = await signupAndLogin(s.app, 'mallory', 'm1');
      const logins = [a, await login(s.app, 'mallory', 'm2'), await login(s.app, 'mallory', 'm3')];
      const got: Bundle[] = [];
      for (const l of logins) {
        got.push(await batched(s, l.accessToken, 'bob', 'd1'));
        got.push(await single(s, l.accessToken, 'bob', 'd1'));
        got.push(await batched(s, l.accessToken, 'bob', 'd1'));
      }
      expect(withOtk(got)).toHaveLength(5);
      expect(new Set(withOtk(got).map((b) => b.oneTimePrekey)).size).toBe(5);
      expect((await s.store.countOneTimePrekeys('bob', 'd1')).oneTimePrekeys).toBe(15);
    });
  });

  it('keeps other accounts and other devices out of one account’s count', async () => {
    await withServer(async (s) => {
      await registeredDevice(s.app, 'bob', 'd1', { otks: 20, kemOtks: 20 });
      await registeredDevice(s.app, 'carol', 'c1', { otks: 5, kemOtks: 5 });
      const a = await signupAndLogin(s.app, 'alice');
      const d = await signupAndLogin(s.app, 'dave');
      for (let i = 0; i < 6; i++) await single(s, a.accessToken, 'bob', 'd1');
      const dave = await batched(s, d.accessToken, 'bob', 'd1');
      expect(dave.oneTimePrekey).not.toBeNull();
      expect(decodeOneTimePrekey(fromBase64(dave.oneTimePrekey ?? '')).id).toBe(6);
      expect((await single(s, a.accessToken, 'carol', 'c1')).oneTimePrekey).not.toBeNull();
    });
  });

  it('takes the cap from the configuration', async () => {
    await withServer(
      async (s) => {
        await registeredDevice(s.app, 'bob', 'd1', { otks: 10, kemOtks: 0 });
        const a = await signupAndLogin(s.app, 'alice');
        const got: Bundle[] = [];
        for (let i = 0; i < 4; i++) got.push(await single(s, a.accessToken, 'bob', 'd1'));
        expect(got.map((b) => b.oneTimePrekey !== null)).toEqual([true, true, false, false]);
      },
      { config: { prekeyClaims: { perClaimant: 2 } } },
    );
  });

  it('sends a throttled prekeys-low notice when claims take a device below the low-water mark', async () => {
    await withServer(async (s, clock) => {
      const bob = await registeredDevice(s.app, 'bob', 'd1', { otks: 8, kemOtks: 8 });
      const claimants = [];
      for (let i = 0; i < 8; i++) claimants.push(await signupAndLogin(s.app, `mallory${i}`));
      const lows = () => s.notices.filter((x) => x.notice.type === 'prekeys-low');
      // 8 → 5 left: not below the mark (5) yet.
      for (const c of claimants.slice(0, 3)) await single(s, c.accessToken, 'bob', 'd1');
      expect(lows()).toEqual([]);
      await batched(s, claimants[3]!.accessToken, 'bob', 'd1'); // 4 left
      expect(lows()).toEqual([
        { topic: 'sotto/v1/control/bob/d1', notice: { type: 'prekeys-low', remaining: 4 } },
      ]);
      // Throttled: further draining within the interval sends nothing more.
      for (const c of claimants.slice(4)) await single(s, c.accessToken, 'bob', 'd1');
      expect(lows()).toHaveLength(1);
      expect((await s.store.countOneTimePrekeys('bob', 'd1')).oneTimePrekeys).toBe(0);
      // Empty: a claim that takes nothing is no news, even after the interval.
      clock.t += 5 * 60_000;
      await single(s, claimants[0]!.accessToken, 'bob', 'd1');
      expect(lows()).toHaveLength(1);
      // Topped up (two one-time X25519 prekeys, no KEM ones) and claimed again: a new notice.
      const top = makeDeviceUpload('bob', 'd1', { uik: bob.uik, otks: 2, firstId: 100 });
      const put = await s.app.inject({
        method: 'PUT',
        url: '/v1/devices/d1/keys',
        headers: bearer(bob.accessToken),
        payload: { certificate: bob.body.certificate, oneTimePrekeys: top.body.oneTimePrekeys },
      });
      expect(put.json()).toMatchObject({ oneTimePrekeys: 2, oneTimeKemPrekeys: 0 });
      await single(s, claimants[1]!.accessToken, 'bob', 'd1');
      expect(lows()).toEqual([
        { topic: 'sotto/v1/control/bob/d1', notice: { type: 'prekeys-low', remaining: 4 } },
        { topic: 'sotto/v1/control/bob/d1', notice: { type: 'prekeys-low', remaining: 0 } },
      ]);
    });
  });

  it('does not notify a device that stays above the mark, nor for claims over the cap', async () => {
    await withServer(async (s, clock) => {
      const big = await registeredDevice(s.app, 'bob', 'big', { otks: 30, kemOtks: 30 });
      const a = await signupAndLogin(s.app, 'alice');
      const lows = () => s.notices.filter((x) => x.notice.type === 'prekeys-low');
      for (let i = 0; i < 10; i++) await single(s, a.accessToken, 'bob', 'big');
      expect(lows()).toEqual([]); // 25 left
      await registeredDevice(s.app, 'bob', 'small', { uik: big.uik, otks: 6, kemOtks: 6 });
      for (let i = 0; i < 5; i++) await single(s, a.accessToken, 'bob', 'small');
      expect(lows().map((x) => x.notice)).toEqual([{ type: 'prekeys-low', remaining: 4 }]);
      clock.t += 10 * 60_000; // past the throttle
      for (let i = 0; i < 3; i++) await batched(s, a.accessToken, 'bob', 'small'); // over the cap
      expect(lows()).toHaveLength(1);
      const c = await signupAndLogin(s.app, 'carol');
      await single(s, c.accessToken, 'bob', 'small'); // takes the last one
      expect(lows().map((x) => x.notice)).toEqual([
        { type: 'prekeys-low', remaining: 4 },
        { type: 'prekeys-low', remaining: 0 },
      ]);
    });
  });

  it('answers unknown devices and malformed names with typed errors', async () => {
    await withServer(async (s) => {
      const a = await signupAndLogin(s.app, 'alice');
      const r = await s.app.inject({
        method: 'POST',
        url: '/v1/users/bob/devices/nope/bundle',
        headers: bearer(a.accessToken),
      });
      expect(r.statusCode).toBe(404);
      expect(r.json().error).toBe('DEVICE_NOT_FOUND');
      const bad = await s.app.inject({
        method: 'POST',
        url: '/v1/bundles/claim',
        headers: bearer(a.accessToken),
        payload: { devices: [{ username: 'Bob!', deviceId: 'd1' }] },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toBe('VALIDATION_FAILED');
    });
  });
});
