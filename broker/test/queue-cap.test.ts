/**
 * Offline queues of the in-memory persistence are bounded (internal/queue-cap.ts): per session
 * by messages and bytes, and in total. What is over a cap is not queued (the publisher is still
 * acknowledged), counted on /metrics, and the queue has room again once its messages are
 * acknowledged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  closed,
  connect,
  received,
  sleep,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';
import type { BrokerLimits } from '../src/index.ts';

let t: TestBroker | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(limits: Partial<BrokerLimits>): Promise<TestBroker> {
  t = await startTestBroker({ presence: false, limits });
  t.store.addUser('alice', 'a1').addUser('bob', 'b1', 'b2');
  return t;
}

/** Subscribe bob's device to its inbox with a persistent session and leave. */
async function goOffline(b: TestBroker, device: string): Promise<void> {
  const c = await connect(b.tcpUrl, `bob:${device}`, b.tokens.token('bob', device), {
    clean: false,
  });
  expect(await subscribe(c, `sotto/v1/inbox/bob/${device}`)).toEqual([1]);
  c.end();
  await closed(c);
}

/** Reconnect and return the payloads handed over (waits until `n` arrived, then a little more). */
async function comeBack(b: TestBroker, device: string, n: number) {
  const c = await connect(b.tcpUrl, `bob:${device}`, b.tokens.token('bob', device), {
    clean: false,
  });
  const got = received(c);
  await waitFor(() => got.length >= n, { what: `${n} queued messages` });
  await sleep(200);
  return { client: c, payloads: got.map((m) => m.payload) };
}

const dropped = async (b: TestBroker) =>
  Object.fromEntries(
    (await b.broker.metrics.queueDropped.get()).values.map((v) => [v.labels.reason, v.value]),
  );
const queuedBytes = async (b: TestBroker) =>
  (await b.broker.metrics.sessionQueueBytes.get()).values[0]?.value;

describe('offline queue caps (in-memory persistence)', () => {
  it('queues at most maxQueuedMessagesPerSession for a session; the publisher is acknowledged throughout; room again after the hand-over', async () => {
    const b = await start({ maxQueuedMessagesPerSession: 5 });
    await goOffline(b, 'b1');
    const alice = await connect(b.tcpUrl, 'alice:a1', b.tokens.token('alice', 'a1'));
    for (let i = 0; i < 8; i++)
      expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', `m${i}`)).toBe(true);
    expect(await dropped(b)).toEqual({ messages: 3 });
    const back = await comeBack(b, 'b1', 5);
    expect(back.payloads).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await waitFor(async () => (await queuedBytes(b)) === 0, { what: 'queue acknowledged' });
    back.client.end();
    await closed(back.client);
    for (let i = 8; i < 10; i++)
      expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', `m${i}`)).toBe(true);
    const again = await comeBack(b, 'b1', 2);
    expect(again.payloads).toEqual(['m8', 'm9']);
    expect(await dropped(b)).toEqual({ messages: 3 });
    again.client.end(true);
    alice.end(true);
  });

  it('caps the bytes queued per session', async () => {
    const b = await start({ maxQueuedBytesPerSession: 3_000 });
    await goOffline(b, 'b1');
    const alice = await connect(b.tcpUrl, 'alice:a1', b.tokens.token('alice', 'a1'));
    const kib = (c: string) => c.repeat(1024);
    for (const c of ['a', 'b', 'c'])
      expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', kib(c))).toBe(true);
    expect(await dropped(b)).toEqual({ bytes: 1 });
    expect(await queuedBytes(b)).toBe(2048);
    const back = await comeBack(b, 'b1', 2);
    expect(back.payloads).toEqual([kib('a'), kib('b')]);
    back.client.end(true);
    alice.end(true);
  });

  it('caps the bytes queued over all sessions', async () => {
    const b = await start({ maxQueuedBytesTotal: 3_000 });
    await goOffline(b, 'b1');
    await goOffline(b, 'b2');
    const alice = await connect(b.tcpUrl, 'alice:a1', b.tokens.token('alice', 'a1'));
    const kib = 'x'.repeat(1024);
    expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', kib)).toBe(true);
    expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', kib)).toBe(true);
    expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b2', kib)).toBe(true);
    expect(await dropped(b)).toEqual({ total: 1 });
    expect(await queuedBytes(b)).toBe(2048);
    alice.end(true);
  });
});
