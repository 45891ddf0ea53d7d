/**
 * Broker-published presence: retained `online` on connect of a user's first
 * device, `offline` when its last device goes (cleanly or by dropping); none
 * at all for a user who hides it (`presence-visibility` events).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { deviceClientId, presenceTopic } from '@sotto/crypto/wire';
import {
  brokerDropped,
  collect,
  connect,
  startTestBroker,
  subscribe,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker();
  t.store
    .addUser('alice', 'phone', 'laptop')
    .addUser('bob', 'b1')
    .addUser('carol', 'c1')
    .addUser('dave', 'd1', 'd2')
    .addUser('erin', 'e1')
    .addUser('fred', 'f1');
});
afterAll(async () => {
  await t.close();
});

type Got = ReturnType<typeof collect>;
let marks = 0;

/**
 * A negative presence check that waits on an event instead of a fixed time. Presence is
 * published by the broker, so the positive marker is a presence publish of its own made after
 * what must not arrive: once each of `gone` is off the broker (the presence of its disconnect,
 * if any, has been published), a fresh user connects and its `online` must reach every watcher;
 * anything published before it on the same path has arrived by then. The marker's messages are
 * removed from the lists.
 */
async function presenceMarker(watchers: [MqttClient, Got][], ...gone: string[]): Promise<void> {
  for (const id of gone) await brokerDropped(t.broker, id);
  const user = `mark${++marks}`;
  t.store.addUser(user, 'm1');
  const topic = presenceTopic(user);
  for (const [w] of watchers) expect(await subscribe(w, topic)).toEqual([1]);
  const m = await connect(t.tcpUrl, deviceClientId(user, 'm1'), t.tokens.token(user, 'm1'));
  await waitFor(() => watchers.every(([, got]) => got.some((x) => x.topic === topic)), {
    what: `presence marker ${user}`,
  });
  for (const [w, got] of watchers) {
    await w.unsubscribeAsync(topic);
    for (let i = got.length - 1; i >= 0; i--) if (got[i]!.topic === topic) got.splice(i, 1);
  }
  m.end(true);
}

const statuses = (got: { payload: string }[]) =>
  got.map((m) => (JSON.parse(m.payload) as { status: string }).status);

describe('presence', () => {
  it('is online while any device is connected and offline after the last one leaves', async () => {
    const bob = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    expect(await subscribe(bob, 'sotto/v1/presence/alice')).toEqual([1]);
    const got = collect(bob);
    const phone = await connect(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'phone'));
    await waitFor(() => got.length === 1, { what: 'online' });
    const laptop = await connect(t.wsUrl, 'alice:laptop', t.tokens.token('alice', 'laptop'));
    await waitFor(() => got.length === 2, { what: 'second online' });
    phone.end(true);
    await presenceMarker([[bob, got]], 'alice:phone');
    expect(statuses(got)).toEqual(['online', 'online']);
    // Dropping the socket without DISCONNECT counts as leaving too.
    (laptop as unknown as { stream: { destroy(): void } }).stream.destroy();
    await waitFor(() => got.length === 3, { what: 'offline' });
    expect(statuses(got)).toEqual(['online', 'online', 'offline']);
    const last = JSON.parse(got[2]!.payload) as { at: number };
    expect(Math.abs(Date.now() - last.at)).toBeLessThan(5_000);
    bob.end(true);
  });

  it('is retained, so a later subscriber sees the current state', async () => {
    // A live watcher hears `online` once the broker has stored it as the retained status.
    const carol = await connect(t.tcpUrl, 'carol:c1', t.tokens.token('carol', 'c1'));
    const carolGot = collect(carol);
    expect(await subscribe(carol, 'sotto/v1/presence/alice')).toEqual([1]);
    const phone = await connect(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'phone'));
    await waitFor(() => statuses(carolGot).includes('online'), { what: 'online stored' });
    carol.end(true);
    const bob = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    expect(await subscribe(bob, 'sotto/v1/presence/alice')).toEqual([1]);
    const got = collect(bob);
    await waitFor(() => got.length === 1, { what: 'retained presence' });
    expect(got[0]).toMatchObject({ retain: true });
    expect(statuses(got)).toEqual(['online']);
    phone.end(true);
    bob.end(true);
  });
});

