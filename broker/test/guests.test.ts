/**
 * [ACL-13] (issue 17): a guest account's device — its token carries the `gst` claim — may DM
 * only users it shares a room with; full accounts DM anyone, guests included. A guest publishes
 * at a quarter of the usual rate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { deviceClientId } from '@sotto/crypto/wire';
import {
  collect,
  connect,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;
const open: MqttClient[] = [];
async function dev(user: string, device: string, guest = false) {
  const token = t.tokens.issuer.issue({ sub: user, dev: device, kind: 'user', guest }).token;
  const c = await connect(t.tcpUrl, deviceClientId(user, device), token);
  open.push(c);
  return c;
}

beforeAll(async () => {
  t = await startTestBroker({ presence: false });
  t.store.addUser('guest_1', 'g1').addUser('bob', 'b1').addUser('carol', 'c1');
  t.store.setGroup('room', ['guest_1', 'bob']);
});
afterAll(async () => {
  for (const c of open) c.end(true);
  await t.close();
});

describe('guest DMs [ACL-13]', () => {
  it('lets a guest DM a member of its room, and refuses (disconnects) a DM to anyone else', async () => {
    const bob = await dev('bob', 'b1');
    const carol = await dev('carol', 'c1');
    const bobGot = collect(bob);
    const carolGot = collect(carol);
    expect(await subscribe(bob, 'sotto/v1/inbox/bob/b1')).toEqual([1]);
    expect(await subscribe(carol, 'sotto/v1/inbox/carol/c1')).toEqual([1]);

    const guest = await dev('guest_1', 'g1', true);
    expect(await tryPublish(guest, 'sotto/v1/inbox/bob/b1', 'hi bob')).toBe(true);
    await waitFor(() => bobGot.some((m) => m.payload === 'hi bob'), { what: 'DM to a co-member' });
    // Its own inbox is no outsider either.
    expect(await tryPublish(guest, 'sotto/v1/inbox/guest_1/g1', 'note to self')).toBe(true);

    // A full account DMs the guest, and carol DMs bob: untouched by the rule.
    expect(await tryPublish(carol, 'sotto/v1/inbox/guest_1/g1', 'hello guest')).toBe(true);
    expect(await tryPublish(carol, 'sotto/v1/inbox/bob/b1', 'from carol')).toBe(true);
    await waitFor(() => bobGot.some((m) => m.payload === 'from carol'), { what: 'carol → bob' });

    expect(await tryPublish(guest, 'sotto/v1/inbox/carol/c1', 'spam')).toBe(false);
    await waitFor(() => !guest.connected, { what: 'the guest is disconnected' });
    // carol's own later DM to herself arrives, so the guest's would have by then.
    expect(await tryPublish(bob, 'sotto/v1/inbox/carol/c1', 'marker')).toBe(true);
    await waitFor(() => carolGot.some((m) => m.payload === 'marker'), { what: 'marker' });
    expect(carolGot.map((m) => m.payload)).toEqual(['marker']);
  });

  it('does not apply to the same name with a full account’s token (the claim decides)', async () => {
    const carol = await dev('carol', 'c1');
    const got = collect(carol);
    expect(await subscribe(carol, 'sotto/v1/inbox/carol/c1')).toEqual([1]);
    const upgraded = await dev('guest_1', 'g1', false);
    expect(await tryPublish(upgraded, 'sotto/v1/inbox/carol/c1', 'now a full account')).toBe(true);
    await waitFor(() => got.some((m) => m.payload === 'now a full account'), {
      what: 'DM from the upgraded account',
    });
  });
});

describe('a guest’s publish rate', () => {
  // Its own broker: a low rate, so the quarter shows in about two seconds, and a long enough
  // hold that neither client is closed (each waits for its PUBACK before the next publish).
  let slow: TestBroker;
  const RATE = 40;
  const BURST = 8;
  const N = 24;
  beforeAll(async () => {
    slow = await startTestBroker({
      presence: false,
      limits: { publishRatePerSec: RATE, publishBurst: BURST, maxPublishDelayMs: 5_000 },
    });
    slow.store.addUser('guest_2', 'g2').addUser('dave', 'd1').addUser('erin', 'e1');
    slow.store.setGroup('room2', ['guest_2', 'dave', 'erin']);
  });
  afterAll(async () => {
    await slow.close();
  });

  /** Publish `N` QoS 1 messages one after another; resolves with the milliseconds it took. */
  async function burst(user: string, device: string, guest: boolean): Promise<number> {
    const token = slow.tokens.issuer.issue({ sub: user, dev: device, kind: 'user', guest }).token;
    const c = await connect(slow.tcpUrl, deviceClientId(user, device), token);
    open.push(c);
    const started = Date.now();
    for (let i = 0; i < N; i++)
      expect(await tryPublish(c, 'sotto/v1/inbox/erin/e1', `${user} ${i}`)).toBe(true);
    return Date.now() - started;
  }

  it('holds a guest to a quarter of the rate and burst while a full account keeps the full rate', async () => {
    const [guestMs, userMs] = await Promise.all([
      burst('guest_2', 'g2', true),
      burst('dave', 'd1', false),
    ]);
    // Token buckets never hand out early: the guest's burst is BURST/4 = 2, then RATE/4 = 10 a
    // second, so its 22 further publishes take at least 2.2 s (the full rate would take 0.4 s).
    expect(guestMs).toBeGreaterThanOrEqual(((N - BURST / 4) / (RATE / 4)) * 1000 - 50);
    // The full account: 8 at once, 16 more at 40/s ≈ 0.4 s — far below the guest's floor.
    expect(userMs).toBeGreaterThanOrEqual(((N - BURST) / RATE) * 1000 - 50);
    expect(userMs).toBeLessThan(1_500);
  });
});
