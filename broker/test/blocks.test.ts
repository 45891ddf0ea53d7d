/**
 * [ACL-12] (issue 17): a DM from a user the recipient blocks is acknowledged like any other and
 * delivered to no one, so the blocked sender cannot tell; a block list change reaches the broker
 * through the `blocks-changed` ACL event, with the cached list dropped at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { deviceClientId } from '@sotto/crypto/wire';
import {
  collect,
  connect,
  marker,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;
const open: MqttClient[] = [];
async function dev(user: string, device: string) {
  const c = await connect(t.tcpUrl, deviceClientId(user, device), t.tokens.token(user, device));
  open.push(c);
  return c;
}
const block = async (blocker: string, blocked: string, on: boolean) => {
  const set = t.store.blocked.get(blocker) ?? new Set<string>();
  if (on) set.add(blocked);
  else set.delete(blocked);
  t.store.blocked.set(blocker, set);
  await t.events.publish({ type: 'blocks-changed', username: blocker });
};

beforeAll(async () => {
  t = await startTestBroker({ presence: false });
  t.store.addUser('bob', 'b1').addUser('mallory', 'm1').addUser('carol', 'c1');
  t.store.setGroup('room', ['bob', 'mallory', 'carol']);
});
afterAll(async () => {
  for (const c of open) c.end(true);
  await t.close();
});

describe('blocked DMs [ACL-12]', () => {
  it('acknowledges and drops a blocked user’s DMs, keeps the connection, and delivers everyone else’s', async () => {
    const bob = await dev('bob', 'b1');
    expect(await subscribe(bob, 'sotto/v1/inbox/bob/b1')).toEqual([1]);
    expect(await subscribe(bob, 'sotto/v1/group/room')).toEqual([1]);
    const got = collect(bob);
    const mallory = await dev('mallory', 'm1');
    const carol = await dev('carol', 'c1');

    // Before the block: delivered (and bob's list, empty, is now cached by the broker).
    expect(await tryPublish(mallory, 'sotto/v1/inbox/bob/b1', 'hello')).toBe(true);
    await waitFor(() => got.some((m) => m.payload === 'hello'), { what: 'unblocked DM' });

    await block('bob', 'mallory', true);
    // QoS 1: PUBACK as usual; QoS 0 too — nothing tells mallory.
    expect(await tryPublish(mallory, 'sotto/v1/inbox/bob/b1', 'blocked-1')).toBe(true);
    mallory.publish('sotto/v1/inbox/bob/b1', 'blocked-0', { qos: 0 });
    expect(await tryPublish(carol, 'sotto/v1/inbox/bob/b1', 'from-carol')).toBe(true);
    // mallory's own later publish to the room arrives, so anything before it would have too.
    await marker(mallory, 'sotto/v1/group/room', got);
    expect(mallory.connected).toBe(true);
    await waitFor(() => got.some((m) => m.payload === 'from-carol'), { what: 'carol’s DM' });
    expect(got.map((m) => m.payload)).toEqual(['hello', 'from-carol']);

    // mallory's DMs to others still go through.
    const carolGot = collect(carol);
    expect(await subscribe(carol, 'sotto/v1/inbox/carol/c1')).toEqual([1]);
    expect(await tryPublish(mallory, 'sotto/v1/inbox/carol/c1', 'to-carol')).toBe(true);
    await waitFor(() => carolGot.some((m) => m.payload === 'to-carol'), { what: 'DM to carol' });

    await block('bob', 'mallory', false);
    expect(await tryPublish(mallory, 'sotto/v1/inbox/bob/b1', 'after-unblock')).toBe(true);
    await waitFor(() => got.some((m) => m.payload === 'after-unblock'), {
      what: 'unblocked again',
    });
    expect(got.map((m) => m.payload)).not.toContain('blocked-1');
    expect(got.map((m) => m.payload)).not.toContain('blocked-0');
  });
});
