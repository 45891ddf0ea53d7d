/**
 * A persistent session that comes back while messages keep flowing gets what was queued
 * for it and then the new ones: in publish order, each once, nothing lost, and the
 * connection stays up (internal/resume.ts). Against the in-memory persistence and two
 * brokers on a real Redis, plus the guard and the exact clear on their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'aedes';
import memoryPersistence from 'aedes-persistence';
import {
  clearRefusedByCounter,
  createResumeGuard,
  type QueuePersistence,
} from '../src/internal/resume.ts';
import {
  brokerDropped,
  closed,
  connect,
  createTokens,
  FakeStore,
  marker,
  received,
  startClusterBroker,
  startTestBroker,
  storedSubscribers,
  subscribe,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';

const N = 300;

/**
 * Bob's device subscribes with a persistent session and leaves; Alice publishes N QoS 1
 * messages one after another; after the first third is acknowledged Bob comes back (on
 * `resumeUrl`) while the rest is still being published.
 */
async function resumeWhilePublishing(
  t: {
    publishUrl: string;
    resumeUrl: string;
    publisher: TestBroker;
    resumer: TestBroker;
    token: (u: string, d: string) => string;
  },
  device: string,
  topic: string,
): Promise<void> {
  const clientId = `bob:${device}`;
  const first = await connect(t.resumeUrl, clientId, t.token('bob', device), { clean: false });
  expect(await subscribe(first, topic)).toEqual([1]);
  first.end();
  await closed(first);
  // Gone from its broker, and its stored subscription visible to the publishing broker.
  await brokerDropped(t.resumer.broker, clientId);
  await waitFor(async () => (await storedSubscribers(t.publisher, topic)).includes(clientId), {
    what: 'stored subscription',
  });

  const alice = await connect(t.publishUrl, 'alice:a1', t.token('alice', 'a1'));
  let acked = 0;
  const publishing = (async () => {
    for (let i = 0; i < N; i++) {
      await alice.publishAsync(topic, String(i), { qos: 1 });
      acked++;
    }
  })();
  await waitFor(() => acked >= N / 3, { what: 'the first third acknowledged' });
  const back = await connect(t.resumeUrl, clientId, t.token('bob', device), { clean: false });
  let closes = 0;
  back.on('close', () => closes++);
  const got = received(back);
  await publishing;
  expect(acked).toBe(N);
  await waitFor(() => got.length >= N, { what: `${N} messages`, timeoutMs: 15_000 }).catch(
    () => undefined,
  );
  await marker(alice, topic, got); // anything twice would have come before it
  const order = got.filter((m) => m.topic === topic).map((m) => Number(m.payload));
  expect(closes).toBe(0);
  expect(order).toEqual(Array.from({ length: N }, (_, i) => i));
  back.end(true);
  alice.end(true);
}

describe('one broker, in-memory persistence', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startTestBroker({ presence: false });
    t.store.addUser('alice', 'a1').addUser('bob', 'b1', 'b2').setGroup('g', ['alice', 'bob']);
  });
  afterAll(async () => {
    await t.close();
  });
  const urls = () => ({
    publishUrl: t.tcpUrl,
    resumeUrl: t.tcpUrl,
    publisher: t,
    resumer: t,
    token: (u: string, d: string) => t.tokens.token(u, d),
  });

  it('an inbox: the queue, then the live messages, in order, each once, connection kept', async () => {
    await resumeWhilePublishing(urls(), 'b1', 'sotto/v1/inbox/bob/b1');
  });

  it('a group topic: the same', async () => {
    await resumeWhilePublishing(urls(), 'b2', 'sotto/v1/group/g');
  });
});

describe('two brokers on one Redis: publisher on A, the session resumes on B', () => {
  let redis: RedisProcess;
  let a: TestBroker;
  let b: TestBroker;
  const tokens = createTokens();
  beforeAll(async () => {
    redis = await startRedis();
    const store = new FakeStore()
      .addUser('alice', 'a1')
      .addUser('bob', 'b1', 'b2', 'b3')
      .setGroup('g', ['alice', 'bob']);
    const start = (id: string) =>
      startClusterBroker(redis.url, {
        id,
        store,
        tokens,
        presence: false,
        limits: { publishRatePerSec: 5_000, publishBurst: 5_000 },
      });
    a = await start('broker-a');
    b = await start('broker-b');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });
  const urls = () => ({
    publishUrl: a.tcpUrl,
    resumeUrl: b.tcpUrl,
    publisher: a,
    resumer: b,
    token: (u: string, d: string) => tokens.token(u, d),
  });

  it('an inbox: in order, each once, connection kept', async () => {
    await resumeWhilePublishing(urls(), 'b1', 'sotto/v1/inbox/bob/b1');
  });

  it('a group topic: the same', async () => {
    await resumeWhilePublishing(urls(), 'b2', 'sotto/v1/group/g');
  });

  it('hands over a queue longer than 1,000 messages at one connect (aedes-persistence-redis stops at 1,000 by default)', async () => {
    const topic = 'sotto/v1/inbox/bob/b3';
    const Q = 2_500;
    const first = await connect(b.tcpUrl, 'bob:b3', tokens.token('bob', 'b3'), { clean: false });
    expect(await subscribe(first, topic)).toEqual([1]);
    first.end();
    await closed(first);
    await brokerDropped(b.broker, 'bob:b3');
    await waitFor(async () => (await storedSubscribers(a, topic)).includes('bob:b3'), {
      what: 'stored subscription on A',
    });
    const alice = await connect(a.tcpUrl, 'alice:a1', tokens.token('alice', 'a1'));
    for (let i = 0; i < Q; i += 100)
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => alice.publishAsync(topic, String(i + j), { qos: 1 })),
      );
    const back = await connect(b.tcpUrl, 'bob:b3', tokens.token('bob', 'b3'), { clean: false });
    const got = received(back);
    await waitFor(() => got.length >= Q, { what: `${Q} queued messages`, timeoutMs: 20_000 }).catch(
      () => undefined,
    );
    expect(new Set(got.map((m) => m.payload)).size).toBe(Q);
    back.end(true);
    alice.end(true);
  });
});

