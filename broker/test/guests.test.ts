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
