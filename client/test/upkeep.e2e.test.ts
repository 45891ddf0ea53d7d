/**
 * Key upkeep, typing and presence against the real key server and broker:
 * one-time prekeys are topped up when claims drain them, the signed prekey
 * rotates after a week (and sessions still start), typing indicators and
 * broker presence reach the other side.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SottoClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('key upkeep', () => {
  it('tops up drained one-time prekeys and rotates the signed prekey after a week', async () => {
    let clock = Date.now();
    const bob = createClient({
      store: createMemoryStore(),
      http: { baseUrl: srv.httpUrl },
      mqttConnect: (o) => mqtt.connect(srv.mqttUrl, o),
      now: () => clock,
      options: { oneTimePrekeys: 4, oneTimeKemPrekeys: 2, prekeyThreshold: 3 },
    });
    clients.push(bob);
    const b = uname('bob');
    await bob.register(b, 'correct horse battery');
    const deviceId = bob.account!.deviceId;
    expect(await bob.http.countPrekeys(deviceId)).toEqual({
      oneTimePrekeys: 4,
      oneTimeKemPrekeys: 2,
    });

    // Three other users claim bundles: one one-time prekey of each kind each.
    for (let i = 0; i < 3; i++) {
      const c = makeClient(srv);
      clients.push(c);
      await c.register(uname('claim'), 'correct horse battery');
      await c.http.claimBundle(b, deviceId);
    }
    expect((await bob.http.countPrekeys(deviceId)).oneTimePrekeys).toBe(1);
    await bob.maintainKeys();
    // 4 − 3 + 4 X25519; the X-Wing batch ran out (the third claim got the last-resort key): 0 + 2.
    expect(await bob.http.countPrekeys(deviceId)).toEqual({
      oneTimePrekeys: 5,
      oneTimeKemPrekeys: 2,
    });

    const signedBefore = (await bob.store.listPrekeys('signed')).map((p) => p.id);
    clock += 8 * 24 * 3600 * 1000;
    await bob.maintainKeys();
    const signedAfter = (await bob.store.listPrekeys('signed')).map((p) => p.id);
    expect(signedAfter.length).toBe(signedBefore.length + 1);

    // A new contact starts a session on the rotated signed prekey.
    const carol = makeClient(srv);
    clients.push(carol);
    await carol.register(uname('carol'), 'correct horse battery');
    await carol.start();
    await bob.start();
    const got: string[] = [];
    bob.on('message', (m) => got.push(m.body.text as string));
    await carol.sendText(b, 'after rotation');
    await until(() => got.includes('after rotation'), 'bob decrypts');
  });
});

describe('typing and presence', () => {
  it('shows typing indicators and broker presence to the other side', async () => {
    const alice = makeClient(srv);
    const bob = makeClient(srv);
    clients.push(alice, bob);
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery');
    await bob.register(b, 'correct horse battery');
    await alice.start();
    const presence: { user: string; status: string }[] = [];
    alice.on('presence', (p) => presence.push(p));
    alice.watchPresence(b);
    await bob.start();
    await until(() => presence.some((p) => p.user === b && p.status === 'online'), 'bob online');

    const typing: { conversationId: string; user: string; typing: boolean; at: number }[] = [];
    alice.on('typing', (t) => typing.push(t));
    await bob.setTyping(a, true);
    await until(() => typing.length === 1, 'typing');
    expect(typing[0]).toMatchObject({ conversationId: `dm:${b}`, user: b, typing: true });
    expect(typing[0]?.at).toBeGreaterThan(0);
    // Typing is never stored as a message.
    expect(await alice.store.listMessages(`dm:${b}`)).toEqual([]);

    await bob.close();
    await until(() => presence.some((p) => p.user === b && p.status === 'offline'), 'bob offline');
  });
});
