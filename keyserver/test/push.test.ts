/**
 * Web Push subscriptions and wake-up pushes (docs/API.md "Push subscriptions", docs/SECURITY.md
 * "Web Push"), against a local receiver that checks the request as a push service and a browser
 * would (test/support/push-receiver.ts): the real push services cannot be reached from here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePushMessage } from '@sotto/crypto/wire';
import { createMemoryWakeBus, createSqliteStore, type WakeBus } from '@sotto/server-core/store';
import { waitFor } from '../../test/support/ports.ts';
import { startPushReceiver, type PushReceiver } from '../../test/support/push-receiver.ts';
import {
  createPushSender,
  generateVapidKeys,
  isPublicAddress,
  publicOnlyLookup,
} from '../src/push.ts';
import { bearer, makeServer, signupAndLogin, type TestServer } from './fixtures.ts';

const until = (check: () => boolean, what: string) => waitFor(check, { what });

const GROUP = 'g0123456789abcdefghijk';

describe('push subscriptions in production configuration', () => {
  let srv: TestServer;
  let alice: { accessToken: string };
  let bob: { accessToken: string };
  beforeAll(async () => {
    srv = await makeServer();
    alice = await signupAndLogin(srv.app, 'alice', 'a1');
    bob = await signupAndLogin(srv.app, 'bob', 'b1');
    // Building the app and two Argon2 logins: more than the default 10 s on a loaded machine.
  }, 60_000);
  afterAll(() => srv.close());

  const put = (token: string, deviceId: string, endpoint: string) =>
    srv.app.inject({
      method: 'PUT',
      url: `/v1/devices/${deviceId}/push`,
      headers: bearer(token),
      payload: {
        endpoint,
        keys: { p256dh: Buffer.alloc(65, 4).toString('base64url'), auth: 'AAAAAAAAAAAAAAAAAAAAAA' },
      },
    });

  it("refuses a subscription for another user's device, and keeps that device's own", async () => {
    expect((await put(alice.accessToken, 'a1', 'https://push.example.com/alice')).statusCode).toBe(
      204,
    );
    const r = await put(bob.accessToken, 'a1', 'https://push.example.com/bob-steals');
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ error: 'FORBIDDEN' });
    expect((await srv.store.getPushSubscription('alice', 'a1'))?.endpoint).toBe(
      'https://push.example.com/alice',
    );
    expect(await srv.store.getPushSubscription('bob', 'a1')).toBeNull();
    const del = await srv.app.inject({
      method: 'DELETE',
      url: '/v1/devices/a1/push',
      headers: bearer(bob.accessToken),
    });
    expect(del.statusCode).toBe(403);
    expect(await srv.store.getPushSubscription('alice', 'a1')).not.toBeNull();
  });

  it('refuses endpoints on loopback, private and link-local addresses, plain http and credentials (SSRF)', async () => {
    for (const endpoint of [
      'https://127.0.0.1/p',
      'https://127.1.2.3:8443/p',
      'https://localhost/p',
      'https://localhost./p',
      'https://metadata.internal/p',
      'https://[::1]/p',
      'https://[::ffff:127.0.0.1]/p',
      'https://[fe80::1]/p',
      'https://[fd00::1]/p',
      'https://10.0.0.5/p',
      'https://172.16.9.9/p',
      'https://192.168.1.1/p',
      'https://169.254.169.254/latest/meta-data',
      'https://0.0.0.0/p',
      'https://intranet/p',
      'http://push.example.com/p',
      'https://user:pw@push.example.com/p',
      'file:///etc/passwd',
    ]) {
      const r = await put(alice.accessToken, 'a1', endpoint);
      expect(r.statusCode, endpoint).toBe(400);
      expect(r.json().error, endpoint).toBe('PUSH_ENDPOINT_REFUSED');
    }
    expect(
      (await put(alice.accessToken, 'a1', 'https://fcm.googleapis.com/fcm/send/x')).statusCode,
    ).toBe(204);
  });

  it('refuses keys that are not an uncompressed P-256 point and a 16-byte secret', async () => {
    const r = await srv.app.inject({
      method: 'PUT',
      url: '/v1/devices/a1/push',
      headers: bearer(alice.accessToken),
      payload: { endpoint: 'https://push.example.com/x', keys: { p256dh: 'AAAA', auth: 'AAAA' } },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('MALFORMED_KEY');
  });

  it('never connects to a name that resolves to a private address (checked on every send)', async () => {
    const answer = await new Promise<Error | null>((resolve) =>
      publicOnlyLookup('localhost', {}, (err) => resolve(err)),
    );
    expect(answer?.message).toMatch(/private address/);
    for (const ip of ['127.0.0.1', '::1', '10.1.1.1', '::ffff:192.168.0.1', 'fe80::2'])
      expect(isPublicAddress(ip), ip).toBe(false);
    for (const ip of ['142.250.74.10', '2a00:1450:4001:82b::200a'])
      expect(isPublicAddress(ip), ip).toBe(true);
  });

  it('sends nothing to a private endpoint that got into the store some other way', async () => {
    const receiver = await startPushReceiver();
    try {
      const store = createSqliteStore({ filename: ':memory:' });
      await store.createUser({ username: 'carol', passwordHash: 'h', createdAt: 1 });
      await store.activateDevice('carol', 'c1');
      const sub = receiver.subscribe('carol');
      await store.setPushSubscription('carol', 'c1', {
        endpoint: sub.endpoint,
        ...sub.keys,
        createdAt: 1,
      });
      const sender = createPushSender({
        store,
        vapid: generateVapidKeys(),
        subject: 'mailto:ops@example.com',
        intervalMs: 1000,
        allowPrivateEndpoints: false,
      });
      expect(await sender.wake({ username: 'carol', deviceId: 'c1', groupId: null })).toBe(
        'refused',
      );
      expect(receiver.received).toHaveLength(0);
      await store.close();
    } finally {
      await receiver.close();
    }
  });
});

describe('wake-up pushes (local push receiver, test-only private endpoints)', () => {
  let srv: TestServer;
  let receiver: PushReceiver;
  let wakes: WakeBus;
  let alice: { accessToken: string };

  beforeAll(async () => {
    receiver = await startPushReceiver();
    wakes = createMemoryWakeBus();
    srv = await makeServer({
      wakes,
      config: { pushAllowPrivateEndpoints: true, pushIntervalMs: 60_000 },
    });
    alice = await subscribed('alice', 'a1');
    await subscribed('bob', 'b1');
  }, 60_000);
  afterAll(async () => {
    await srv.close();
    await wakes.close();
    await receiver.close();
  });

  /** A new account whose device `dev` subscribes at the receiver's `/{dev}`. */
  async function subscribed(name: string, dev: string): Promise<{ accessToken: string }> {
    const session = await signupAndLogin(srv.app, name, dev);
    const r = await srv.app.inject({
      method: 'PUT',
      url: `/v1/devices/${dev}/push`,
      headers: bearer(session.accessToken),
      payload: receiver.subscribe(dev),
    });
    expect(r.statusCode).toBe(204);
    return session;
  }

  /** Until the store no longer holds the device's subscription (bounded). */
  const forgotten = (name: string, dev: string) =>
    waitFor(async () => (await srv.store.getPushSubscription(name, dev)) === null, {
      what: `${name}'s subscription deleted`,
    });

  it('sends a VAPID-signed aes128gcm push that says only "wake" — no sender, no message', async () => {
    wakes.publish({ username: 'alice', deviceId: 'a1', groupId: null });
    await until(() => receiver.received.length === 1, 'the push');
    const push = receiver.received[0]!;
    expect(receiver.rejected).toEqual([]);
    expect(push.path).toBe('/a1');
    const key = await srv.app.inject({
      method: 'GET',
      url: '/v1/push/key',
      headers: bearer(alice.accessToken),
    });
    expect(push.vapidKey).toBe(key.json().publicKey);
    expect(push.claims.aud).toBe(receiver.origin);
    expect(push.headers.urgency).toBe('high');
    expect(JSON.parse(push.plaintext.toString())).toEqual({ v: 1, type: 'wake' });
    expect(decodePushMessage(push.plaintext)).toEqual({ v: 1, type: 'wake' });
    // The wire bytes are ciphertext: the plaintext is nowhere in them.
    expect(push.body.includes(Buffer.from('wake'))).toBe(false);
  });

  it("names a group message's conversation and nothing else, and wakes a device once per interval", async () => {
    wakes.publish({ username: 'bob', deviceId: 'b1', groupId: GROUP });
    await until(() => receiver.received.some((p) => p.path === '/b1'), "bob's push");
    const first = receiver.received.find((p) => p.path === '/b1')!;
    expect(JSON.parse(first.plaintext.toString())).toEqual({
      v: 1,
      type: 'wake',
      conversation: `group:${GROUP}`,
    });
    // Another message for bob within the interval: no second push. Alice's slot is taken too,
    // so the marker is a third device that registers now.
    wakes.publish({ username: 'bob', deviceId: 'b1', groupId: GROUP });
    await subscribed('dave', 'd1');
    wakes.publish({ username: 'dave', deviceId: 'd1', groupId: null });
    await until(() => receiver.received.some((p) => p.path === '/d1'), "dave's push (marker)");
    expect(receiver.received.filter((p) => p.path === '/b1')).toHaveLength(1);
    const metrics = await srv.app.metrics.registry.getSingleMetricAsString(
      'sotto_keyserver_wake_pushes_total',
    );
    expect(metrics).toMatch(/outcome="coalesced"} 1/);
  });

  it('forgets a subscription the push service says is gone (410), and one of a logged-out device', async () => {
    await subscribed('erin', 'e1');
    receiver.answer('/e1', 410);
    wakes.publish({ username: 'erin', deviceId: 'e1', groupId: null });
    await until(() => receiver.received.some((p) => p.path === '/e1'), "erin's push");
    await forgotten('erin', 'e1');

    const out = await srv.app.inject({
      method: 'DELETE',
      url: '/v1/sessions/current',
      headers: bearer(alice.accessToken),
    });
    expect(out.statusCode).toBe(204);
    expect(await srv.store.getPushSubscription('alice', 'a1')).toBeNull();
  });

  it('wakes no device that was removed while its subscription stayed (and forgets it)', async () => {
    await subscribed('frank', 'f1');
    await srv.store.deactivateDevice('frank', 'f1');
    wakes.publish({ username: 'frank', deviceId: 'f1', groupId: null });
    await forgotten('frank', 'f1');
    expect(receiver.received.some((p) => p.path === '/f1')).toBe(false);
  });
});
