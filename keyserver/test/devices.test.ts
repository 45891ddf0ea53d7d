/**
 * Issue 19: the devices page — names (browser and system by default, editable), kind, created
 * and last-active times, the current device marked — and removing a device, which needs a
 * recent password or passkey (step-up), tells the device, revokes its tokens and drops its keys.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  bearer,
  login,
  makeServer,
  registeredDevice,
  signupAndLogin,
  type TestServer,
} from './fixtures.ts';

const PASSWORD = 'correct horse battery';
const T0 = Date.UTC(2030, 0, 1);
const MIN = 60_000;
const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const FIREFOX_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0';

let s: TestServer | undefined;
let clock = T0;
afterEach(async () => {
  await s?.close();
  s = undefined;
  clock = T0;
});

async function server(): Promise<TestServer> {
  s = await makeServer({ now: () => clock });
  return s;
}

async function loginAs(
  srv: TestServer,
  deviceId: string,
  ua: string,
  extra: object = {},
  username = 'alice',
) {
  const r = await srv.app.inject({
    method: 'POST',
    url: '/v1/sessions',
    headers: { 'user-agent': ua },
    payload: { username, password: PASSWORD, deviceId, ...extra },
  });
  expect(r.statusCode).toBe(200);
  return r.json<{ accessToken: string; refreshToken: string }>();
}

const list = async (srv: TestServer, token: string) => {
  const r = await srv.app.inject({ method: 'GET', url: '/v1/me/devices', headers: bearer(token) });
  expect(r.statusCode).toBe(200);
  return r.json<{ devices: Record<string, unknown>[] }>().devices;
};

describe('the devices list', () => {
  it('names devices by browser and system or as the CLI, marks the current one, newest activity first', async () => {
    const srv = await server();
    await signupAndLogin(srv.app, 'alice', 'seed');
    clock += MIN;
    const web = await loginAs(srv, 'web1', CHROME_LINUX);
    clock += MIN;
    await loginAs(srv, 'mac1', FIREFOX_MAC);
    clock += MIN;
    await loginAs(srv, 'cli1', 'node', { platform: 'cli' });
    const devices = await list(srv, web.accessToken);
    expect(devices.map((d) => d.deviceId)).toEqual(['cli1', 'mac1', 'web1', 'seed']);
    expect(devices.find((d) => d.deviceId === 'web1')).toEqual({
      deviceId: 'web1',
      name: 'Chrome on Linux',
      kind: 'web',
      createdAt: T0 + MIN,
      lastActiveAt: T0 + MIN,
      current: true,
    });
    expect(devices.find((d) => d.deviceId === 'mac1')).toMatchObject({
      name: 'Firefox on macOS',
      kind: 'web',
      current: false,
    });
    expect(devices.find((d) => d.deviceId === 'cli1')).toMatchObject({
      name: 'sotto CLI',
      kind: 'cli',
    });
  });

  it('shows bots by their certificate kind and moves last-active on refresh', async () => {
    const srv = await server();
    const bot = await registeredDevice(srv.app, 'alice', 'bot1', { kind: 'bot' });
    clock += 10 * MIN;
    const r = await srv.app.inject({
      method: 'POST',
      url: '/v1/sessions/refresh',
      payload: { refreshToken: bot.refreshToken },
    });
    expect(r.statusCode).toBe(200);
    const [d] = await list(srv, r.json<{ accessToken: string }>().accessToken);
    expect(d).toMatchObject({ deviceId: 'bot1', kind: 'bot', lastActiveAt: T0 + 10 * MIN });
  });

  it('renames the caller’s own devices only, with a clear 400 for bad names', async () => {
    const srv = await server();
    const a = await signupAndLogin(srv.app, 'alice', 'a1');
    await login(srv.app, 'alice', 'a2');
    const b = await signupAndLogin(srv.app, 'bob', 'b1');
    const rename = (token: string, dev: string, name: unknown) =>
      srv.app.inject({
        method: 'PATCH',
        url: `/v1/me/devices/${dev}`,
        headers: bearer(token),
        payload: { name },
      });
    const ok = await rename(a.accessToken, 'a2', '  Work laptop ');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ deviceId: 'a2', name: 'Work laptop', current: false });
    // Bob cannot rename Alice's device, nor learn that it exists.
    const foreign = await rename(b.accessToken, 'a2', 'mine now');
    expect(foreign.statusCode).toBe(404);
    expect((await srv.store.getDevice('alice', 'a2'))?.name).toBe('Work laptop');
    for (const bad of ['', '   ', 'x'.repeat(65), null, ['a', 'b']]) {
      const r = await rename(a.accessToken, 'a2', bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.json().error).toBe('VALIDATION_FAILED');
    }
  });
});

describe('removing a device', () => {
  it('needs a recent password, tells the device, revokes its tokens and keys and forgets it', async () => {
    const srv = await server();
    const keep = await registeredDevice(srv.app, 'alice', 'keep');
    const lost = await registeredDevice(srv.app, 'alice', 'lost', { uik: keep.uik });
    clock += 6 * MIN;
    // A token refreshed from a 6-minute-old login: not enough to remove a device.
    const refreshed = await srv.app.inject({
      method: 'POST',
      url: '/v1/sessions/refresh',
      payload: { refreshToken: keep.refreshToken },
    });
    const stale = refreshed.json<{ accessToken: string }>().accessToken;
    const remove = (token: string, dev: string) =>
      srv.app.inject({ method: 'DELETE', url: `/v1/me/devices/${dev}`, headers: bearer(token) });
    const refused = await remove(stale, 'lost');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('REAUTH_REQUIRED');
    expect(await srv.store.isDeviceActive('alice', 'lost')).toBe(true);
    expect(srv.notices).toHaveLength(0);

    const own = await remove(stale, 'keep');
    expect(own.json().error).toBe('CURRENT_DEVICE');

    const stepUp = await srv.app.inject({
      method: 'POST',
      url: '/v1/sessions/step-up',
      headers: bearer(stale),
      payload: { password: PASSWORD },
    });
    const fresh = stepUp.json<{ accessToken: string }>().accessToken;
    srv.events.length = 0;
    expect((await remove(fresh, 'lost')).statusCode).toBe(204);

    expect(srv.notices).toEqual([
      {
        topic: 'sotto/v1/control/alice/lost',
        notice: { type: 'device-removed', reason: 'removed' },
      },
    ]);
    expect(srv.events).toContainEqual({
      type: 'device-revoked',
      username: 'alice',
      deviceId: 'lost',
    });
    expect(srv.events.some((e) => e.type === 'token-revoked' && e.deviceId === 'lost')).toBe(true);
    // Its access and refresh tokens stop working; its keys leave the directory.
    const withLost = await srv.app.inject({
      method: 'GET',
      url: '/v1/me/devices',
      headers: bearer(lost.accessToken),
    });
    expect(withLost.statusCode).toBe(401);
    const refresh = await srv.app.inject({
      method: 'POST',
      url: '/v1/sessions/refresh',
      payload: { refreshToken: lost.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    const dir = await srv.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(fresh),
    });
    expect(dir.json<{ devices: { deviceId: string }[] }>().devices.map((d) => d.deviceId)).toEqual([
      'keep',
    ]);
    expect((await list(srv, fresh)).map((d) => d.deviceId)).toEqual(['keep']);
    expect((await remove(fresh, 'lost')).statusCode).toBe(404);
  });

  it('cannot remove another user’s device', async () => {
    const srv = await server();
    await registeredDevice(srv.app, 'alice', 'a1');
    const bob = await signupAndLogin(srv.app, 'bob', 'b1');
    const r = await srv.app.inject({
      method: 'DELETE',
      url: '/v1/me/devices/a1',
      headers: bearer(bob.accessToken),
    });
    expect(r.statusCode).toBe(404);
    expect(await srv.store.isDeviceActive('alice', 'a1')).toBe(true);
    expect(srv.notices).toHaveLength(0);
  });
});
