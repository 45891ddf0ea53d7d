/**
 * Broker failover of the engine (docs/CLIENT.md "Brokers and failover")
 * against real processes: a cluster of one key server and two brokers on a
 * real Redis (scripts/cluster-lib.ts). Both engines know both brokers; the
 * first broker is SIGKILLed mid-conversation and the conversation carries on
 * over the second with nothing lost: every message shown once, every outbox
 * entry acknowledged by a delivered receipt.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../scripts/cluster-lib.ts';
import { FAST_KEYSERVER_ENV } from '../../test/embedded/helpers.ts';
import { createClient, type SottoClient } from '../src/engine.ts';
import type { ClientStore } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { uname, until } from './support/server.ts';

let cluster: Cluster;
const clients: SottoClient[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    keyservers: 1,
    brokers: 2,
    keyserverEnv: FAST_KEYSERVER_ENV,
    readyTimeoutMs: 90_000,
  });
}, 120_000);
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await cluster?.stop();
}, 60_000);

/** An engine that knows both brokers, broker 1 first. */
function engine(store: ClientStore = createMemoryStore()): SottoClient {
  const brokers = cluster.brokerMqttUrls;
  const c = createClient({
    store,
    http: { baseUrl: cluster.keyserverUrls[0]! },
    brokers,
    mqttConnect: (o) => mqtt.connect(brokers[0]!, { ...o, reconnectPeriod: 200 }),
    options: { resendAfterMs: 3000 },
  });
  if (process.env.DEBUG_E2E) c.on('error', (e) => console.log('ERR', e));
  clients.push(c);
  return c;
}

describe('broker failover', () => {
  it('keeps a conversation going with nothing lost when the first broker is killed', async () => {
    const alice = engine();
    const bobStore = createMemoryStore();
    let bob = engine(bobStore);
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery');
    await bob.register(b, 'correct horse battery');
    await alice.start();
    await bob.start();

    const bobGot: string[] = [];
    const aliceGot: string[] = [];
    const onBob = (m: { body: Record<string, unknown> }) => bobGot.push(m.body.text as string);
    bob.on('message', onBob);
    alice.on('message', (m) => aliceGot.push(m.body.text as string));

    await alice.sendText(b, 'hello on broker 1');
    await until(() => bobGot.includes('hello on broker 1'), 'bob reads on broker 1');
    await bob.sendText(a, 'hi back');
    await until(() => aliceGot.includes('hi back'), 'alice reads on broker 1');

    // Bob goes away; his persistent session (in Redis) queues what alice sends now.
    await bob.close();
    for (let i = 0; i < 5; i++) await alice.sendText(b, `queued ${i}`);

    await cluster.kill('broker1', 'SIGKILL');
    expect(cluster.members.get('broker1')?.running()).toBe(false);

    // Alice keeps typing while her engine fails over; bob comes back (broker 1 refuses, broker 2 answers).
    for (let i = 0; i < 10; i++) await alice.sendText(b, `during failover ${i}`);
    bob = engine(bobStore);
    bob.on('message', onBob);
    await bob.start();
    for (let i = 0; i < 10; i++) await bob.sendText(a, `reply ${i}`);

    const expectedBob = [
      ...Array.from({ length: 5 }, (_, i) => `queued ${i}`),
      ...Array.from({ length: 10 }, (_, i) => `during failover ${i}`),
    ];
    const expectedAlice = Array.from({ length: 10 }, (_, i) => `reply ${i}`);
    await until(() => expectedBob.every((t) => bobGot.includes(t)), 'bob reads everything', 45_000);
    await until(
      () => expectedAlice.every((t) => aliceGot.includes(t)),
      'alice reads every reply',
      45_000,
    );
    // Nothing lost: both outboxes drain, i.e. every message came back with a delivered receipt.
    await until(
      async () =>
        (await alice.store.listOutbox()).length === 0 &&
        (await bob.store.listOutbox()).length === 0,
      'both outboxes acknowledged',
      45_000,
    );
    // Nothing shown twice.
    expect(new Set(bobGot).size).toBe(bobGot.length);
    expect(new Set(aliceGot).size).toBe(aliceGot.length);
    expect(alice.connectionState).toBe('online');
    expect(bob.connectionState).toBe('online');
  }, 120_000);
});
