import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeDeviceCertificate,
  decodeKemPrekey,
  decodeOneTimePrekey,
  decodeSignedPrekey,
  encodeDeviceCertificate,
  encodeSignedPrekey,
  fromBase64,
  generateDeviceKeys,
  generateSignedPrekey,
  generateUserIdentity,
  toBase64,
  verifyPrekeyBundle,
} from '@sotto/crypto';
import {
  bearer,
  login,
  makeDeviceUpload,
  makeServer,
  registeredDevice,
  signupAndLogin,
  type TestServer,
} from './fixtures.ts';

let s: TestServer;
beforeEach(async () => {
  s = await makeServer();
});
afterEach(async () => {
  await s.close();
});

const put = (token: string, deviceId: string, body: object) =>
  s.app.inject({
    method: 'PUT',
    url: `/v1/devices/${deviceId}/keys`,
    headers: bearer(token),
    payload: body,
  });
const claim = (token: string, user: string, dev: string) =>
  s.app.inject({
    method: 'POST',
    url: `/v1/users/${user}/devices/${dev}/bundle`,
    headers: bearer(token),
  });

/**
 * Replace the server with one whose per-claimant cap is out of the way, for tests of the
 * store's atomic take that claim many times as one account (the cap: prekey-claims.test.ts).
 */
async function uncapped(): Promise<void> {
  await s.close();
  s = await makeServer({ config: { prekeyClaims: { perClaimant: 10_000 } } });
}

const claimMany = (token: string, devices: { username: string; deviceId: string }[]) =>
  s.app.inject({
    method: 'POST',
    url: '/v1/bundles/claim',
    headers: bearer(token),
    payload: { devices },
  });