describe('the resume guard', () => {
  type P = { qos: number; brokerId: string; brokerCounter: number };
  const packet = (n: number, qos = 1): P => ({ qos, brokerId: 'x', brokerCounter: n });
  const fakeClient = () => {
    const sent: number[] = [];
    const client = {
      deliverQoS: (p: P, cb: () => void) => {
        sent.push(p.brokerCounter);
        cb();
      },
    };
    const deliver = (p: P) =>
      new Promise<void>((r) => {
        client.deliverQoS(p, r);
      });
    return { client: client as unknown as Client, sent, deliver };
  };

  it('holds live deliveries of a persistent session until the queue is handed over, then sends those the queue did not', async () => {
    const guard = createResumeGuard({ holdLimit: 100, onOverflow: () => undefined });
    const c = fakeClient();
    guard.begin(c.client, false);
    await c.deliver(packet(1));
    await c.deliver(packet(2, 0)); // QoS 0 is never queued: straight through
    await c.deliver(packet(3));
    await c.deliver(packet(4));
    guard.queued(c.client, packet(1));
    guard.queued(c.client, packet(3));
    expect(c.sent).toEqual([2]);
    guard.finish(c.client);
    expect(c.sent).toEqual([2, 4]);
    await c.deliver(packet(5)); // resumed: straight through
    expect(c.sent).toEqual([2, 4, 5]);
  });

  it('leaves clean sessions alone', async () => {
    const guard = createResumeGuard({ holdLimit: 100, onOverflow: () => undefined });
    const c = fakeClient();
    guard.begin(c.client, true);
    await c.deliver(packet(1));
    expect(c.sent).toEqual([1]);
  });

  it('holds a connected session again while its queue is handed over once more (after a Redis outage)', async () => {
    const guard = createResumeGuard({ holdLimit: 100, onOverflow: () => undefined });
    const c = fakeClient();
    guard.begin(c.client, false);
    // Still resuming from its CONNECT: that hand-over covers it, no second hold.
    expect(guard.hold(c.client)).toBeUndefined();
    guard.finish(c.client);
    await c.deliver(packet(1));
    expect(c.sent).toEqual([1]);
    const direct = guard.hold(c.client);
    expect(direct).toBeDefined();
    await c.deliver(packet(3)); // live, while the queue is handed over: held
    await c.deliver(packet(4));
    expect(c.sent).toEqual([1]);
    // The queue hands over 2 (missed live during the outage) and 3 (also in the queue).
    for (const n of [2, 3]) {
      guard.queued(c.client, packet(n));
      direct?.(packet(n), () => undefined);
    }
    expect(c.sent).toEqual([1, 2, 3]);
    guard.finish(c.client);
    expect(c.sent).toEqual([1, 2, 3, 4]); // 3 is not sent twice
  });

  it('does not hold a clean session again (it has no stored queue)', () => {
    const guard = createResumeGuard({ holdLimit: 100, onOverflow: () => undefined });
    const c = fakeClient();
    guard.begin(c.client, true);
    expect(guard.hold(c.client)).toBeUndefined();
  });

  it('gives up on a client that collects more than the limit (its session keeps them queued)', async () => {
    const over: Client[] = [];
    const guard = createResumeGuard({ holdLimit: 2, onOverflow: (cl) => over.push(cl) });
    const c = fakeClient();
    guard.begin(c.client, false);
    for (let i = 1; i <= 3; i++) await c.deliver(packet(i));
    expect(over).toEqual([c.client]);
    guard.finish(c.client);
    expect(c.sent).toEqual([]);
  });
});

describe('clearing a refused delivery (in-memory persistence)', () => {
  it('clears that packet from the session queue, not the first one without a packet identifier', async () => {
    // Aedes 1.2 gets the promise-based in-memory persistence (the package's typings describe
    // its older callback form).
    const p = memoryPersistence() as unknown as QueuePersistence & {
      outgoingEnqueueCombi(subs: object[], packet: object): Promise<void>;
      outgoingStream(client: object): AsyncIterable<{ brokerCounter: number }>;
      destroy(): Promise<void>;
    };
    clearRefusedByCounter(p);
    const client = { id: 'bob:b1' };
    const sub = { clientId: client.id, topic: 't', qos: 1 };
    const mk = (n: number) => ({
      cmd: 'publish' as const,
      topic: 't',
      payload: Buffer.from(String(n)),
      qos: 1 as const,
      retain: false,
      dup: false,
      brokerId: 'x',
      brokerCounter: n,
    });
    await p.outgoingEnqueueCombi([sub], mk(1));
    await p.outgoingEnqueueCombi([sub], mk(2));
    // Aedes clears a refused live delivery with the packet as emitted: no messageId.
    await p.outgoingClearMessageId(client, { ...mk(2), messageId: undefined });
    const left: number[] = [];
    for await (const q of p.outgoingStream(client)) left.push(q.brokerCounter);
    expect(left).toEqual([1]);
    // A packet that is not queued for the session: nothing happens.
    await p.outgoingClearMessageId(client, { ...mk(9), messageId: undefined });
    expect(left).toEqual([1]);
    await p.destroy();
  });
});
