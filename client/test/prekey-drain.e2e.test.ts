/**
 * Issue 14, item 6, end to end: accounts that drain a device's one-time prekeys (each within its
 * per-claimant cap) make the key server send the device a `prekeys-low` control notice over MQTT;
 * an engine that hears it tops its prekeys up at once and emits a PREKEYS_DRAINED
 * `securityNotice`, so the next first message gets one-time keys again instead of the
 * last-resort KEM prekey. Real key server + broker (embedded), real MQTT.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { controlTopic, decodeKemPrekey, deviceClientId, fromBase64 } from '@sotto/crypto';
import type { SecurityNotice } from '../src/internal/context.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { makeClient, uname, until } from './support/server.ts';
import { serverFixture } from './support/fixture.ts';

const PASSWORD = 'correct horse battery';
const { server, pool } = serverFixture();

async function api<T>(method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const r = await fetch(`${server().httpUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return (r.status === 204 ? undefined : await r.json()) as T;
}

/** A fresh account with one logged-in device (no keys): a would-be drainer. */
async function account(): Promise<string> {
  const username = uname('m');
  await api('POST', '/v1/accounts', undefined, { username, password: PASSWORD });
  const s = await api<{ accessToken: string }>('POST', '/v1/sessions', undefined, {
    username,
    password: PASSWORD,
  });
  return s.accessToken;
}

interface Bundle {
  kemPrekey: string;
  oneTimePrekey: string | null;
}
const claim = (token: string, user: string, device: string) =>
  api<Bundle>('POST', `/v1/users/${user}/devices/${device}/bundle`, token);
const oneTimeKem = (b: Bundle) => !decodeKemPrekey(fromBase64(b.kemPrekey)).lastResort;

describe('one-time prekey draining', () => {
  it('caps one account at 5 one-time prekeys of a device; the rest come without', async () => {
    const victim = pool.client();
    const v = await victim.register(uname('v'), PASSWORD);
    const mallory = await account();
    const got: Bundle[] = [];
    for (let i = 0; i < 8; i++) got.push(await claim(mallory, v.username, v.deviceId));
    expect(got.map((b) => b.oneTimePrekey !== null)).toEqual([
      ...Array<boolean>(5).fill(true),
      ...Array<boolean>(3).fill(false),
    ]);
    expect(got.map(oneTimeKem)).toEqual([
      ...Array<boolean>(5).fill(true),
      ...Array<boolean>(3).fill(false),
    ]);
  });

  it('delivers a prekeys-low notice on the drained device’s control topic', async () => {
    const store = createMemoryStore();
    const victim = pool.track(makeClient(server(), store));
    const v = await victim.register(uname('v'), PASSWORD); // keys uploaded; never started
    const token = (await store.getAccount())?.accessToken;
    if (!token) throw new Error('no token');
    const sub = mqtt.connect(server().mqttUrl, {
      clientId: deviceClientId(v.username, v.deviceId),
      username: deviceClientId(v.username, v.deviceId),
      password: token,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
    });
    const notices: unknown[] = [];
    try {
      await sub.subscribeAsync(controlTopic(v.username, v.deviceId), { qos: 1 });
      sub.on('message', (_t, payload) => notices.push(JSON.parse(payload.toString('utf8'))));
      // Ten one-time KEM prekeys (the engine's default): two accounts within their caps take
      // six, leaving four — below the key server's low-water mark of five.
      const drainers = [await account(), await account()];
      for (let i = 0; i < 6; i++) await claim(drainers[i % 2]!, v.username, v.deviceId);
      await until(() => notices.length > 0, 'the control notice');
      expect(notices).toEqual([{ type: 'prekeys-low', remaining: 4 }]);
    } finally {
      await sub.endAsync();
    }
  });

  it('an engine that hears the notice tops up at once and emits a PREKEYS_DRAINED security notice', async () => {
    const store = createMemoryStore();
    const victim = pool.track(makeClient(server(), store));
    const v = await victim.register(uname('v'), PASSWORD);
    const notices: SecurityNotice[] = [];
    victim.on('securityNotice', (n) => notices.push(n));
    await victim.start();
    const count = async () => {
      const token = (await store.getAccount())?.accessToken;
      return api<{ oneTimePrekeys: number; oneTimeKemPrekeys: number }>(
        'GET',
        `/v1/devices/${v.deviceId}/keys/count`,
        token ?? undefined,
      );
    };
    const before = await count();
    expect(before.oneTimeKemPrekeys).toBe(10);
    // Two accounts take all ten one-time KEM prekeys (five each: within their caps).
    const drainers = [await account(), await account()];
    for (let i = 0; i < 10; i++) await claim(drainers[i % 2]!, v.username, v.deviceId);
    await until(() => notices.length > 0, 'the securityNotice');
    expect(notices[0]).toMatchObject({
      code: 'PREKEYS_DRAINED',
      user: v.username,
      device: v.deviceId,
      conversationId: null,
      message: 'one-time prekeys are being claimed unusually fast; replenished',
    });
    expect(typeof notices[0]?.at).toBe('number');
    // The top-up reached the key server: a newcomer's first claim gets a one-time KEM prekey.
    await until(async () => (await count()).oneTimeKemPrekeys > 0, 'the top-up');
    const fresh = await claim(await account(), v.username, v.deviceId);
    expect(oneTimeKem(fresh)).toBe(true);
    expect(fresh.oneTimePrekey).not.toBeNull();
  });
});
