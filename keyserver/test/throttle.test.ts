/**
 * Password guessing and directory enumeration against real key-server processes (issue 15,
 * docs/SECURITY.md "Password guessing"): per-IP limits that a forged X-Forwarded-For cannot
 * dodge unless the peer is a trusted proxy, a per-username backoff that holds across every IP
 * (and across key servers sharing Redis) and answers alike for real and unknown accounts,
 * sign-up per IP, and `GET /v1/users/:username` only with a token and limited per caller.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import { waitFor } from '../../test/support/ports.ts';
import { call, startKeyServer, type Answer, type KeyServerProcess } from './server-process.ts';

const PASSWORD = 'correct horse battery';
const dirs: string[] = [];
const servers: KeyServerProcess[] = [];

async function server(env: Record<string, string>): Promise<KeyServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-throttle-'));
  dirs.push(dir);
  const s = await startKeyServer({ DATA_DIR: dir, ...env });
  servers.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

const xff = (ip: string) => ({ 'x-forwarded-for': ip });
const signup = (s: KeyServerProcess, username: string, headers: Record<string, string> = {}) =>
  call(`${s.url}/v1/accounts`, 'POST', { username, password: PASSWORD }, headers);
const loginAs = (
  s: KeyServerProcess,
  username: string,
  password: string,
  headers: Record<string, string> = {},
) => call(`${s.url}/v1/sessions`, 'POST', { username, password }, headers);

/** A 429 that says how long to wait. */
function expectLimited(a: Answer): number {
  expect(a.status).toBe(429);
  expect(a.body.error).toBe('RATE_LIMITED');
  const retry = Number(a.headers.get('retry-after'));
  expect(retry).toBeGreaterThanOrEqual(1);
  return retry;
}

describe('a peer that is not a trusted proxy', () => {
  let s: KeyServerProcess;
  beforeAll(async () => {
    s = await server({ RATE_LIMIT_LOGIN: '3', RATE_LIMIT_SIGNUP: '2' });
  }, 60_000);

  it('cannot dodge the per-IP login limit by rotating X-Forwarded-For', async () => {
    for (let i = 1; i <= 3; i++)
      expect((await loginAs(s, `nobody${i}`, 'wrong', xff(`203.0.113.${i}`))).status).toBe(401);
    expectLimited(await loginAs(s, 'nobody4', 'wrong', xff('203.0.113.4')));
  });

  it('cannot dodge the per-IP sign-up limit by rotating X-Forwarded-For', async () => {
    expect((await signup(s, 'untrusted_a', xff('198.51.100.1'))).status).toBe(201);
    expect((await signup(s, 'untrusted_b', xff('198.51.100.2'))).status).toBe(201);
    expectLimited(await signup(s, 'untrusted_c', xff('198.51.100.3')));
  });

  it('does not serve /metrics on the public port', async () => {
    const r = await fetch(`${s.url}/metrics`);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('sotto_keyserver');
  });
});