describe('device key upload', () => {
  it("publishes verified keys, sets the user's UIK and logs the binding", async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const up = makeDeviceUpload('alice', 'd1', { otks: 4, kemOtks: 3 });
    const r = await put(a.accessToken, 'd1', up.body);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ oneTimePrekeys: 4, oneTimeKemPrekeys: 3, logIndex: 0 });
    const u = await s.store.getUser('alice');
    expect(u?.uik).toEqual(up.uik.publicKey);
    expect(await s.store.logSize()).toBe(1);
  });

  it('counts the remaining one-time prekeys for the device itself only', async () => {
    const a = await registeredDevice(s.app, 'alice', 'd1', { otks: 3, kemOtks: 1 });
    const r = await s.app.inject({
      method: 'GET',
      url: '/v1/devices/d1/keys/count',
      headers: bearer(a.accessToken),
    });
    expect(r.json()).toEqual({ oneTimePrekeys: 3, oneTimeKemPrekeys: 1 });
    const other = await s.app.inject({
      method: 'GET',
      url: '/v1/devices/d2/keys/count',
      headers: bearer(a.accessToken),
    });
    expect(other.statusCode).toBe(403);
    expect(other.json().error).toBe('FORBIDDEN');
  });

  it('adds one-time prekeys in later batches without a new log entry', async () => {
    const a = await registeredDevice(s.app, 'alice', 'd1', { otks: 2, kemOtks: 0 });
    const more = makeDeviceUpload('alice', 'd1', { uik: a.uik, otks: 3, kemOtks: 0, firstId: 100 });
    const r = await put(a.accessToken, 'd1', {
      certificate: a.body.certificate,
      oneTimePrekeys: more.body.oneTimePrekeys,
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ oneTimePrekeys: 5, oneTimeKemPrekeys: 0, logIndex: 0 });
    expect(await s.store.logSize()).toBe(1);
  });

  it('refuses to upload keys for another device of the same user with 403', async () => {
    const a = await signupAndLogin(s.app, 'alice', 'd1');
    const r = await put(a.accessToken, 'd2', makeDeviceUpload('alice', 'd2').body);
    expect(r.statusCode).toBe(403);
  });

  it('refuses a certificate issued for another user or device with 400 CERTIFICATE_MISMATCH', async () => {
    const a = await signupAndLogin(s.app, 'alice', 'd1');
    for (const body of [makeDeviceUpload('bob', 'd1').body, makeDeviceUpload('alice', 'd9').body]) {
      const r = await put(a.accessToken, 'd1', body);
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toBe('CERTIFICATE_MISMATCH');
    }
  });

  it('rejects a certificate whose signature does not verify with 400 BAD_SIGNATURE', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const up = makeDeviceUpload('alice', 'd1');
    const cert = decodeDeviceCertificate(fromBase64(up.body.certificate));
    cert.signature[0] = (cert.signature[0] ?? 0) ^ 1;
    const r = await put(a.accessToken, 'd1', {
      ...up.body,
      certificate: toBase64(encodeDeviceCertificate(cert)),
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('BAD_SIGNATURE');
    expect((await s.store.getUser('alice'))?.uik).toBeNull();
  });

  it('rejects a prekey whose signature does not verify with 400 BAD_SIGNATURE', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const up = makeDeviceUpload('alice', 'd1');
    const stranger = generateDeviceKeys();
    const forged = encodeSignedPrekey(generateSignedPrekey(stranger.signing, 1, Date.now()).prekey);
    const r = await put(a.accessToken, 'd1', { ...up.body, signedPrekey: toBase64(forged) });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('BAD_SIGNATURE');
    const otherDevice = makeDeviceUpload('alice', 'd1', { uik: up.uik });
    const r2 = await put(a.accessToken, 'd1', {
      ...up.body,
      oneTimeKemPrekeys: otherDevice.body.oneTimeKemPrekeys,
    });
    expect(r2.statusCode).toBe(400);
    expect(r2.json().error).toBe('BAD_SIGNATURE');
  });

  it('rejects bytes that are not a key with 400 MALFORMED_KEY', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const up = makeDeviceUpload('alice', 'd1');
    for (const patch of [
      { certificate: 'AAAA' },
      { signedPrekey: toBase64(new Uint8Array(10)) },
      { oneTimePrekeys: ['AQ'] },
      { kemPrekey: up.body.oneTimeKemPrekeys[0] },
    ]) {
      const r = await put(a.accessToken, 'd1', { ...up.body, ...patch });
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toBe('MALFORMED_KEY');
    }
    const notB64 = await put(a.accessToken, 'd1', { ...up.body, certificate: 'not base64!' });
    expect(notB64.statusCode).toBe(400);
    expect(notB64.json().error).toBe('VALIDATION_FAILED');
  });

  it('requires the signed and last-resort prekeys on the first upload', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const r = await put(a.accessToken, 'd1', {
      certificate: makeDeviceUpload('alice', 'd1').body.certificate,
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('PREKEYS_REQUIRED');
  });

  it('caps one upload batch by schema', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const up = makeDeviceUpload('alice', 'd1', { otks: 1 });
    const r = await put(a.accessToken, 'd1', {
      ...up.body,
      oneTimePrekeys: Array.from({ length: 201 }, () => up.body.oneTimePrekeys[0]),
    });
    expect(r.statusCode).toBe(400);
  });

  it('refuses keys under another UIK with 409 IDENTITY_MISMATCH', async () => {
    const a = await registeredDevice(s.app, 'alice', 'd1');
    const a2 = await login(s.app, 'alice', 'd2');
    const r = await put(a2.accessToken, 'd2', makeDeviceUpload('alice', 'd2').body);
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toBe('IDENTITY_MISMATCH');
    expect((await s.store.getUser('alice'))?.uik).toEqual(a.uik.publicKey);
  });

  it('accepts a second device under the same UIK', async () => {
    const a = await registeredDevice(s.app, 'alice', 'd1');
    const a2 = await login(s.app, 'alice', 'd2');
    const r = await put(a2.accessToken, 'd2', makeDeviceUpload('alice', 'd2', { uik: a.uik }).body);
    expect(r.statusCode).toBe(200);
    expect(r.json().logIndex).toBe(1);
  });

  it('replaces the UIK with resetIdentity and drops the other devices', async () => {
    const a = await registeredDevice(s.app, 'alice', 'd1');
    const a2 = await login(s.app, 'alice', 'd2');
    const fresh = makeDeviceUpload('alice', 'd2');
    const r = await put(a2.accessToken, 'd2', { ...fresh.body, resetIdentity: true });
    expect(r.statusCode).toBe(200);
    expect((await s.store.getUser('alice'))?.uik).toEqual(fresh.uik.publicKey);
    expect((await s.store.listDevices('alice')).map((d) => d.deviceId)).toEqual(['d2']);
    expect(s.events).toContainEqual({ type: 'device-revoked', username: 'alice', deviceId: 'd1' });
    expect(s.notices).toContainEqual({
      topic: 'sotto/v1/control/alice/d1',
      notice: { type: 'device-removed', reason: 'identity-reset' },
    });
    const old = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(a.accessToken),
    });
    expect(old.statusCode).toBe(401);
  });
});

