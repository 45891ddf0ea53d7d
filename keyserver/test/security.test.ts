import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenIssuer, generateSigningKey } from '@sotto/server-core/tokens';
import {
  bearer,
  makeServer,
  registeredDevice,
  signupAndLogin,
  type TestServer,
} from './fixtures.ts';

let s: TestServer;
let token: string;
beforeEach(async () => {
  s = await makeServer({ config: { bodyLimit: 4096 } });
  token = (await signupAndLogin(s.app, 'alice')).accessToken;
});
afterEach(async () => {
  await s.close();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const payloadOf = (t: string) =>
  JSON.parse(Buffer.from(t.split('.')[1] ?? '', 'base64url').toString());
const me = (t: string) =>
  s.app.inject({ method: 'GET', url: '/v1/users/alice', headers: bearer(t) });

async function expect401(t: string, code = 'UNAUTHORIZED') {
  const r = await me(t);
  expect(r.statusCode).toBe(401);
  expect(r.json()).toEqual({ error: code, message: expect.any(String) });
}

describe('access-token checks on every authenticated route', () => {
  it('accepts the genuine token', async () => {
    expect((await me(token)).statusCode).toBe(200);
  });

  it('refuses a token with alg none', async () => {
    await expect401(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payloadOf(token))}.`);
  });

  it('refuses an HS256 token signed with the server public key as HMAC secret', async () => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payloadOf(token))}`;
    const sig = createHmac('sha256', s.app.tokenPublicKeyPem).update(input).digest('base64url');
    await expect401(`${input}.${sig}`);
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const old = createTokenIssuer({
      privateKey: s.signingKey,
      issuer: s.app.appConfig.publicUrl,
      audience: s.app.appConfig.tokenAudience,
      now: () => Date.now() - 3600_000,
    }).issue({ sub: 'alice', dev: 'd1', kind: 'user' });
    await expect401(old.token, 'TOKEN_EXPIRED');
  });

  it('refuses a token whose claims were tampered with', async () => {
    const [h, , sig] = token.split('.');
    await expect401(`${h}.${b64({ ...payloadOf(token), sub: 'bob' })}.${sig}`);
  });

  it('refuses a token for another issuer or audience, or signed by another key', async () => {
    const cfg = s.app.appConfig;
    const issue = (o: {
      iss?: string;
      aud?: string;
      key?: ReturnType<typeof generateSigningKey>;
    }) =>
      createTokenIssuer({
        privateKey: o.key ?? s.signingKey,
        issuer: o.iss ?? cfg.publicUrl,
        audience: o.aud ?? cfg.tokenAudience,
      }).issue({ sub: 'alice', dev: 'd1', kind: 'user' }).token;
    await expect401(issue({ iss: 'https://evil.example' }));
    await expect401(issue({ aud: 'someone-else' }));
    await expect401(issue({ key: generateSigningKey() }));
  });

  it('refuses a genuine service or thing token on user routes', async () => {
    const cfg = s.app.appConfig;
    const t = createTokenIssuer({
      privateKey: s.signingKey,
      issuer: cfg.publicUrl,
      audience: cfg.tokenAudience,
    });
    await expect401(t.issue({ sub: 'alice', dev: 'd1', kind: 'service' }).token);
  });

  it('refuses a missing or malformed Authorization header', async () => {
    for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer a b']) {
      const r = await s.app.inject({
        method: 'GET',
        url: '/v1/users/alice',
        headers: authorization ? { authorization } : {},
      });
      expect(r.statusCode).toBe(401);
      expect(r.json().error).toBe('UNAUTHORIZED');
    }
  });
});

