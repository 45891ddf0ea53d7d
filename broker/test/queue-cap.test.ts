/**
 * Offline queues of the in-memory persistence are bounded (internal/queue-cap.ts): per session
 * by messages and bytes, and in total. What is over a cap is not queued (the publisher is still
 * acknowledged), counted on /metrics, and the queue has room again once its messages are
 * acknowledged.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closed,
  connect,
  received,
  createTokens,
  liveMarker,
  storedSubscribers,
  FakeStore,
  startClusterBroker,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';
import { startRedis } from '../../test/support/redis.ts';
import type { BrokerLimits } from '../src/index.ts';
import type { MqttClient } from 'mqtt';

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

/**
 * A persistent session over a raw socket that never sends PUBACK (mqtt.js always does, or stops
 * reading): everything delivered to it stays in its queue. Counts the PUBLISHes it is sent.
 */
async function neverAcking(url: string, clientId: string, password: string) {
  const u = new URL(url);
  const sock: Socket = tcpConnect(Number(u.port), u.hostname);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const publishes: string[] = [];
  let connack = -1;
  let closed = false;
  parser.on('packet', (p) => {
    if (p.cmd === 'connack') connack = p.returnCode ?? -1;
    if (p.cmd === 'publish') publishes.push(String(p.payload));
  });
  sock.on('data', (d) => parser.parse(d));
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  sock.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: false,
      clientId,
      username: clientId,
      password: Buffer.from(password),
      keepalive: 60,
    }),
  );
  await waitFor(() => connack === 0, { what: 'CONNACK' });
  return { publishes, closed: () => closed, end: () => sock.destroy() };
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

/**
 * Reconnect and return the payloads handed over: waits until `n` arrived, then for a live marker
 * from `sender` (it follows the whole stored queue, so anything more would have come first).
 */
async function comeBack(b: TestBroker, device: string, n: number, sender: MqttClient) {
  const c = await connect(b.tcpUrl, `bob:${device}`, b.tokens.token('bob', device), {
    clean: false,
  });
  const got = received(c);
  await waitFor(() => got.length >= n, { what: `${n} queued messages` });
  const m = await liveMarker(sender, `sotto/v1/inbox/bob/${device}`, (p) =>
    got.some((x) => x.payload === p),
  );
  return { client: c, payloads: got.map((x) => x.payload).filter((p) => p !== m) };
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
    const back = await comeBack(b, 'b1', 5, alice);
    expect(back.payloads).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await waitFor(async () => (await queuedBytes(b)) === 0, { what: 'queue acknowledged' });
    back.client.end();
    await closed(back.client);
    for (let i = 8; i < 10; i++)
      expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', `m${i}`)).toBe(true);
    const again = await comeBack(b, 'b1', 2, alice);
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
    const back = await comeBack(b, 'b1', 2, alice);
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

describe('a connected session at its cap (in-memory persistence)', () => {
  it('is not closed and is not sent what was not queued for it', async () => {
    const b = await start({ maxQueuedMessagesPerSession: 3 });
    await goOffline(b, 'b1');
    const bob = await neverAcking(b.tcpUrl, 'bob:b1', b.tokens.token('bob', 'b1'));
    const alice = await connect(b.tcpUrl, 'alice:a1', b.tokens.token('alice', 'a1'));
    for (let i = 0; i < 5; i++)
      expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', `m${i}`)).toBe(true);
    await waitFor(() => bob.publishes.length >= 3, { what: 'three deliveries' });
    // m3 and m4 were routed before their PUBACKs; a marker sent now comes after them.
    const m = await liveMarker(alice, 'sotto/v1/inbox/bob/b1', (p) => bob.publishes.includes(p));
    expect(bob.publishes).toEqual(['m0', 'm1', 'm2', m]);
    expect(bob.closed()).toBe(false);
    expect(await dropped(b)).toEqual({ messages: 2 });
    bob.end();
    alice.end(true);
  });
});

describe('offline queue cap on Redis (cluster mode)', () => {
  it('caps each session at maxQueuedMessagesPerSession across brokers: offline sessions get their first five in order, a connected one at its cap on the other broker is sent nothing that was not queued for it', async () => {
    const redis = await startRedis();
    const brokers: TestBroker[] = [];
    try {
      const store = new FakeStore().addUser('alice', 'a1').addUser('bob', 'b1', 'b2', 'b3');
      store.setGroup('g', ['alice', 'bob']);
      const tokens = createTokens();
      const startOn = async (id: string) => {
        const br = await startClusterBroker(redis.url, {
          id,
          store,
          tokens,
          presence: false,
          limits: { maxQueuedMessagesPerSession: 5 },
        });
        brokers.push(br);
        return br;
      };
      const a = await startOn('cap-a');
      const b = await startOn('cap-b');
      const topic = 'sotto/v1/group/g';
      // b1 offline, b2 offline (both persistent); b3 connected on B and never acknowledging.
      for (const d of ['b1', 'b2', 'b3']) {
        const c = await connect(b.tcpUrl, `bob:${d}`, tokens.token('bob', d), { clean: false });
        expect(await subscribe(c, topic)).toEqual([1]);
        c.end();
        await closed(c);
      }
      // Broker A must know the sessions' stored subscriptions (Redis broadcast) to queue for them.
      await waitFor(async () => (await storedSubscribers(a, topic)).length === 3, {
        what: 'stored subscriptions known on A',
      });
      const stuck = await neverAcking(b.tcpUrl, 'bob:b3', tokens.token('bob', 'b3'));
      const alice = await connect(a.tcpUrl, 'alice:a1', tokens.token('alice', 'a1'));
      for (let i = 0; i < 8; i++) expect(await tryPublish(alice, topic, `m${i}`)).toBe(true);
      await waitFor(() => stuck.publishes.length >= 5, { what: 'five live deliveries' });
      const m = await liveMarker(alice, topic, (p) => stuck.publishes.includes(p));
      expect(stuck.publishes).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', m]);
      expect(stuck.closed()).toBe(false);
      // Each offline session: the first five, in order.
      for (const d of ['b1', 'b2']) {
        const c = await connect(a.tcpUrl, `bob:${d}`, tokens.token('bob', d), { clean: false });
        const got = received(c);
        await waitFor(() => got.length >= 5, { what: `queue of ${d}` });
        const m = await liveMarker(alice, topic, (p) => got.some((x) => x.payload === p));
        expect(got.map((x) => x.payload)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', m]);
        c.end(true);
      }
      const drops = (await a.broker.metrics.queueDropped.get()).values;
      expect(drops.map((v) => [v.labels.reason, v.value])).toEqual([['messages', 9]]);
      stuck.end();
      alice.end(true);
    } finally {
      for (const br of brokers) await br.close();
      await redis.stop();
    }
  });
});
