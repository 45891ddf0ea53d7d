/** The key server HTTP client: error mapping, network failure, token refresh. */
import { describe, expect, it } from 'vitest';
import { ApiError, createHttpClient, type Tokens } from '../src/http.ts';

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function setup(
  handler: Handler,
  tokens: Tokens | null = { accessToken: 'a1', refreshToken: 'r1' },
) {
  const calls: { url: string; init: RequestInit }[] = [];
  let current = tokens;
  const saved: Tokens[] = [];
  const http = createHttpClient({
    baseUrl: 'http://ks.test/',
    fetch: (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return handler(url, init);
    }) as typeof fetch,
    getTokens: () => current,
    onTokens: (t) => {
      current = t;
      saved.push(t);
    },
  });
  return { http, calls, saved };
}

describe('key server HTTP client', () => {
  it('carries the Retry-After the server sent on a 429 (seconds, or an HTTP date)', async () => {
    const limited = (headers: Record<string, string>) =>
      new Response(JSON.stringify({ error: 'RATE_LIMITED', message: 'slow down' }), {
        status: 429,
        headers: { 'content-type': 'application/json', ...headers },
      });
    const inSeconds = await setup(() => limited({ 'retry-after': '120' }))
      .http.login('alice', 'x')
      .catch((e: unknown) => e);
    expect(inSeconds).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterMs: 120_000 });
    const date = new Date(Date.now() + 30_000).toUTCString();
    const byDate = (await setup(() => limited({ 'retry-after': date }))
      .http.login('alice', 'x')
      .catch((e: unknown) => e)) as ApiError;
    expect(byDate.retryAfterMs).toBeGreaterThan(25_000);
    expect(byDate.retryAfterMs).toBeLessThanOrEqual(30_000);
    for (const headers of [{}, { 'retry-after': 'soon' }]) {
      const none = (await setup(() => limited(headers))
        .http.login('alice', 'x')
        .catch((e: unknown) => e)) as ApiError;
      expect(none.retryAfterMs).toBeUndefined();
    }
  });

  it('turns the server error shape into an ApiError with its code and status', async () => {
    const { http } = setup(() =>
      json(401, { error: 'BAD_CREDENTIALS', message: 'wrong password' }),
    );
    const err = await http.login('alice', 'nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'BAD_CREDENTIALS', status: 401, message: 'wrong password' });
  });

  it('reports an unreachable server as a NETWORK error with status 0', async () => {
    const { http } = setup(() => {
      throw new TypeError('fetch failed');
    });
    await expect(http.signUp('alice', 'pw')).rejects.toMatchObject({ code: 'NETWORK', status: 0 });
  });

  it('refreshes the access token once on 401 and retries the call', async () => {
    const { http, calls, saved } = setup((url, init) => {
      if (url.endsWith('/v1/sessions/refresh'))
        return json(200, { accessToken: 'a2', refreshToken: 'r2' });
      const auth = (init.headers as Record<string, string>).authorization;
      return auth === 'Bearer a2'
        ? json(200, { username: 'bob', uik: null, devices: [] })
        : json(401, { error: 'TOKEN_EXPIRED', message: 'expired' });
    });
    expect(await http.getUser('bob')).toEqual({ username: 'bob', uik: null, devices: [] });
    expect(saved).toEqual([{ accessToken: 'a2', refreshToken: 'r2' }]);
    expect(calls.map((c) => c.url)).toEqual([
      'http://ks.test/v1/users/bob',
      'http://ks.test/v1/sessions/refresh',
      'http://ks.test/v1/users/bob',
    ]);
    expect(JSON.parse(calls[1]!.init.body as string)).toEqual({ refreshToken: 'r1' });
  });

  it('shares one refresh between concurrent 401s', async () => {
    let refreshes = 0;
    // The refresh answers only once all three calls have had their 401, so every 401 is
    // certain to arrive while the refresh is still in flight (no timing window to hope for).
    let expired = 0;
    let allExpired!: () => void;
    const threeExpired = new Promise<void>((r) => (allExpired = r));
    const { http } = setup(async (url, init) => {
      if (url.endsWith('/refresh')) {
        refreshes += 1;
        await threeExpired;
        return json(200, { accessToken: 'a2', refreshToken: 'r2' });
      }
      const auth = (init.headers as Record<string, string>).authorization;
      if (auth === 'Bearer a2') return json(200, { oneTimePrekeys: 3, oneTimeKemPrekeys: 1 });
      expired += 1;
      if (expired === 3) allExpired();
      return json(401, { error: 'TOKEN_EXPIRED', message: '' });
    });
    const counts = await Promise.all([
      http.countPrekeys('d'),
      http.countPrekeys('d'),
      http.countPrekeys('d'),
    ]);
    expect(counts.map((c) => c.oneTimePrekeys)).toEqual([3, 3, 3]);
    expect(refreshes).toBe(1);
  });

  it('refuses authenticated calls before login without touching the network', async () => {
    const { http, calls } = setup(() => json(200, {}), null);
    await expect(http.getUser('bob')).rejects.toMatchObject({ code: 'NOT_LOGGED_IN' });
    expect(calls).toEqual([]);
  });

  it('uploads and downloads blobs as raw bytes', async () => {
    const { http, calls } = setup((url, init) =>
      init.method === 'POST' ? json(201, { id: 'blob1' }) : new Response(Uint8Array.of(1, 2, 3)),
    );
    expect(await http.uploadBlob(Uint8Array.of(9, 9))).toEqual({ id: 'blob1' });
    expect((calls[0]!.init.headers as Record<string, string>)['content-type']).toBe(
      'application/octet-stream',
    );
    expect(await http.downloadBlob('blob1')).toEqual(Uint8Array.of(1, 2, 3));
  });
});