describe('bad input never causes a 500', () => {
  it('answers an oversized JSON body with 413 and the error shape', async () => {
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { username: 'bob', password: 'x'.repeat(10_000) },
    });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toEqual({ error: 'PAYLOAD_TOO_LARGE', message: expect.any(String) });
  });

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": "alice", ',
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ error: 'MALFORMED_JSON', message: expect.any(String) });
  });

  it('answers an unknown route with 404 NOT_FOUND', async () => {
    const r = await s.app.inject({ method: 'GET', url: '/v1/nope' });
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toBe('NOT_FOUND');
  });

  it('answers garbage sent to every route with a 4xx in the error shape', async () => {
    await registeredDevice(s.app, 'bob', 'd1');
    const routes: [string, string][] = [
      ['POST', '/v1/accounts'],
      ['POST', '/v1/sessions'],
      ['POST', '/v1/sessions/refresh'],
      ['POST', '/v1/accounts/password'],
      ['PUT', '/v1/devices/d1/keys'],
      ['POST', '/v1/users/bob/devices/d1/bundle'],
      ['POST', '/v1/groups'],
      ['POST', '/v1/groups/g1/changes'],
      ['POST', '/v1/things'],
    ];
    const bodies: (string | object)[] = [
      '[]',
      '"text"',
      'null',
      '12',
      '{"__proto__": {"admin": true}}',
      { username: 123, password: ['a'] },
      { certificate: 'A'.repeat(2000), record: '!!', refreshToken: '', name: 'X' },
      { certificate: 'AAAA', signedPrekey: 'AAAA', kemPrekey: 'AAAA', oneTimePrekeys: [1, 2] },
      { record: 'AAAAAAAAAAAAAAAA' },
    ];
    const failures: string[] = [];
    for (const [method, url] of routes) {
      for (const body of bodies) {
        // The bundle route takes no body; JSON `null` is "no body" and a valid claim.
        if (url.endsWith('/bundle') && body === 'null') continue;
        const r = await s.app.inject({
          method: method as 'POST' | 'PUT',
          url,
          headers: { ...bearer(token), 'content-type': 'application/json' },
          payload: typeof body === 'string' ? body : JSON.stringify(body),
        });
        const json = r.json();
        const ok =
          r.statusCode >= 400 &&
          r.statusCode < 500 &&
          typeof json.error === 'string' &&
          typeof json.message === 'string';
        if (!ok)
          failures.push(`${method} ${url} ${JSON.stringify(body)} → ${r.statusCode} ${r.body}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('rate limits', () => {
  it('limits logins per client with 429 RATE_LIMITED', async () => {
    const limited = await makeServer({ config: { rateLimit: { enabled: true, login: 2 } } });
    try {
      const codes = [];
      for (let i = 0; i < 3; i++) {
        const r = await limited.app.inject({
          method: 'POST',
          url: '/v1/sessions',
          payload: { username: 'alice', password: 'whatever123' },
        });
        codes.push(r.statusCode);
        if (r.statusCode === 429) expect(r.json().error).toBe('RATE_LIMITED');
      }
      expect(codes).toEqual([401, 401, 429]);
    } finally {
      await limited.close();
    }
  });

  it('limits sign-ups per client', async () => {
    const limited = await makeServer({ config: { rateLimit: { enabled: true, signup: 1 } } });
    try {
      const go = (username: string) =>
        limited.app.inject({
          method: 'POST',
          url: '/v1/accounts',
          payload: { username, password: 'password123' },
        });
      expect((await go('user_one')).statusCode).toBe(201);
      expect((await go('user_two')).statusCode).toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe('operations routes', () => {
  it('reports health, metrics and the OpenAPI description', async () => {
    const h = await s.app.inject({ method: 'GET', url: '/healthz' });
    expect(h.json()).toEqual({ status: 'ok' });
    const m = await s.app.metrics.registry.metrics();
    expect(m).toContain('sotto_keyserver_http_requests_total');
    expect(m).toContain('sotto_keyserver_http_request_duration_seconds_bucket');
    const doc = (await s.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of [
      '/v1/accounts',
      '/v1/sessions',
      '/v1/sessions/refresh',
      '/v1/sessions/current',
      '/v1/devices/{deviceId}/keys',
      '/v1/devices/{deviceId}/keys/count',
      '/v1/users/{username}',
      '/v1/users/{username}/devices/{deviceId}/bundle',
      '/v1/bundles/claim',
      '/v1/groups',
      '/v1/groups/{groupId}',
      '/v1/groups/{groupId}/changes',
      '/v1/things',
      '/v1/things/{thing}',
      '/v1/blobs',
      '/v1/blobs/{id}',
      '/v1/log/head',
      '/v1/log/proof',
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    const ui = await s.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
  });

  it('reports 503 UNAVAILABLE when the store is down', async () => {
    await s.store.close();
    const h = await s.app.inject({ method: 'GET', url: '/healthz' });
    expect(h.statusCode).toBe(503);
    expect(h.json().error).toBe('UNAVAILABLE');
  });
});
