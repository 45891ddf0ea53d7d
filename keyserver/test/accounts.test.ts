import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ARGON2 } from '../src/config.ts';
import { createPasswordHasher, hashParams } from '../src/passwords.ts';
import { bearer, login, makeServer, signupAndLogin, type TestServer } from './fixtures.ts';

let s: TestServer;
beforeEach(async () => {
  s = await makeServer();
});
afterEach(async () => {
  await s.close();
});

const signup = (username: string, password = 'correct horse battery', extra = {}) =>
  s.app.inject({ method: 'POST', url: '/v1/accounts', payload: { username, password, ...extra } });

describe('sign-up', () => {
  it('creates an account and stores only an Argon2id hash of the password', async () => {
    const r = await signup('alice');
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ username: 'alice' });
    const u = await s.store.getUser('alice');
    expect(u?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(u?.passwordHash).not.toContain('correct horse');
  });

  it('refuses a taken username with 409 USERNAME_TAKEN', async () => {
    await signup('alice');
    const r = await signup('alice', 'another password');
    expect(r.statusCode).toBe(409);
    expect(r.json()).toEqual({ error: 'USERNAME_TAKEN', message: expect.any(String) });
  });

  it.each(['thing', 'service', 'sotto'])(
    'refuses the reserved name %s with 409 USERNAME_TAKEN (no account is made)',
    async (name) => {
      const r = await signup(name);
      expect(r.statusCode).toBe(409);
      expect(r.json()).toEqual({ error: 'USERNAME_TAKEN', message: 'this name is reserved' });
      expect(await s.store.getUser(name)).toBeNull();
    },
  );

  it.each([
    ['an upper-case username', { username: 'Alice' }],
    ['a two-letter username', { username: 'al' }],
    ['a username with a slash', { username: 'a/b/c' }],
    ['a 7-character password', { password: 'short12' }],
    ['a 1025-character password', { password: 'x'.repeat(1025) }],
  ])('refuses %s with 400 VALIDATION_FAILED', async (_name, patch) => {
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { username: 'alice', password: 'correct horse battery', ...patch },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('VALIDATION_FAILED');
  });

  it('refuses unknown properties instead of dropping them', async () => {
    const r = await signup('alice', 'correct horse battery', { admin: true });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('VALIDATION_FAILED');
    expect(await s.store.userExists('alice')).toBe(false);
  });
});

describe('log-in', () => {
  it('returns an access token, a refresh token and a generated device id', async () => {
    await signup('alice');
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { username: 'alice', password: 'correct horse battery' },
    });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(Object.keys(body).sort()).toEqual([
      'accessToken',
      'deviceId',
      'expiresIn',
      'refreshToken',
    ]);
    expect(body.deviceId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(body.expiresIn).toBe(900);
    const claims = JSON.parse(Buffer.from(body.accessToken.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'alice', dev: body.deviceId, kind: 'user', aud: 'sotto' });
    expect(claims.exp - claims.iat).toBe(900);
    expect(await s.store.isDeviceActive('alice', body.deviceId)).toBe(true);
  });

  it('keeps the device id the client chose', async () => {
    const session = await signupAndLogin(s.app, 'alice', 'laptop');
    expect(session.deviceId).toBe('laptop');
  });

  it('answers a wrong password and an unknown user with the same 401', async () => {
    await signup('alice');
    const wrong = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { username: 'alice', password: 'wrong password' },
    });
    const unknown = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { username: 'nobody', password: 'wrong password' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().error).toBe('INVALID_CREDENTIALS');
  });

  it.each([
    ['without limits', { enabled: false }],
    ['under the per-username throttle', { enabled: true, login: 1000, loginFreeFailures: 100 }],
  ])(
    'takes about as long for an unknown user as for a wrong password (%s)',
    async (_, rateLimit) => {
      // Production-cost hashing makes the difference measurable if the dummy hash were skipped.
      const slow = await makeServer({
        config: { argon2: { memoryCost: 8192, timeCost: 2 }, rateLimit },
      });
      try {
        await slow.app.inject({
          method: 'POST',
          url: '/v1/accounts',
          payload: { username: 'alice', password: 'correct horse battery' },
        });
        const time = async (username: string) => {
          const t0 = performance.now();
          const r = await slow.app.inject({
            method: 'POST',
            url: '/v1/sessions',
            payload: { username, password: 'wrong password' },
          });
          expect(r.statusCode).toBe(401);
          return performance.now() - t0;
        };
        const median = (xs: number[]) =>
          [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
        const known: number[] = [];
        const unknown: number[] = [];
        for (let i = 0; i < 5; i++) {
          known.push(await time('alice'));
          unknown.push(await time('nobody'));
        }
        const ratio = median(unknown) / median(known);
        expect(ratio).toBeGreaterThan(0.4);
        expect(ratio).toBeLessThan(2.5);
      } finally {
        await slow.close();
      }
    },
  );

  it('counts logins by result in /metrics', async () => {
    await signupAndLogin(s.app, 'alice');
    await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { username: 'alice', password: 'nope nope nope' },
    });
    const m = await s.app.metrics.registry.metrics();
    expect(m).toMatch(/sotto_keyserver_logins_total\{result="ok"\} 1/);
    expect(m).toMatch(/sotto_keyserver_logins_total\{result="bad_credentials"\} 1/);
  });
});

