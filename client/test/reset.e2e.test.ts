/**
 * Resetting the identity from a set-up device (engine.resetIdentity, docs/CLIENT.md
 * "Resetting the identity") against a real key server and broker: a wrong password changes
 * nothing; then the device gets a new id, UIK and certificate, the user's other (linked) device
 * is signed out, a contact sees the key change (the verified mark blocks sending until
 * accepted, then the safety number is new and unverified), the own-key monitor raises no alert
 * for the replaced key, and DMs flow both ways over new sessions. The removed device, logging
 * in again, is told to link (its old key is not resumed) and can be linked again. A leaf under
 * the old key that the monitor could not read before the reset is no alert afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64 } from '@sotto/crypto';
import { isApiError } from '../src/http.ts';
import { isClientError } from '../src/errors.ts';
import type { OwnKeyAlert } from '../src/internal/context.ts';
import type { MessageRecord } from '../src/store/types.ts';
import mqtt from 'mqtt';
import { createClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { clientPool, startServer, uname, until, type TestServer } from './support/server.ts';

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

describe('resetting the identity from a set-up device', () => {
  it('replaces the UIK, removes the other devices, and contacts see a key change', async () => {
    const a = uname('alice');
    const b = uname('bob');
    const alice = client();
    const bob = client();
    await alice.register(a, PW);
    await bob.register(b, PW);
    await alice.start();
    await bob.start();
    const alice2 = client();
    const session = await alice2.link.begin(a, PW);
    await alice.link.approve(session.code);
    await session.linked;
    await alice2.start();
    const alice2States: string[] = [];
    alice2.on('connection', (c) => alice2States.push(c.state));

    const bobGot: MessageRecord[] = [];
    bob.on('message', (m) => bobGot.push(m));
    const aliceGot: MessageRecord[] = [];
    alice.on('message', (m) => aliceGot.push(m));
    await alice.sendText(b, 'before');
    await until(() => bobGot.some((m) => m.body.text === 'before'), 'bob receives "before"');
    await bob.trust.setVerified(a, true);
    await alice.trust.setVerified(b, true);
    const snBefore = await bob.trust.safetyNumber(a);
    const alerts: OwnKeyAlert[] = [];
    alice.on('ownKeyAlert', (x) => alerts.push(x));
    const oldAccount = (await alice.store.getAccount())!;
    // (Bob may learn of the change from a resent message before he looks himself.)
    const changes: { user: string; verified: boolean; blocked: boolean }[] = [];
    bob.on('keyChange', (e) => changes.push(e));

    // A wrong password changes nothing and keeps the connection.
    const wrong = await alice.resetIdentity('not the password').catch((e: unknown) => e);
    expect(isApiError(wrong, 'INVALID_CREDENTIALS')).toBe(true);
    expect((await alice.store.getAccount())!.deviceId).toBe(oldAccount.deviceId);
    expect(alice.connectionState).toBe('online');

    const info = await alice.resetIdentity(PW);
    expect(info.username).toBe(a);
    expect(info.deviceId).not.toBe(oldAccount.deviceId);
    expect(alice.connectionState).toBe('online');
    const now = (await alice.store.getAccount())!;
    expect(toBase64(now.uik.publicKey)).not.toBe(toBase64(oldAccount.uik.publicKey));
    const user = await bob.http.getUser(a);
    expect(user.uik).toBe(toBase64(now.uik.publicKey));
    expect(user.devices.map((d) => d.deviceId)).toEqual([info.deviceId]);
    // Alice's own marks went with the old safety numbers.
    expect((await alice.trust.contact(b))?.verified).toBe(false);

    // The linked device is signed out (its tokens were revoked with the reset).
    await until(() => alice2States.includes('signed-out'), 'alice2 signed out');

    // Bob sees the change: his verified mark blocks sending until he accepts it.
    await bob.trust.refresh(a);
    expect(changes).toEqual([{ user: a, verified: true, blocked: true }]);
    const blocked = await bob.sendText(a, 'still you?').catch((e: unknown) => e);
    expect(isClientError(blocked, 'KEY_CHANGED')).toBe(true);
    await bob.trust.acceptKeyChange(a);
    const snAfter = await bob.trust.safetyNumber(a);
    expect(snAfter).not.toBe(snBefore);
    expect(await alice.trust.safetyNumber(b)).toBe(snAfter);
    expect((await bob.trust.contact(a))?.verified).toBe(false);

    // Messages flow both ways over new sessions.
    await bob.sendText(a, 'welcome back');
    await until(() => aliceGot.some((m) => m.body.text === 'welcome back'), 'alice reads bob');
    await alice.sendText(b, 'thanks');
    await until(() => bobGot.some((m) => m.body.text === 'thanks'), 'bob reads alice');

    // Her own monitor does not mistake the deliberate reset for a forged key.
    expect(await alice.trust.checkOwnKeys()).toEqual([]);
    expect(alerts).toEqual([]);

    // The removed device cannot come back with the old key: logging in again says to link it
    // (its old identity's state is retired), and linking it from the reset device works.
    const relogin = await alice2.login(a, PW).catch((e: unknown) => e);
    expect(isClientError(relogin, 'LINK_REQUIRED')).toBe(true);
    expect((await alice2.store.getAccount())?.certificate).toBeNull();
    expect(await alice2.store.listSessionDevices(b)).toEqual([]);
    const relink = await alice2.link.begin(a, PW);
    await alice.link.approve(relink.code);
    await relink.linked;
    await alice2.start();
    const alice2Got: MessageRecord[] = [];
    alice2.on('message', (m) => alice2Got.push(m));
    await bob.trust.refresh(a);
    await bob.sendText(a, 'to both again');
    await until(() => alice2Got.some((m) => m.body.text === 'to both again'), 'relinked reads');
    expect(await alice2.trust.safetyNumber(b)).toBe(snAfter);
    expect(alerts).toEqual([]);
  });
  it('does not alarm about log entries of the replaced key it could not read before the reset', async () => {
    const a = uname('alice');
    // Alice's engine, with a switch that makes the key log's entries unreadable.
    let logDown = false;
    const alice = createClient({
      store: createMemoryStore(),
      http: {
        baseUrl: srv.httpUrl,
        fetch: (input, init) =>
          logDown &&
          String(input instanceof Request ? input.url : input).includes('/v1/log/entries')
            ? Promise.reject(new TypeError('log unreachable'))
            : fetch(input, init),
      },
      mqttConnect: (o) => mqtt.connect(srv.mqttUrl, { ...o, reconnectPeriod: 200 }),
    });
    pool.track(alice);
    const alerts: OwnKeyAlert[] = [];
    alice.on('ownKeyAlert', (x) => alerts.push(x));
    await alice.register(a, PW);
    await alice.start();
    expect(await alice.trust.checkOwnKeys()).toEqual([]);

    // A second device is linked (a leaf under the old key) while Alice cannot read the log, and
    // she resets before she could: her look-up before the reset fails too.
    logDown = true;
    const alice2 = client();
    const session = await alice2.link.begin(a, PW);
    await alice.link.approve(session.code);
    await session.linked;
    await alice.resetIdentity(PW);

    // Once the log is readable, the old key's leaf is history, not a forged identity.
    logDown = false;
    expect(await alice.trust.checkOwnKeys()).toEqual([]);
    expect(alerts).toEqual([]);
  });
});
