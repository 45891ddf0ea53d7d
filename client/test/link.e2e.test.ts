/**
 * Linking a second device of the same user (PROTOCOL.md §13) against a real
 * key server and broker: the new device gets the UIK from the existing one
 * over its inbox, both devices then receive the user's DMs, each shows what
 * the other sent, contacts see no key change, and verification marks and
 * groups are synced. Bad, foreign and expired codes are refused with typed errors.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { equalBytes, decodeLinkCode, encodeLinkCode } from '@sotto/crypto';
import { freePort } from '../../test/support/ports.ts';
import { createClient } from '../src/engine.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import {
  clientPool,
  startServer,
  uname,
  until,
  type TestServer,
  codeOf,
} from './support/server.ts';

let srv: TestServer;
const pool = clientPool(() => srv);
const client = pool.client;
const PW = 'correct horse battery';

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await pool.closeAll();
  await srv?.close();
});

describe('linking a second device', () => {
  it('links from the existing device; both devices get DMs and show what the other sent', async () => {
    const a = uname('alice');
    const b = uname('bob');
    const alice1 = client();
    const bob = client();
    await alice1.register(a, PW);
    await bob.register(b, PW);
    await alice1.start();
    await bob.start();
    const keyChanges: unknown[] = [];
    bob.on('keyChange', (k) => keyChanges.push(k));

    // Some state worth syncing: a conversation, a verified contact, a group.
    const bobGot: MessageRecord[] = [];
    bob.on('message', (m) => bobGot.push(m));
    await alice1.sendText(b, 'before linking');
    await until(() => bobGot.length === 1, 'bob receives the first message');
    // Bob now holds Alice's device list (one device) in his directory cache.
    const early: MessageRecord[] = [];
    alice1.on('message', (m) => early.push(m));
    await bob.sendText(a, 'reply before linking');
    await until(() => early.length === 1, 'alice receives the reply');
    await alice1.trust.setVerified(b, true);
    const groupId = await alice1.groups.create('linked', [b]);

    // The new device: the password alone is not enough, it must be linked.
    const alice2 = client();
    expect(await codeOf(alice2.login(a, PW))).toBe('LINK_REQUIRED');
    const session = await alice2.link.begin(a, PW);
    expect(decodeLinkCode(session.code)).toMatchObject({ username: a });
    const approved = await alice1.link.approve(session.code);
    const linked = await session.linked;
    expect(linked.username).toBe(a);
    expect(approved.deviceId).toBe(linked.deviceId);
    expect(alice2.account).toMatchObject({ username: a, deviceId: linked.deviceId });
    await alice2.start();

    // Same user identity key, synced trust state and groups.
    const devices = await alice1.http.getUser(a);
    expect(devices.devices.map((d) => d.deviceId).sort()).toEqual(
      [alice1.account!.deviceId, linked.deviceId].sort(),
    );
    const bobOn1 = await alice1.trust.contact(b);
    const bobOn2 = await alice2.trust.contact(b);
    expect(bobOn2?.verified).toBe(true);
    expect(equalBytes(bobOn2!.uik!, bobOn1!.uik!)).toBe(true);
    expect((await alice2.groups.list()).map((g) => g.groupId)).toContain(groupId);
    expect(await alice2.trust.safetyNumber(b)).toBe(await alice1.trust.safetyNumber(b));

    // Device 2 → Bob: Bob sees a new device of Alice (no key change); device 1 gets the sync copy.
    const got1: MessageRecord[] = [];
    const got2: MessageRecord[] = [];
    alice1.on('message', (m) => got1.push(m));
    alice2.on('message', (m) => got2.push(m));
    await alice2.sendText(b, 'from the new device');
    await until(() => bobGot.length === 2, 'bob receives from device 2');
    expect(bobGot[1]).toMatchObject({ sender: a, senderDevice: linked.deviceId });
    await until(() => got1.length === 1, 'device 1 shows what device 2 sent');
    expect(got1[0]).toMatchObject({
      conversationId: `dm:${b}`,
      outgoing: true,
      body: { text: 'from the new device' },
    });

    // Bob → Alice: both devices get it.
    await bob.sendText(a, 'hello both');
    await until(() => got1.some((m) => m.body.text === 'hello both'), 'device 1 receives bob');
    await until(() => got2.some((m) => m.body.text === 'hello both'), 'device 2 receives bob');

    // Device 1 → Bob: shows on device 2 as sent by Alice.
    await alice1.sendText(b, 'from the old device');
    await until(
      () => got2.some((m) => m.body.text === 'from the old device'),
      'device 2 shows what device 1 sent',
    );
    expect(got2.find((m) => m.body.text === 'from the old device')).toMatchObject({
      conversationId: `dm:${b}`,
      outgoing: true,
      sender: a,
    });
    // The synced group works on the new device too.
    await bob.sendText(`group:${groupId}`, 'group hello');
    await until(
      () => got1.some((m) => m.body.text === 'group hello'),
      'device 1 receives the group message',
    );
    await until(
      () => got2.some((m) => m.body.text === 'group hello'),
      'device 2 receives the group message',
    );
    expect(keyChanges).toEqual([]);
    // Our own devices are not contacts.
    expect(await alice1.trust.contact(a)).toBeNull();
    expect(await alice2.trust.contact(a)).toBeNull();
  });

  it('refuses garbage, codes of another user, stale codes and codes made on this device', async () => {
    const a = uname('alice');
    const c = uname('carol');
    const alice1 = client();
    const carol1 = client();
    await alice1.register(a, PW);
    await carol1.register(c, PW);
    await alice1.start();

    expect(await codeOf(alice1.link.approve('not a code'))).toBe('BAD_CODE');

    const carol2 = client();
    const carolSession = await carol2.link.begin(c, PW);
    expect(await codeOf(alice1.link.approve(carolSession.code))).toBe('WRONG_USER');
    carolSession.cancel();
    expect(await codeOf(carolSession.linked)).toBe('LINK_CANCELLED');

    const alice2 = client();
    const short = await alice2.link.begin(a, PW, { ttlMs: 300 });
    expect(await codeOf(short.linked)).toBe('LINK_EXPIRED');
    expect(await codeOf(alice1.link.approve(short.code))).toBe('LINK_EXPIRED');
    expect(alice2.account).toBeNull();

    const own = decodeLinkCode((await client().link.begin(a, PW)).code);
    own.deviceId = alice1.account!.deviceId;
    expect(await codeOf(alice1.link.approve(encodeLinkCode(own)))).toBe('BAD_CODE');
  });

  it('keeps waiting through a bundle sealed for a tampered code, then expires', async () => {
    const a = uname('alice');
    const alice1 = client();
    await alice1.register(a, PW);
    await alice1.start();
    const alice2 = client();
    const errors: unknown[] = [];
    alice2.on('error', (e) => errors.push(e));
    const session = await alice2.link.begin(a, PW, { ttlMs: 3000 });
    // Same device and key, another secret: what the existing device seals cannot be opened.
    const tampered = decodeLinkCode(session.code);
    tampered.secret = tampered.secret.map((x) => x ^ 0x55);
    expect(await codeOf(alice1.link.approve(encodeLinkCode(tampered)))).toBe('LINK_EXPIRED');
    expect(await codeOf(session.linked)).toBe('LINK_EXPIRED');
    expect(errors.some((e) => (e as { code?: string }).code === 'DECRYPT_FAILED')).toBe(true);
    expect(alice2.account).toBeNull();
    expect((await alice1.http.getUser(a)).devices).toHaveLength(1);
  });

  it('waits for the link on the next broker when the first one is down', async () => {
    const a = uname('alice');
    const alice1 = client();
    await alice1.register(a, PW);
    await alice1.start();
    const dead = `mqtt://127.0.0.1:${await freePort()}`;
    const brokers = [dead, srv.mqttUrl];
    const alice2 = createClient({
      store: createMemoryStore(),
      http: { baseUrl: srv.httpUrl },
      brokers,
      mqttConnect: (o) => mqtt.connect(dead, { ...o, reconnectPeriod: 100 }),
    });
    pool.track(alice2);
    const session = await alice2.link.begin(a, PW);
    await alice1.link.approve(session.code);
    expect((await session.linked).username).toBe(a);
  });

  it('is not offered for a user without an identity key yet', async () => {
    const a = uname('alice');
    const signup = client();
    await signup.http.signUp(a, PW);
    expect(await codeOf(client().link.begin(a, PW))).toBe('BAD_INPUT');
  });
});