describe('password change', () => {
  it('does not refresh on a wrong current password', async () => {
    const { http, calls, saved } = setup(() =>
      json(401, { error: 'INVALID_CREDENTIALS', message: 'wrong' }),
    );
    await expect(http.changePassword('wrong', 'new password')).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
      status: 401,
    });
    expect(calls.map((c) => c.url)).toEqual(['http://ks.test/v1/accounts/password']);
    expect(saved).toEqual([]);
  });

  it('refreshes an expired access token and retries the change', async () => {
    const { http, calls, saved } = setup((url, init) => {
      if (url.endsWith('/v1/sessions/refresh'))
        return json(200, { accessToken: 'a2', refreshToken: 'r2' });
      const auth = (init.headers as Record<string, string>).authorization;
      return auth === 'Bearer a2'
        ? json(200, { accessToken: 'a3', refreshToken: 'r3', deviceId: 'd' })
        : json(401, { error: 'UNAUTHORIZED', message: 'expired' });
    });
    await http.changePassword('old password', 'new password');
    expect(calls.map((c) => c.url.replace('http://ks.test', ''))).toEqual([
      '/v1/accounts/password',
      '/v1/sessions/refresh',
      '/v1/accounts/password',
    ]);
    expect(saved.map((t) => t.accessToken)).toEqual(['a2', 'a3']);
  });

  it('a refresh during the change waits for it and never presents the revoked refresh token', async () => {
    let answer!: () => void;
    let changeSent!: () => void;
    const changeInFlight = new Promise<void>((r) => (changeSent = r));
    const { http, calls, saved } = setup(async (url) => {
      if (url.endsWith('/v1/accounts/password')) {
        changeSent();
        await new Promise<void>((r) => (answer = r));
        return json(200, { accessToken: 'a2', refreshToken: 'r2', deviceId: 'd' });
      }
      return json(401, { error: 'INVALID_REFRESH_TOKEN', message: 'reused' });
    });
    const change = http.changePassword('old password', 'new password');
    await changeInFlight; // the change request is at the server, its answer held back
    const refreshed = http.refresh();
    // No wait for a refresh request to (wrongly) go out: `calls` below is read after both
    // settle, so a refresh request sent at any point, before or after the change answers,
    // shows up there; and one sent with the revoked token gets a 401 and rejects `refreshed`.
    answer();
    expect(await refreshed).toEqual({ accessToken: 'a2', refreshToken: 'r2', deviceId: 'd' });
    await change;
    expect(calls.map((c) => c.url)).toEqual(['http://ks.test/v1/accounts/password']);
    expect(saved.map((t) => t.accessToken)).toEqual(['a2']);
  });

  it('a refresh after a refused change refreshes as usual', async () => {
    const { http, saved } = setup((url) =>
      url.endsWith('/v1/sessions/refresh')
        ? json(200, { accessToken: 'a2', refreshToken: 'r2' })
        : json(401, { error: 'INVALID_CREDENTIALS', message: 'wrong' }),
    );
    const change = http.changePassword('wrong', 'new password');
    const refreshed = http.refresh();
    await expect(change).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    expect(await refreshed).toEqual({ accessToken: 'a2', refreshToken: 'r2' });
    expect(saved.map((t) => t.accessToken)).toEqual(['a2']);
  });
});
