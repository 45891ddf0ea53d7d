/**
 * Wake-up pushes end to end (docs/PROTOCOL.md §7 "Wake-up pushes"): the broker queues a DM for a
 * device that is offline, tells the key server, and the key server sends the device's push
 * subscription a content-free push. The push service is a local receiver that checks the VAPID
 * JWT and decrypts the aes128gcm body (test/support/push-receiver.ts); real push services (FCM)
 * cannot be reached from the test machines, so the server runs with the test-only
 * `--push-allow-private-endpoints`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePushMessage } from '@sotto/crypto/wire';
import { startPushReceiver, type PushReceiver } from '../../test/support/push-receiver.ts';
import type { ClientEvents, SottoClient } from '../src/engine.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
let receiver: PushReceiver;
const clients: SottoClient[] = [];
const client = (store = createMemoryStore()) => {
  const c = makeClient(srv, store);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  receiver = await startPushReceiver();
  srv = await startServer({ args: ['--push-allow-private-endpoints'] });
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
  await receiver?.close();
});

describe('wake-up pushes for offline devices', () => {
  it('pushes "wake" — no sender, no text — when a DM is queued for an offline device, and nothing while it is online', async () => {
    const alice = client();
    const bobStore = createMemoryStore();
    const bob = client(bobStore);
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery');
    const bobInfo = await bob.register(b, 'correct horse battery');
    await alice.start();
    await bob.start();
    await bob.http.setPushSubscription(bobInfo.deviceId, receiver.subscribe('bob'));

    // Online: delivered live, no push.
    const got: MessageRecord[] = [];
    bob.on('message', (m) => got.push(m));
    await alice.sendText(b, 'while you are here');
    await until(() => got.length === 1, 'bob receives live');

    // Offline (the broker's presence says so): queued, and woken.
    const seen: ClientEvents['presence'][] = [];
    alice.on('presence', (p) => seen.push(p));
    alice.watchPresence(b);
    await until(() => seen.some((p) => p.status === 'online'), 'bob online');
    await bob.close();
    await until(() => seen.some((p) => p.status === 'offline'), 'bob offline');
    const offlineAt = Date.now();
    const secret = 'the vault code is 4711';
    await alice.sendText(b, secret);
    await until(() => receiver.received.length > 0, 'the push');

    expect(receiver.rejected).toEqual([]);
    // The live message before woke nobody: the first push came after bob left (a push for the
    // live one would have come at once, and taken bob's push slot for 30 s).
    expect(receiver.received).toHaveLength(1);
    const push = receiver.received[0]!;
    expect(push.at).toBeGreaterThanOrEqual(offlineAt);
    expect(push.path).toBe('/bob');
    expect(decodePushMessage(push.plaintext)).toEqual({ v: 1, type: 'wake' });
    for (const leak of [secret, a, 'vault'])
      expect(push.plaintext.includes(Buffer.from(leak)), leak).toBe(false);
    expect(push.body.includes(Buffer.from(a))).toBe(false);

    // The woken device finds the message waiting.
    const bob2 = client(bobStore);
    const got2: MessageRecord[] = [];
    bob2.on('message', (m) => got2.push(m));
    await bob2.start();
    await until(() => got2.some((m) => (m.body as { text?: string }).text === secret), 'fetched');
  });
});