describe('behind a trusted proxy', () => {
  let s: KeyServerProcess;
  beforeAll(async () => {
    s = await server({
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_LOGIN: '3',
      RATE_LIMIT_SIGNUP: '2',
      RATE_LIMIT_LOOKUP: '3',
      LOGIN_FREE_FAILURES: '3',
      LOGIN_BACKOFF_MS: '1000',
    });
  }, 60_000);

  it('limits logins per client IP, taking the address the proxy appended', async () => {
    for (let i = 1; i <= 3; i++)
      expect((await loginAs(s, `ghost${i}`, 'wrong', xff('192.0.2.1'))).status).toBe(401);
    expectLimited(await loginAs(s, 'ghost4', 'wrong', xff('192.0.2.1')));
    // A client forging the header gets the proxy's append on the right: still 192.0.2.1.
    expectLimited(await loginAs(s, 'ghost5', 'wrong', xff('192.0.2.99, 192.0.2.1')));
    // Another client behind the same proxy has its own budget.
    expect((await loginAs(s, 'ghost6', 'wrong', xff('192.0.2.2'))).status).toBe(401);
  });

  it('limits sign-ups per client IP', async () => {
    expect((await signup(s, 'trusted_a', xff('192.0.2.10'))).status).toBe(201);
    expect((await signup(s, 'trusted_b', xff('192.0.2.10'))).status).toBe(201);
    expectLimited(await signup(s, 'trusted_c', xff('192.0.2.10')));
    expect((await signup(s, 'trusted_c', xff('192.0.2.11'))).status).toBe(201);
  });

  it('backs a username off across all IPs, doubling the wait, and a success forgets it', async () => {
    expect((await signup(s, 'victim', xff('192.0.2.20'))).status).toBe(201);
    let ip = 30;
    const next = () => xff(`192.0.2.${ip++}`);
    for (let i = 0; i < 3; i++)
      expect((await loginAs(s, 'victim', 'guess', next())).status).toBe(401);
    // Fourth try from yet another address: refused without looking at the password, even a right one.
    const first = expectLimited(await loginAs(s, 'victim', PASSWORD, next()));
    expect(first).toBeLessThanOrEqual(1);
    await waitFor(async () => (await loginAs(s, 'victim', 'guess', next())).status === 401, {
      timeoutMs: 5000,
      intervalMs: 200,
      what: 'the first wait to end',
    });
    const second = expectLimited(await loginAs(s, 'victim', PASSWORD, next()));
    expect(second).toBe(2);
    await waitFor(async () => (await loginAs(s, 'victim', PASSWORD, next())).status === 200, {
      timeoutMs: 8000,
      intervalMs: 200,
      what: 'the second wait to end',
    });
    // The success reset the count: three more failures before the next wait.
    for (let i = 0; i < 3; i++)
      expect((await loginAs(s, 'victim', 'guess', next())).status).toBe(401);
    expectLimited(await loginAs(s, 'victim', 'guess', next()));
  });

  it('counts parallel guesses before hashing: a burst gets no more than the free failures', async () => {
    expect((await signup(s, 'burst_victim', xff('192.0.2.90'))).status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        loginAs(s, 'burst_victim', `guess ${i}`, xff(`198.18.0.${i + 1}`)),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((x) => x === 401)).toHaveLength(3);
    expect(statuses.filter((x) => x === 429)).toHaveLength(9);
  });

  it('answers an existing and an unknown username identically, throttle included', async () => {
    expect((await signup(s, 'real_user', xff('192.0.2.60'))).status).toBe(201);
    const run = async (username: string, ip: string) => {
      const out: unknown[] = [];
      for (let i = 0; i < 4; i++) {
        const a = await loginAs(s, username, 'not the password', xff(ip));
        out.push({
          status: a.status,
          body: a.body,
          retryAfter: a.headers.get('retry-after'),
          headers: [...a.headers.keys()].filter((k) => k !== 'date').sort(),
        });
      }
      return out;
    };
    const [real, unknown] = await Promise.all([
      run('real_user', '192.0.2.61'),
      run('no_such_user', '192.0.2.62'),
    ]);
    expect(unknown).toEqual(real);
    expect((real[3] as { status: number }).status).toBe(429);
  });

  it('refuses GET /v1/users/:username without a token', async () => {
    const r = await call(`${s.url}/v1/users/victim`, 'GET');
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('UNAUTHORIZED');
  });

  it('limits user lookups per calling account, whatever its device or IP', async () => {
    expect((await signup(s, 'looker', xff('192.0.2.70'))).status).toBe(201);
    expect((await signup(s, 'other', xff('192.0.2.71'))).status).toBe(201);
    const token = async (username: string, deviceId: string, ip: string) => {
      const r = await call(
        `${s.url}/v1/sessions`,
        'POST',
        { username, password: PASSWORD, deviceId },
        xff(ip),
      );
      expect(r.status).toBe(200);
      return { authorization: `Bearer ${String(r.body.accessToken)}` };
    };
    const d1 = await token('looker', 'd1', '192.0.2.72');
    const d2 = await token('looker', 'd2', '192.0.2.73');
    const o = await token('other', 'd1', '192.0.2.74');
    const look = (h: Record<string, string>, ip: string) =>
      call(`${s.url}/v1/users/victim`, 'GET', undefined, { ...h, ...xff(ip) });
    expect((await look(d1, '192.0.2.80')).status).toBe(200);
    expect((await look(d2, '192.0.2.81')).status).toBe(200);
    expect((await look(d1, '192.0.2.82')).status).toBe(200);
    expectLimited(await look(d2, '192.0.2.83'));
    expect((await look(o, '192.0.2.84')).status).toBe(200);
  });
});

describe('two key servers on one Redis', () => {
  let redis: RedisProcess;
  let a: KeyServerProcess;
  let b: KeyServerProcess;
  beforeAll(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, LOGIN_FREE_FAILURES: '2', LOGIN_BACKOFF_MS: '60000' };
    [a, b] = await Promise.all([server(env), server(env)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  }, 60_000);

  it('share the per-username failure count', async () => {
    expect((await signup(a, 'shared_victim')).status).toBe(201);
    expect((await loginAs(a, 'shared_victim', 'guess')).status).toBe(401);
    expect((await loginAs(b, 'shared_victim', 'guess')).status).toBe(401);
    expect(expectLimited(await loginAs(a, 'shared_victim', PASSWORD))).toBeGreaterThan(50);
    expectLimited(await loginAs(b, 'shared_victim', PASSWORD));
  });
});
