/**
 * Issue 14, item 4: an identity reset (`PUT /v1/devices/{id}/keys` with `resetIdentity` and a
 * certificate under a new UIK) needs proof of the password — `password` in the request, or an
 * access token from a password login at most 5 minutes old (`auth_time`, kept by refreshes).
 * A stolen access token alone must not replace the identity and sign out every device.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenIssuer } from '@sotto/server-core/tokens';
import {
  bearer,
  login,
  makeDeviceUpload,
  makeServer,
  registeredDevice,
  type TestServer,
} from './fixtures.ts';

const PASSWORD = 'correct horse battery';
const T0 = Date.UTC(2030, 0, 1);
const MIN = 60_000;

let s: TestServer | undefined;
let clock = T0;
afterEach(async () => {
  await s?.close();
  s = undefined;
  clock = T0;
});

async function server(config: Parameters<typeof makeServer>[0] = {}): Promise<TestServer> {
  s = await makeServer({ now: () => clock, ...config });
  return s;
}

const put = (srv: TestServer, token: string, deviceId: string, body: object) =>
  srv.app.inject({
    method: 'PUT',
    url: `/v1/devices/${deviceId}/keys`,
    headers: bearer(token),
    payload: body,
  });

const lookup = (srv: TestServer, token: string) =>
  srv.app.inject({ method: 'GET', url: '/v1/users/alice', headers: bearer(token) });

/** The JWT payload (not verified: the server did that when it issued it). */
const payloadOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

/** Alice with a set-up device d1, and a second login d2 (the attacker's, or her new phone). */
async function aliceWithTwoLogins(srv: TestServer) {
  const d1 = await registeredDevice(srv.app, 'alice', 'd1');
  const d2 = await login(srv.app, 'alice', 'd2');
  return { d1, d2 };
}

/** Everything a reset would change, to compare before and after a refused one. */
async function snapshot(srv: TestServer) {
  return {
    uik: (await srv.store.getUser('alice'))?.uik,
    devices: (await srv.store.listDevices('alice')).map((d) => [d.deviceId, d.active]),
    events: srv.events.length,
    notices: srv.notices.length,
  };
}