describe('refresh tokens', () => {
  const refresh = (refreshToken: string) =>
    s.app.inject({ method: 'POST', url: '/v1/sessions/refresh', payload: { refreshToken } });

  it('rotates: a refresh token yields a new working pair', async () => {
    const first = await signupAndLogin(s.app, 'alice');
    const r = await refresh(first.refreshToken);
    expect(r.statusCode).toBe(200);
    const next = r.json();
    expect(next.refreshToken).not.toBe(first.refreshToken);
    expect(next.deviceId).toBe('d1');
    const me = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(next.accessToken),
    });
    expect(me.statusCode).toBe(200);
  });

  it('answers a reused refresh token with 401 and revokes the whole family', async () => {
    const first = await signupAndLogin(s.app, 'alice');
    const second = (await refresh(first.refreshToken)).json();
    const reuse = await refresh(first.refreshToken);
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().error).toBe('INVALID_REFRESH_TOKEN');
    // The legitimately rotated token is dead too, and so is its access token.
    expect((await refresh(second.refreshToken)).statusCode).toBe(401);
    const me = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(second.accessToken),
    });
    expect(me.statusCode).toBe(401);
    expect(s.events.some((e) => e.type === 'token-revoked' && e.username === 'alice')).toBe(true);
  });

  it('refuses an unknown refresh token', async () => {
    const r = await refresh('not-a-token');
    expect(r.statusCode).toBe(401);
    expect(r.json().error).toBe('INVALID_REFRESH_TOKEN');
  });
});

describe('logout', () => {
  it('revokes the device tokens, marks the device inactive and tells the brokers', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const r = await s.app.inject({
      method: 'DELETE',
      url: '/v1/sessions/current',
      headers: bearer(a.accessToken),
    });
    expect(r.statusCode).toBe(204);
    const jti = JSON.parse(Buffer.from(a.accessToken.split('.')[1]!, 'base64url').toString()).jti;
    expect(await s.store.isTokenRevoked(jti)).toBe(true);
    expect(await s.store.isDeviceActive('alice', 'd1')).toBe(false);
    expect(s.events).toContainEqual({
      type: 'token-revoked',
      jti,
      username: 'alice',
      deviceId: 'd1',
    });
    expect(s.events).toContainEqual({ type: 'device-revoked', username: 'alice', deviceId: 'd1' });
    const again = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(a.accessToken),
    });
    expect(again.statusCode).toBe(401);
    const ref = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions/refresh',
      payload: { refreshToken: a.refreshToken },
    });
    expect(ref.statusCode).toBe(401);
  });

  it('leaves the other devices of the user logged in', async () => {
    const a1 = await signupAndLogin(s.app, 'alice', 'd1');
    const a2 = await login(s.app, 'alice', 'd2');
    await s.app.inject({
      method: 'DELETE',
      url: '/v1/sessions/current',
      headers: bearer(a1.accessToken),
    });
    const r = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(a2.accessToken),
    });
    expect(r.statusCode).toBe(200);
  });

  it('requires a token', async () => {
    const r = await s.app.inject({ method: 'DELETE', url: '/v1/sessions/current' });
    expect(r.statusCode).toBe(401);
    expect(r.json().error).toBe('UNAUTHORIZED');
  });
});

describe('password change', () => {
  it('revokes every token of the user and returns a fresh pair', async () => {
    const a1 = await signupAndLogin(s.app, 'alice', 'd1');
    const a2 = await login(s.app, 'alice', 'd2');
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/accounts/password',
      headers: bearer(a1.accessToken),
      payload: { currentPassword: 'correct horse battery', newPassword: 'new and better password' },
    });
    expect(r.statusCode).toBe(200);
    expect(s.events).toContainEqual({ type: 'user-revoked', username: 'alice' });
    for (const t of [a1.accessToken, a2.accessToken]) {
      const me = await s.app.inject({ method: 'GET', url: '/v1/users/alice', headers: bearer(t) });
      expect(me.statusCode).toBe(401);
    }
    const fresh = r.json();
    const me = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(fresh.accessToken),
    });
    expect(me.statusCode).toBe(200);
    await expect(login(s.app, 'alice', 'd3', 'correct horse battery')).rejects.toThrow(/401/);
    await expect(login(s.app, 'alice', 'd3', 'new and better password')).resolves.toBeTruthy();
  });

  it('refuses a wrong current password with 401 and keeps the old one', async () => {
    const a = await signupAndLogin(s.app, 'alice');
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/accounts/password',
      headers: bearer(a.accessToken),
      payload: { currentPassword: 'not my password', newPassword: 'new and better password' },
    });
    expect(r.statusCode).toBe(401);
    await expect(login(s.app, 'alice', 'd2')).resolves.toBeTruthy();
  });
});

describe('password hashing parameters', () => {
  it('defaults to Argon2id with m=19456 KiB, t=2, p=1', async () => {
    expect(DEFAULT_ARGON2.memoryCost).toBeGreaterThanOrEqual(19456);
    expect(DEFAULT_ARGON2.timeCost).toBeGreaterThanOrEqual(2);
    expect(DEFAULT_ARGON2.parallelism).toBe(1);
    const hasher = await createPasswordHasher(DEFAULT_ARGON2);
    const phc = await hasher.hash('correct horse battery');
    expect(hashParams(phc)).toEqual({
      memoryCost: 19456,
      timeCost: 2,
      parallelism: 1,
      algorithm: 2,
    });
    expect(await hasher.verify(phc, 'correct horse battery')).toBe(true);
    expect(await hasher.verify(phc, 'wrong')).toBe(false);
    expect(await hasher.verify(null, 'correct horse battery')).toBe(false);
  });
});