describe('user lookup', () => {
  it('answers 200 with uik null and no devices before any key upload', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    await signupAndLogin(s.app, 'bob');
    const r = await s.app.inject({
      method: 'GET',
      url: '/v1/users/bob',
      headers: bearer(a.accessToken),
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ username: 'bob', uik: null, devices: [] });
  });

  it('lists the UIK and the active devices with their kind, certificate and log index', async () => {
    const b = await registeredDevice(s.app, 'bob', 'phone');
    const b2 = await login(s.app, 'bob', 'bot1');
    await put(
      b2.accessToken,
      'bot1',
      makeDeviceUpload('bob', 'bot1', { uik: b.uik, kind: 'bot' }).body,
    );
    const a = await signupAndLogin(s.app, 'alice');
    const r = await s.app.inject({
      method: 'GET',
      url: '/v1/users/bob',
      headers: bearer(a.accessToken),
    });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.uik).toBe(toBase64(b.uik.publicKey));
    expect(
      body.devices.map((d: { deviceId: string; kind: string }) => [d.deviceId, d.kind]),
    ).toEqual([
      ['bot1', 'bot'],
      ['phone', 'user'],
    ]);
    expect(body.devices[1]).toEqual({
      deviceId: 'phone',
      kind: 'user',
      certificate: b.body.certificate,
      logIndex: 0,
    });
  });

  it('answers 404 USER_NOT_FOUND only for a user that does not exist', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const r = await s.app.inject({
      method: 'GET',
      url: '/v1/users/nobody',
      headers: bearer(a.accessToken),
    });
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toBe('USER_NOT_FOUND');
  });

  it('requires authentication', async () => {
    const r = await s.app.inject({ method: 'GET', url: '/v1/users/alice' });
    expect(r.statusCode).toBe(401);
  });
});