describe('identity reset re-authentication', () => {
  it('puts the login time in the access token as auth_time (seconds)', async () => {
    const srv = await server();
    const { d2 } = await aliceWithTwoLogins(srv);
    expect(payloadOf(d2.accessToken).auth_time).toBe(Math.floor(T0 / 1000));
  });

  it('refuses a reset by a token whose password login is over 5 minutes old: 403 REAUTH_REQUIRED, nothing changed', async () => {
    const srv = await server();
    const { d1, d2 } = await aliceWithTwoLogins(srv);
    const before = await snapshot(srv);
    clock = T0 + 5 * MIN + 1000; // the token is still valid (15 min), the login is not fresh
    const r = await put(srv, d2.accessToken, 'd2', {
      ...makeDeviceUpload('alice', 'd2').body,
      resetIdentity: true,
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toBe('REAUTH_REQUIRED');
    expect(await snapshot(srv)).toEqual(before);
    expect((await lookup(srv, d1.accessToken)).statusCode).toBe(200); // d1 still signed in
  });

  it('accepts a reset by a token from a password login at most 5 minutes old, without the password', async () => {
    const srv = await server();
    const { d1, d2 } = await aliceWithTwoLogins(srv);
    clock = T0 + 5 * MIN;
    const fresh = makeDeviceUpload('alice', 'd2');
    const r = await put(srv, d2.accessToken, 'd2', { ...fresh.body, resetIdentity: true });
    expect(r.statusCode).toBe(200);
    expect((await srv.store.getUser('alice'))?.uik).toEqual(fresh.uik.publicKey);
    expect((await lookup(srv, d1.accessToken)).statusCode).toBe(401);
  });

  it('does not make a session fresh by refreshing it: the refreshed token keeps the login auth_time', async () => {
    const srv = await server();
    const { d2 } = await aliceWithTwoLogins(srv);
    clock = T0 + 10 * MIN;
    const r = await srv.app.inject({
      method: 'POST',
      url: '/v1/sessions/refresh',
      payload: { refreshToken: d2.refreshToken },
    });
    expect(r.statusCode).toBe(200);
    const refreshed = r.json<{ accessToken: string; refreshToken: string }>();
    expect(payloadOf(refreshed.accessToken).auth_time).toBe(Math.floor(T0 / 1000));
    expect(payloadOf(refreshed.accessToken).iat).toBe(Math.floor((T0 + 10 * MIN) / 1000));
    // … and through a second rotation too.
    const r2 = await srv.app.inject({
      method: 'POST',
      url: '/v1/sessions/refresh',
      payload: { refreshToken: refreshed.refreshToken },
    });
    expect(payloadOf(r2.json<{ accessToken: string }>().accessToken).auth_time).toBe(
      Math.floor(T0 / 1000),
    );
    const before = await snapshot(srv);
    const reset = await put(srv, refreshed.accessToken, 'd2', {
      ...makeDeviceUpload('alice', 'd2').body,
      resetIdentity: true,
    });
    expect(reset.statusCode).toBe(403);
    expect(reset.json().error).toBe('REAUTH_REQUIRED');
    expect(await snapshot(srv)).toEqual(before);
  });

  it('refuses a token without auth_time (minted before the claim existed)', async () => {
    const srv = await server();
    await aliceWithTwoLogins(srv);
    const legacy = createTokenIssuer({
      privateKey: srv.signingKey,
      issuer: srv.app.appConfig.publicUrl,
      audience: srv.app.appConfig.tokenAudience,
      now: () => clock,
    }).issue({ sub: 'alice', dev: 'd2', kind: 'user' });
    expect(payloadOf(legacy.token)).not.toHaveProperty('auth_time');
    const before = await snapshot(srv);
    const r = await put(srv, legacy.token, 'd2', {
      ...makeDeviceUpload('alice', 'd2').body,
      resetIdentity: true,
    });
    expect(r.json().error).toBe('REAUTH_REQUIRED');
    expect(await snapshot(srv)).toEqual(before);
  });

  it('refuses a wrong password with 401 INVALID_CREDENTIALS and changes nothing, even with a fresh login', async () => {
    const srv = await server();
    const { d1, d2 } = await aliceWithTwoLogins(srv);
    const before = await snapshot(srv);
    const r = await put(srv, d2.accessToken, 'd2', {
      ...makeDeviceUpload('alice', 'd2').body,
      resetIdentity: true,
      password: 'wrong horse battery',
    });
    expect(r.statusCode).toBe(401);
    expect(r.json().error).toBe('INVALID_CREDENTIALS');
    expect(await snapshot(srv)).toEqual(before);
    expect((await lookup(srv, d1.accessToken)).statusCode).toBe(200);
    expect((await lookup(srv, d2.accessToken)).statusCode).toBe(200);
  });

  it('resets with the right password and an old token, removing and notifying the other devices', async () => {
    const srv = await server();
    const { d1, d2 } = await aliceWithTwoLogins(srv);
    clock = T0 + 14 * MIN;
    const fresh = makeDeviceUpload('alice', 'd2');
    const r = await put(srv, d2.accessToken, 'd2', {
      ...fresh.body,
      resetIdentity: true,
      password: PASSWORD,
    });
    expect(r.statusCode).toBe(200);
    expect((await srv.store.getUser('alice'))?.uik).toEqual(fresh.uik.publicKey);
    expect((await srv.store.listDevices('alice')).map((d) => d.deviceId)).toEqual(['d2']);
    expect(srv.notices).toContainEqual({
      topic: 'sotto/v1/control/alice/d1',
      notice: { type: 'device-removed', reason: 'identity-reset' },
    });
    expect(srv.events).toContainEqual({
      type: 'device-revoked',
      username: 'alice',
      deviceId: 'd1',
    });
    expect((await lookup(srv, d1.accessToken)).statusCode).toBe(401);
  });

  it('ignores the password when the identity does not change (an ordinary upload)', async () => {
    const srv = await server();
    const { d1 } = await aliceWithTwoLogins(srv);
    clock = T0 + 10 * MIN;
    const r = await put(srv, d1.accessToken, 'd1', {
      certificate: d1.body.certificate,
      password: 'not checked here',
    });
    expect(r.statusCode).toBe(200);
  });

  it('rate-limits password attempts on the reset like logins', async () => {
    const srv = await server({ config: { rateLimit: { enabled: true, login: 3 } } });
    const { d2 } = await aliceWithTwoLogins(srv); // two logins of the login route's own budget
    const before = await snapshot(srv);
    const attempt = (password: string) =>
      put(srv, d2.accessToken, 'd2', {
        ...makeDeviceUpload('alice', 'd2').body,
        resetIdentity: true,
        password,
      });
    for (let i = 0; i < 3; i++) expect((await attempt(`guess ${i}`)).statusCode).toBe(401);
    const limited = await attempt(PASSWORD);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toBe('RATE_LIMITED');
    expect(await snapshot(srv)).toEqual(before);
    clock = T0 + 61_000; // the next window
    expect((await attempt(PASSWORD)).statusCode).toBe(200);
  });

  it('refuses a malformed password field with a typed 400', async () => {
    const srv = await server();
    const { d2 } = await aliceWithTwoLogins(srv);
    const body = { ...makeDeviceUpload('alice', 'd2').body, resetIdentity: true };
    // (A one-item array or a number would be coerced to a string by the schema's coerceTypes.)
    for (const password of [{}, ['x', 'y'], 'x'.repeat(1025)]) {
      const r = await put(srv, d2.accessToken, 'd2', { ...body, password });
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toBe('VALIDATION_FAILED');
    }
  });
});
