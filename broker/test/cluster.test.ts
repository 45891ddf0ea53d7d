/**
 * Cluster mode on a real Redis: two brokers behave as one (cross-broker
 * delivery, a persistent session moving from A to B with its queued QoS 1
 * messages, ACL changes enforced on every broker within a second).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { createRedisAclEvents, type AclEvents } from '@sotto/server-core/store';
import {
  brokerDropped,
  closed,
  collect,
  connect,
  createTokens,
  FakeStore,
  marker,
  startClusterBroker,
  subscribe,
  tryPublish,
  untilHeard,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';

/** How long the multi-filter SUBSCRIBE test waits for its SUBACK before calling it lost. */
const SUBACK_BOUND_MS = 5_000;

let redis: RedisProcess;
const clients: { close(): Promise<unknown> }[] = [];

async function bus(url: string): Promise<AclEvents & { ready(): Promise<void> }> {
  const c = createClient({ url });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  const b = createRedisAclEvents({ client: c });
  await b.ready();
  return b;
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await redis.stop();
});

describe('two brokers on one Redis', () => {
  let a: TestBroker;
  let b: TestBroker;
  let keyserverBus: AclEvents;
  const store = new FakeStore();
  const tokens = createTokens();
  const tok = (u: string, d: string) => tokens.token(u, d);

  beforeAll(async () => {
    store
      .addUser('alice', 'a1')
      .addUser('bob', 'b1', 'b2')
      .addUser('carol', 'c1')
      .setGroup('team', ['alice', 'bob', 'carol']);
    const start = (id: string) =>
      startClusterBroker(redis.url, {
        id,
        store,
        tokens,
        presence: false,
        heartbeatIntervalMs: 1_000,
      });
    a = await start('broker-a');
    b = await start('broker-b');
    keyserverBus = await bus(redis.url);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('delivers a publish on broker A to a subscriber on broker B', async () => {
    const sub = await connect(b.tcpUrl, 'bob:b1', tok('bob', 'b1'));
    expect(await subscribe(sub, 'sotto/v1/inbox/bob/b1')).toEqual([1]);
    const got = collect(sub);
    const pub = await connect(a.wsUrl, 'alice:a1', tok('alice', 'a1'));
    await untilHeard(pub, 'sotto/v1/inbox/bob/b1', got); // the subscription has reached A
    expect(await tryPublish(pub, 'sotto/v1/inbox/bob/b1', 'across')).toBe(true);
    await waitFor(() => got.length === 1, { what: 'cross-broker message' });
    expect(got[0]?.payload).toBe('across');
    sub.end(true);
    pub.end(true);
  });

  it('moves a persistent session from A to B with its queued QoS 1 messages', async () => {
    const s1 = await connect(a.tcpUrl, 'bob:b2', tok('bob', 'b2'), { clean: false });
    expect(await subscribe(s1, 'sotto/v1/inbox/bob/b2')).toEqual([1]);
    s1.end();
    await closed(s1);
    await brokerDropped(a.broker, 'bob:b2'); // offline for A too: what follows is queued
    const pub = await connect(a.tcpUrl, 'alice:a1', tok('alice', 'a1'));
    for (let i = 0; i < 5; i++)
      expect(await tryPublish(pub, 'sotto/v1/inbox/bob/b2', `q${i}`)).toBe(true);
    const s2 = await connect(b.tcpUrl, 'bob:b2', tok('bob', 'b2'), { clean: false });
    const got = collect(s2);
    await waitFor(() => got.length === 5, { what: 'queued messages on B' });
    expect(got.map((m) => m.payload)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    // The session keeps working on B: new messages published on A arrive.
    expect(await tryPublish(pub, 'sotto/v1/inbox/bob/b2', 'live')).toBe(true);
    await waitFor(() => got.length === 6, { what: 'live message on B' });
    s2.end(true);
    pub.end(true);
  });

  it('answers a multi-filter SUBSCRIBE of a persistent session (one SUBACK, every filter granted or refused)', async () => {
    const s1 = await connect(a.tcpUrl, 'bob:b2', tok('bob', 'b2'), { clean: false });
    const suback = subscribe(s1, [
      'sotto/v1/inbox/bob/b2',
      'sotto/v1/control/bob/b2',
      'sotto/v1/group/team',
      'sotto/v1/inbox/alice/a1',
    ]);
    // A bound, not a wait: the bug this guards against was a SUBACK that never came.
    const timeout = new Promise((r) => setTimeout(r, SUBACK_BOUND_MS)).then(() => 'no SUBACK');
    expect(await Promise.race([suback, timeout])).toEqual([1, 1, 1, 128]);
    // The granted filters are in the stored session (and only they): queued while offline,
    // delivered on the other broker.
    s1.end();
    await closed(s1);
    await brokerDropped(a.broker, 'bob:b2');
    const alice = await connect(a.tcpUrl, 'alice:a1', tok('alice', 'a1'));
    expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b2', 'dm')).toBe(true);
    expect(await tryPublish(alice, 'sotto/v1/group/team', 'group')).toBe(true);
    expect(await tryPublish(alice, 'sotto/v1/inbox/alice/a1', 'not for bob')).toBe(true);
    const s2 = await connect(b.tcpUrl, 'bob:b2', tok('bob', 'b2'), { clean: false });
    const got = collect(s2);
    await waitFor(() => got.length === 2, { what: 'queued messages' });
    await marker(alice, 'sotto/v1/inbox/bob/b2', got); // after the queue: nothing else comes
    expect(got.map((m) => m.payload).sort()).toEqual(['dm', 'group']);
    s2.end(true);
    alice.end(true);
  });

  it('a second connection of the same client id on the other broker closes the first', async () => {
    const first = await connect(a.tcpUrl, 'carol:c1', tok('carol', 'c1'));
    const second = await connect(b.tcpUrl, 'carol:c1', tok('carol', 'c1'));
    await closed(first, 3_000);
    expect(second.connected).toBe(true);
    second.end(true);
  });

  it('enforces a group removal and a revocation announced by a key server on every broker within one second', async () => {
    const topic = 'sotto/v1/group/team';
    const carolA = await connect(a.tcpUrl, 'carol:c1', tok('carol', 'c1'));
    const bobB = await connect(b.tcpUrl, 'bob:b1', tok('bob', 'b1'));
    expect(await subscribe(carolA, topic)).toEqual([1]);
    expect(await subscribe(bobB, topic)).toEqual([1]);
    expect(await subscribe(carolA, 'sotto/v1/inbox/carol/c1')).toEqual([1]);
    const gotCarol = collect(carolA);
    const gotBob = collect(bobB);
    const alice = await connect(b.tcpUrl, 'alice:a1', tok('alice', 'a1'));
    await untilHeard(alice, topic, gotCarol, gotBob); // Carol's subscription on A has reached B
    expect(await tryPublish(alice, topic, 'before')).toBe(true);
    await waitFor(() => gotCarol.length === 1 && gotBob.length === 1, { what: 'before' });

    store.setGroup('team', ['alice', 'bob']);
    const t0 = Date.now();
    await keyserverBus.publish({
      type: 'group-changed',
      groupId: 'team',
      removed: ['carol'],
      added: [],
    });
    // Carol is on A, the publisher on B: A must stop delivering to her.
    await waitFor(
      () =>
        !(
          topic in
          (a.broker.aedes as unknown as { clients: Record<string, { subscriptions: object }> })
            .clients['carol:c1']!.subscriptions
        ),
      {
        timeoutMs: 1_000,
        what: 'subscription dropped on A',
      },
    );
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await tryPublish(alice, topic, 'after')).toBe(true);
    await waitFor(() => gotBob.length === 2, { what: 'bob after' });
    // A marker to Carol's inbox, from the same publisher and broker, comes after 'after' would.
    await marker(alice, 'sotto/v1/inbox/carol/c1', gotCarol);
    expect(gotCarol.map((m) => m.payload)).toEqual(['before']);

    const t1 = Date.now();
    await keyserverBus.publish({ type: 'user-revoked', username: 'bob' });
    await closed(bobB, 1_000);
    expect(Date.now() - t1).toBeLessThan(1_000);
    carolA.end(true);
    alice.end(true);
  });
});

describe('a Redis restart under a running cluster broker', () => {
  let own: RedisProcess;
  let t: TestBroker;
  const store = new FakeStore().addUser('alice', 'a1').addUser('bob', 'b1');
  const tokens = createTokens();

  beforeAll(async () => {
    own = await startRedis({ aof: true });
    t = await startClusterBroker(own.url, {
      id: 'broker-r',
      store,
      tokens,
      presence: false,
      heartbeatIntervalMs: 1_000,
    });
  });
  afterAll(async () => {
    await t?.close();
    await own?.stop();
  });

  it('survives the lost connections, counts the errors and carries traffic again afterwards', async () => {
    const opts = { clean: false, reconnectPeriod: 200 };
    const bob = await connect(t.tcpUrl, 'bob:b1', tokens.token('bob', 'b1'), opts);
    expect(await subscribe(bob, 'sotto/v1/inbox/bob/b1')).toEqual([1]);
    const got = collect(bob);
    const alice = await connect(t.tcpUrl, 'alice:a1', tokens.token('alice', 'a1'), opts);
    expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', 'before')).toBe(true);
    await waitFor(() => got.length === 1, { what: 'before the restart' });

    // Killed, down for a while (every connection to it fails: ECONNRESET, ECONNREFUSED), back.
    await own.stop({ hard: true, keepDir: true });
    const redisErrors = async () =>
      (await t.broker.metrics.redisErrors.get()).values.reduce((sum, v) => sum + v.value, 0);
    const whileDown = tryPublish(alice, 'sotto/v1/inbox/bob/b1', 'while down');
    // Down until the broker has noticed (a Redis connection error counted), not for a set time.
    await waitFor(async () => (await redisErrors()) > 0, { what: 'Redis errors counted' });
    await own.restart();

    // Publish until one gets through end to end (the connections to Redis come back with backoff).
    let n = 0;
    await waitFor(
      () => {
        if (alice.connected) void tryPublish(alice, 'sotto/v1/inbox/bob/b1', `after${n++}`);
        return got.some((m) => m.payload.startsWith('after'));
      },
      // One publish per poll: the interval paces them.
      { timeoutMs: 20_000, intervalMs: 200, what: 'a message through the restarted Redis' },
    );
    // The publish made during the outage was held (no PUBACK) and stored once Redis was back.
    expect(await whileDown).toBe(true);
    // Even when this broker's publishing connection was back before its subscriber (the live
    // PUBLISH then reaches nobody), the queue replay after the re-subscribe hands it over. That
    // race failed this wait in CI once, when this file's broker was started without the replay
    // wired (the test below makes the race deterministic).
    await waitFor(() => got.some((m) => m.payload === 'while down'), {
      timeoutMs: 5_000,
      what: 'held publish',
    });
    const text = await t.broker.metrics.registry.getSingleMetricAsString(
      'sotto_broker_redis_errors_total',
    );
    expect(text).toMatch(/sotto_broker_redis_errors_total\{connection="[a-z-]+"\} [1-9]/);
    bob.end(true);
    alice.end(true);
  });

  it('hands a persistent session what was published while its subscriber connection was re-subscribing (issue 21)', async () => {
    // The race behind a PUBACKed message reaching nobody: Redis is up, but this broker's
    // mqemitter subscriber connection is gone and not yet subscribed again, so a PUBLISH on Redis
    // has no listener. Made deterministic by killing only that connection and publishing at once;
    // the queue replay after its re-subscribe must deliver what the live path lost.
    const admin = createClient({ url: own.url });
    await admin.connect();
    try {
      const opts = { clean: false, reconnectPeriod: 0 };
      const bob = await connect(t.tcpUrl, 'bob:b1', tokens.token('bob', 'b1'), opts);
      expect(await subscribe(bob, 'sotto/v1/inbox/bob/b1')).toEqual([1]);
      const got = collect(bob);
      const alice = await connect(t.tcpUrl, 'alice:a1', tokens.token('alice', 'a1'), opts);
      expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', 'live')).toBe(true);
      await waitFor(() => got.some((m) => m.payload === 'live'), { what: 'live delivery' });

      const list = await admin.sendCommand<string>(['CLIENT', 'LIST']);
      const sub = /id=(\d+) [^\n]*name=sotto-broker-mq-sub/.exec(list);
      expect(sub, list).not.toBeNull();
      await admin.sendCommand(['CLIENT', 'KILL', 'ID', sub![1]!]);
      // PUBACKed while Redis had no subscriber for them (checked, so the test is not vacuous).
      const acked = await Promise.all(
        ['gap0', 'gap1', 'gap2'].map((m) => tryPublish(alice, 'sotto/v1/inbox/bob/b1', m)),
      );
      expect(acked).toEqual([true, true, true]);
      const listenersAfterAck = Number(await admin.sendCommand(['PUBSUB', 'NUMPAT']));
      // Within 5 s of the PUBACKs (the promise is 1 s; 5 s leaves room for a loaded CI machine,
      // while without the replay they are never delivered on this connection).
      await waitFor(() => ['gap0', 'gap1', 'gap2'].every((m) => got.some((g) => g.payload === m)), {
        timeoutMs: 5_000,
        what: 'the messages published while the subscriber re-subscribed',
      });
      expect(got.filter((m) => m.payload.startsWith('gap'))).toHaveLength(3);
      if (listenersAfterAck > 0)
        console.warn('subscriber was back before the PUBACKs: the race was not hit');
      bob.end(true);
      alice.end(true);
    } finally {
      await admin.quit().catch(() => undefined);
    }
  });
});