describe('bundle claims', () => {
  it('hands out a bundle that verifies and consumes one one-time prekey of each kind', async () => {
    const b = await registeredDevice(s.app, 'bob', 'd1', { otks: 2, kemOtks: 1 });
    const a = await signupAndLogin(s.app, 'alice');
    const r = await claim(a.accessToken, 'bob', 'd1');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    const bundle = {
      certificate: decodeDeviceCertificate(fromBase64(body.certificate)),
      signedPrekey: decodeSignedPrekey(fromBase64(body.signedPrekey)),
      kemPrekey: decodeKemPrekey(fromBase64(body.kemPrekey)),
      oneTimePrekey: decodeOneTimePrekey(fromBase64(body.oneTimePrekey)),
    };
    expect(() =>
      verifyPrekeyBundle(bundle, { uik: b.uik.publicKey, username: 'bob', deviceId: 'd1' }),
    ).not.toThrow();
    expect(bundle.kemPrekey.lastResort).toBe(false);
    expect(await s.store.countOneTimePrekeys('bob', 'd1')).toEqual({
      oneTimePrekeys: 1,
      oneTimeKemPrekeys: 0,
    });
  });

  it('falls back to the last-resort KEM prekey and a null one-time prekey when the batches are empty', async () => {
    const b = await registeredDevice(s.app, 'bob', 'd1', { otks: 0, kemOtks: 0 });
    const a = await signupAndLogin(s.app, 'alice');
    const body = (await claim(a.accessToken, 'bob', 'd1')).json();
    expect(body.oneTimePrekey).toBeNull();
    expect(body.kemPrekey).toBe(b.body.kemPrekey);
    expect(decodeKemPrekey(fromBase64(body.kemPrekey)).lastResort).toBe(true);
  });

  it('gives 50 parallel claims 50 different one-time prekeys', async () => {
    await uncapped();
    await registeredDevice(s.app, 'bob', 'd1', { otks: 50, kemOtks: 50 });
    const a = await signupAndLogin(s.app, 'alice');
    const rs = await Promise.all(
      Array.from({ length: 50 }, () => claim(a.accessToken, 'bob', 'd1')),
    );
    expect(rs.every((r) => r.statusCode === 200)).toBe(true);
    const otks = rs.map((r) => r.json().oneTimePrekey);
    const kems = rs.map((r) => r.json().kemPrekey);
    expect(otks.includes(null)).toBe(false);
    expect(new Set(otks).size).toBe(50);
    expect(new Set(kems).size).toBe(50);
    expect((await claim(a.accessToken, 'bob', 'd1')).json().oneTimePrekey).toBeNull();
  });

  it('answers 404 DEVICE_NOT_FOUND for a device without published keys', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const r = await claim(a.accessToken, 'alice', 'nope');
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toBe('DEVICE_NOT_FOUND');
  });

  it('stops serving a device after it logs out', async () => {
    const b = await registeredDevice(s.app, 'bob', 'd1');
    await s.app.inject({
      method: 'DELETE',
      url: '/v1/sessions/current',
      headers: bearer(b.accessToken),
    });
    const a = await signupAndLogin(s.app, 'alice');
    expect((await claim(a.accessToken, 'bob', 'd1')).statusCode).toBe(404);
    const user = (
      await s.app.inject({ method: 'GET', url: '/v1/users/bob', headers: bearer(a.accessToken) })
    ).json();
    expect(user.devices).toEqual([]);
  });

  it('is rate-limited per calling device', async () => {
    const limited = await makeServer({ config: { rateLimit: { enabled: true, bundle: 3 } } });
    try {
      await registeredDevice(limited.app, 'bob', 'd1', { otks: 10 });
      const a = await signupAndLogin(limited.app, 'alice', 'd1');
      const a2 = await login(limited.app, 'alice', 'd2');
      const go = (t: string) =>
        limited.app.inject({
          method: 'POST',
          url: '/v1/users/bob/devices/d1/bundle',
          headers: bearer(t),
        });
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await go(a.accessToken)).statusCode);
      expect(codes).toEqual([200, 200, 200, 429]);
      const limitedBody = (await go(a.accessToken)).json();
      expect(limitedBody.error).toBe('RATE_LIMITED');
      expect((await go(a2.accessToken)).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('claims many devices in one request, in order, null for a device without keys', async () => {
    const b = await registeredDevice(s.app, 'bob', 'd1', { otks: 1, kemOtks: 1 });
    const c = await registeredDevice(s.app, 'carol', 'd1', { otks: 0, kemOtks: 0 });
    const a = await signupAndLogin(s.app, 'alice');
    const r = await claimMany(a.accessToken, [
      { username: 'carol', deviceId: 'd1' },
      { username: 'bob', deviceId: 'nope' },
      { username: 'bob', deviceId: 'd1' },
    ]);
    expect(r.statusCode).toBe(200);
    const { bundles } = r.json();
    expect(
      bundles.map((x: { username: string; deviceId: string }) => x.username + x.deviceId),
    ).toEqual(['carold1', 'bobnope', 'bobd1']);
    expect(bundles[1].bundle).toBeNull();
    expect(bundles[0].bundle.oneTimePrekey).toBeNull();
    expect(bundles[0].bundle.kemPrekey).toBe(c.body.kemPrekey);
    const bob = bundles[2].bundle;
    expect(() =>
      verifyPrekeyBundle(
        {
          certificate: decodeDeviceCertificate(fromBase64(bob.certificate)),
          signedPrekey: decodeSignedPrekey(fromBase64(bob.signedPrekey)),
          kemPrekey: decodeKemPrekey(fromBase64(bob.kemPrekey)),
          oneTimePrekey: decodeOneTimePrekey(fromBase64(bob.oneTimePrekey)),
        },
        { uik: b.uik.publicKey, username: 'bob', deviceId: 'd1' },
      ),
    ).not.toThrow();
    expect(await s.store.countOneTimePrekeys('bob', 'd1')).toEqual({
      oneTimePrekeys: 0,
      oneTimeKemPrekeys: 0,
    });
  });

  it('hands each one-time prekey to exactly one caller across batched and single claims', async () => {
    await uncapped();
    await registeredDevice(s.app, 'bob', 'd1', { otks: 30, kemOtks: 30 });
    const a = await signupAndLogin(s.app, 'alice', 'd1');
    const a2 = await login(s.app, 'alice', 'd2');
    const one = [{ username: 'bob', deviceId: 'd1' }];
    const rs = await Promise.all([
      ...Array.from({ length: 10 }, () => claimMany(a.accessToken, one)),
      ...Array.from({ length: 10 }, () => claimMany(a2.accessToken, one)),
      ...Array.from({ length: 10 }, () => claim(a.accessToken, 'bob', 'd1')),
    ]);
    const got = rs.map((r) => {
      const body = r.json();
      return 'bundles' in body ? body.bundles[0].bundle : body;
    });
    expect(new Set(got.map((x) => x.oneTimePrekey)).size).toBe(30);
    expect(new Set(got.map((x) => x.kemPrekey)).size).toBe(30);
    expect(got.some((x) => x.oneTimePrekey === null)).toBe(false);
  });

  it('refuses an empty, oversized, duplicated or malformed device list', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const dev = (i: number) => ({ username: `user${i}`, deviceId: 'd1' });
    const bodies: unknown[] = [
      { devices: [] },
      { devices: Array.from({ length: 101 }, (_, i) => dev(i)) },
      { devices: [dev(1), dev(1)] },
      { devices: [{ username: 'Not Valid!', deviceId: 'd1' }] },
      { devices: [{ username: 'bob' }] },
      { devices: [{ ...dev(1), extra: 1 }] },
      { devices: 'bob' },
      {},
    ];
    for (const body of bodies) {
      const r = await s.app.inject({
        method: 'POST',
        url: '/v1/bundles/claim',
        headers: bearer(a.accessToken),
        payload: body as object,
      });
      expect(r.statusCode, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(r.json().error).toBe('VALIDATION_FAILED');
    }
    const anon = await s.app.inject({
      method: 'POST',
      url: '/v1/bundles/claim',
      payload: { devices: [dev(1)] },
    });
    expect(anon.statusCode).toBe(401);
  });

  it('rate-limits batched claims by the number of devices, per calling device', async () => {
    const limited = await makeServer({ config: { rateLimit: { enabled: true, bundle: 5 } } });
    try {
      for (const u of ['bob', 'carol', 'dave']) await registeredDevice(limited.app, u, 'd1');
      const a = await signupAndLogin(limited.app, 'alice', 'd1');
      const a2 = await login(limited.app, 'alice', 'd2');
      const go = (t: string, users: string[]) =>
        limited.app.inject({
          method: 'POST',
          url: '/v1/bundles/claim',
          headers: bearer(t),
          payload: { devices: users.map((u) => ({ username: u, deviceId: 'd1' })) },
        });
      expect((await go(a.accessToken, ['bob', 'carol', 'dave'])).statusCode).toBe(200);
      // 3 spent of 5: three more would go over, and are refused whole.
      const over = await go(a.accessToken, ['bob', 'carol', 'dave']);
      expect(over.statusCode).toBe(429);
      expect(over.json().error).toBe('RATE_LIMITED');
      expect((await go(a.accessToken, ['bob', 'carol'])).statusCode).toBe(200);
      expect((await go(a.accessToken, ['bob'])).statusCode).toBe(429);
      expect((await go(a2.accessToken, ['bob', 'carol', 'dave'])).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('keeps UIK bytes intact across the directory', async () => {
    const uik = generateUserIdentity();
    await registeredDevice(s.app, 'bob', 'd1', { uik });
    expect((await s.store.getUser('bob'))?.uik).toEqual(uik.publicKey);
  });
});