/** Status of each presence message; an empty payload (retained status cleared) is `cleared`. */
const states = (got: { payload: string }[]) =>
  got.map((m) =>
    m.payload === '' ? 'cleared' : (JSON.parse(m.payload) as { status: string }).status,
  );

describe('hidden presence', () => {
  const setVisible = async (username: string, visible: boolean) => {
    if (visible) t.store.presenceHidden.delete(username);
    else t.store.presenceHidden.add(username);
    await t.events.publish({ type: 'presence-visibility', username, visible });
  };

  it('clears the retained status on hiding, publishes nothing while hidden, and resumes when shown', async () => {
    const d1 = await connect(t.tcpUrl, 'dave:d1', t.tokens.token('dave', 'd1'));
    const bob = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    expect(await subscribe(bob, 'sotto/v1/presence/dave')).toEqual([1]);
    const got = collect(bob);
    await waitFor(() => got.length === 1, { what: 'retained online' });
    expect(states(got)).toEqual(['online']);

    await setVisible('dave', false);
    await waitFor(() => got.length === 2, { what: 'cleared status' });
    expect(states(got)).toEqual(['online', 'cleared']);

    // Nothing retained any more: a new subscriber gets nothing.
    const carol = await connect(t.tcpUrl, 'carol:c1', t.tokens.token('carol', 'c1'));
    const carolGot = collect(carol);
    expect(await subscribe(carol, 'sotto/v1/presence/dave')).toEqual([1]);

    // A second device coming and going, and the last one leaving, publish nothing.
    const d2 = await connect(t.wsUrl, 'dave:d2', t.tokens.token('dave', 'd2'));
    d2.end(true);
    d1.end(true);
    await presenceMarker(
      [
        [bob, got],
        [carol, carolGot],
      ],
      'dave:d2',
      'dave:d1',
    );
    expect(states(got)).toEqual(['online', 'cleared']);
    expect(carolGot).toEqual([]);

    // Shown again: the next connect publishes online (to live and later subscribers).
    await setVisible('dave', true);
    const again = await connect(t.tcpUrl, 'dave:d1', t.tokens.token('dave', 'd1'));
    await waitFor(() => got.length === 3 && carolGot.length === 1, { what: 'online again' });
    expect(states(got)).toEqual(['online', 'cleared', 'online']);
    expect(states(carolGot)).toEqual(['online']);
    again.end(true);
    await waitFor(() => got.length === 4, { what: 'offline again' });
    expect(states(got)).toEqual(['online', 'cleared', 'online', 'offline']);
    bob.end(true);
    carol.end(true);
  });

  it('publishes online at once when a connected user shows presence again', async () => {
    await setVisible('erin', false);
    const e1 = await connect(t.tcpUrl, 'erin:e1', t.tokens.token('erin', 'e1'));
    const bob = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    const got = collect(bob);
    expect(await subscribe(bob, 'sotto/v1/presence/erin')).toEqual([1]);
    await presenceMarker([[bob, got]]);
    // The hide event cleared the retained status; the connect while hidden published nothing.
    expect(got).toEqual([]);
    await setVisible('erin', true);
    await waitFor(() => got.length === 1, { what: 'online after showing' });
    expect(states(got)).toEqual(['online']);
    e1.end(true);
    await waitFor(() => got.length === 2, { what: 'offline' });
    expect(states(got)).toEqual(['online', 'offline']);
    bob.end(true);
  });

  it('goes by a hide event over a setting read before it (a connect racing the change)', async () => {
    const bob = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    const got = collect(bob);
    expect(await subscribe(bob, 'sotto/v1/presence/fred')).toEqual([1]);
    // The event arrives while the store still answers "visible" to the connect's read.
    await t.events.publish({ type: 'presence-visibility', username: 'fred', visible: false });
    await waitFor(() => got.length === 1, { what: 'cleared status' });
    const f1 = await connect(t.tcpUrl, 'fred:f1', t.tokens.token('fred', 'f1'));
    f1.end(true);
    await presenceMarker([[bob, got]], 'fred:f1');
    expect(states(got)).toEqual(['cleared']);
    bob.end(true);
  });
});
