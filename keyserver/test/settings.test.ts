import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, makeServer, signupAndLogin, type TestServer } from './fixtures.ts';

let s: TestServer;
let alice: string;
let bob: string;
beforeEach(async () => {
  s = await makeServer();
  alice = (await signupAndLogin(s.app, 'alice')).accessToken;
  bob = (await signupAndLogin(s.app, 'bob')).accessToken;
});
afterEach(async () => {
  await s.close();
});

const get = (token: string) =>
  s.app.inject({ method: 'GET', url: '/v1/me/settings', headers: bearer(token) });
const put = (token: string, payload: Record<string, unknown>) =>
  s.app.inject({ method: 'PUT', url: '/v1/me/settings', headers: bearer(token), payload });

describe('/v1/me/settings', () => {
  it('starts with presence visible', async () => {
    const r = await get(alice);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ presenceVisible: true });
  });

  it('hides presence for the caller only and tells the brokers', async () => {
    const r = await put(alice, { presenceVisible: false });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ presenceVisible: false });
    expect((await get(alice)).json()).toEqual({ presenceVisible: false });
    expect((await get(bob)).json()).toEqual({ presenceVisible: true });
    expect(s.events).toContainEqual({
      type: 'presence-visibility',
      username: 'alice',
      visible: false,
    });
    await put(alice, { presenceVisible: true });
    expect((await get(alice)).json()).toEqual({ presenceVisible: true });
    expect(s.events.filter((e) => e.type === 'presence-visibility')).toEqual([
      { type: 'presence-visibility', username: 'alice', visible: false },
      { type: 'presence-visibility', username: 'alice', visible: true },
    ]);
  });

  it('refuses an empty, unknown or mistyped change with 400 and changes nothing', async () => {
    for (const body of [{}, { presenceVisible: 'no' }, { presenceVisible: false, theme: 'x' }]) {
      const r = await put(alice, body);
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toBe('VALIDATION_FAILED');
    }
    expect((await get(alice)).json()).toEqual({ presenceVisible: true });
    expect(s.events.some((e) => e.type === 'presence-visibility')).toBe(false);
  });

  it('requires a valid access token', async () => {
    expect((await get('nope')).statusCode).toBe(401);
    expect(
      (
        await s.app.inject({
          method: 'PUT',
          url: '/v1/me/settings',
          payload: { presenceVisible: false },
        })
      ).statusCode,
    ).toBe(401);
  });
});
