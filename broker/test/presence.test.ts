/**
 * Broker-published presence: retained `online` on connect of a user's first
 * device, `offline` when its last device goes (cleanly or by dropping).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, connect, sleep, startTestBroker, subscribe, type TestBroker } from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker();
  t.store.addUser('alice', 'phone', 'laptop').addUser('bob', 'b1');
});
afterAll(async () => {
  await t.close();
});

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
    await sleep(200);
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
    const phone = await connect(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'phone'));
    await sleep(100);
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
