/**
 * Load across the cluster: bot clients split over two brokers exchange DMs
 * and group messages at QoS 1. Nothing may be lost, nothing delivered twice,
 * no process may log an error; broker memory is sampled and reported.
 *
 * Size is configurable so CI stays small and the benchmark runs the full
 * size (`npm run bench` sets SOTTO_LOAD_BOTS=200 SOTTO_LOAD_MESSAGES=100000):
 *   SOTTO_LOAD_BOTS      bot clients (default 20)
 *   SOTTO_LOAD_MESSAGES  messages published in total (default 2,000)
 *   SOTTO_LOAD_REPORT    write the figures as JSON to this file
 */
import { writeFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../scripts/cluster-lib.ts';
import { connectDevice, endClient, FAST_KEYSERVER_ENV } from '../embedded/helpers.ts';
import { waitFor } from '../support/ports.ts';
import { createGroup, createPerson, type Person } from './helpers.ts';

const BOTS = Number(process.env.SOTTO_LOAD_BOTS ?? 20);
const MESSAGES = Number(process.env.SOTTO_LOAD_MESSAGES ?? 2_000);
const GROUP_SIZE = 5;
/** Share of messages sent to a group rather than as a DM. */
const GROUP_SHARE = 0.2;
/** Unacknowledged publishes each bot keeps in flight. */
const WINDOW = 16;

/** Deterministic PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

describe(`load: ${BOTS} bots on 2 brokers, ${MESSAGES} QoS 1 messages`, () => {
  let cluster: Cluster;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      keyserverEnv: FAST_KEYSERVER_ENV,
      // The per-client publish cap protects a public broker from one abusive client; bots in a
      // load test are supposed to push, so it is raised here (see docs/OPERATIONS.md).
      brokerEnv: {
        PUBLISH_RATE: '100000',
        PUBLISH_BURST: '100000',
        LOG_LEVEL: process.env.SOTTO_LOAD_BROKER_LOG ?? 'warn',
      },
      readyTimeoutMs: 90_000,
    });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.splice(0).map(endClient));
    await cluster?.stop();
  });

  /**
   * One load run. `persistent` = MQTT persistent sessions (clean=false), as the client
   * engine uses for DMs and groups (DESIGN.md §4.2); `prefix` keeps the runs' accounts apart.
   */
  async function runLoad(prefix: string, persistent: boolean): Promise<void> {
    const ks = cluster.keyserverUrls;
    const brokers = cluster.brokerMqttUrls;
    const rand = prng(7);

    // ---- bots: accounts (alternating key servers), groups of GROUP_SIZE ----
    const bots: Person[] = [];
    for (let i = 0; i < BOTS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, BOTS - i) }, (_, k) =>
          createPerson(ks[(i + k) % ks.length] as string, `${prefix}${i + k}`, 'b'),
        ),
      );
      bots.push(...batch);
    }
    const groups: { id: string; members: number[] }[] = [];
    for (let g = 0; g * GROUP_SIZE + 1 < BOTS; g++) {
      const members = Array.from({ length: GROUP_SIZE }, (_, k) => g * GROUP_SIZE + k).filter(
        (i) => i < BOTS,
      );
      const [first, ...rest] = members.map((i) => bots[i] as Person);
      const state = await createGroup(
        ks[g % ks.length] as string,
        `${prefix}_g${g}`,
        first as Person,
        rest,
      );
      groups.push({ id: state.groupId, members });
    }
    const groupOf = (bot: number) => groups.find((g) => g.members.includes(bot));

    // ---- connect: even bots on broker 1, odd on broker 2 ----
    const received = new Map<string, number>(); // `${receiver}|${id}` → count
    const markers = new Set<string>(); // `${receiver}|${marker id}` of the end markers
    const latencies: number[] = [];
    const conns: MqttClient[] = [];
    for (let i = 0; i < BOTS; i++) {
      const c = await connectDevice(brokers[i % brokers.length] as string, bots[i] as Person, {
        clean: !persistent,
      });
      const me = i;
      c.on('message', (_topic, payload) => {
        const text = payload.subarray(0, payload.indexOf(0x7c)).toString();
        const [id, sentAt] = text.split('@');
        const key = `${me}|${id}`;
        if (id?.startsWith('end-')) {
          markers.add(key);
          return;
        }
        received.set(key, (received.get(key) ?? 0) + 1);
        latencies.push(Date.now() - Number(sentAt));
      });
      const subs = [`sotto/v1/inbox/${prefix}${i}/b`];
      const g = groupOf(i);
      if (g) subs.push(`sotto/v1/group/${g.id}`);
      // One filter per SUBSCRIBE: with clean=false in cluster mode, a multi-filter SUBSCRIBE
      // currently gets no SUBACK from the broker (reported to the broker package).
      for (const topic of subs) await c.subscribeAsync(topic, { qos: 1 });
      conns.push(c);
      clients.push(c);
    }

    // ---- plan: who sends what to whom ----
    const expected = new Set<string>();
    const plan: { from: number; topic: string; id: string; to: number[] }[] = [];
    for (let n = 0; n < MESSAGES; n++) {
      const from = Math.floor(rand() * BOTS);
      const g = groupOf(from);
      const id = `m${n}`;
      if (g && rand() < GROUP_SHARE) {
        plan.push({ from, topic: `sotto/v1/group/${g.id}`, id, to: g.members });
        for (const m of g.members) expected.add(`${m}|${id}`); // MQTT 3.1.1 echoes to the sender
      } else {
        let to = Math.floor(rand() * (BOTS - 1));
        if (to >= from) to++;
        plan.push({ from, topic: `sotto/v1/inbox/${prefix}${to}/b`, id, to: [to] });
        expected.add(`${to}|${id}`);
      }
    }

    // ---- send: each bot its share, WINDOW publishes in flight ----
    const pad = Buffer.alloc(160, 0xa5); // ~ a padded short text message
    const memory = { broker1: 0, broker2: 0 };
    const sampler = setInterval(() => {
      memory.broker1 = Math.max(memory.broker1, cluster.rss('broker1') ?? 0);
      memory.broker2 = Math.max(memory.broker2, cluster.rss('broker2') ?? 0);
    }, 250);
    const started = Date.now();
    let acked = 0;
    const progress = setInterval(() => {
      const down = conns.filter((c) => !c.connected).length;
      console.log(
        `load progress: ${acked}/${MESSAGES} acked, ${received.size}/${expected.size} delivered, ${down} disconnected`,
      );
    }, 5_000);
    await Promise.all(
      conns.map(async (c, bot) => {
        const mine = plan.filter((p) => p.from === bot);
        const inflight = new Set<Promise<unknown>>();
        for (const p of mine) {
          const body = Buffer.concat([Buffer.from(`${p.id}@${Date.now()}|`), pad]);
          const pr = c.publishAsync(p.topic, body, { qos: 1 }).then(() => {
            acked++;
            inflight.delete(pr);
          });
          inflight.add(pr);
          if (inflight.size >= WINDOW) await Promise.race(inflight);
        }
        await Promise.all(inflight);
      }),
    );
    const publishMs = Date.now() - started;
    try {
      await waitFor(() => received.size >= expected.size, {
        timeoutMs: 30_000 + MESSAGES,
        intervalMs: 100,
        what: `${expected.size} deliveries`,
      });
    } catch (err) {
      const missing = [...expected].filter((k) => !received.has(k));
      const groupIds = new Set(plan.filter((p) => p.topic.includes('/group/')).map((p) => p.id));
      const missingGroup = missing.filter((k) => groupIds.has(k.split('|')[1] as string)).length;
      const fromOf = new Map(plan.map((p) => [p.id, p.from]));
      const kinds = new Map<string, number>();
      for (const k of missing) {
        const [rcv, id] = k.split('|') as [string, string];
        const from = fromOf.get(id) as number;
        const kind = `${Number(rcv) === from ? 'self' : 'other'}:${from % 2 === Number(rcv) % 2 ? 'same' : 'cross'}-broker`;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      const refusals = ['broker1', 'broker2'].flatMap((b) =>
        cluster.output(b).filter((l) => /refused|denied|disconnect/i.test(l)),
      );
      console.log(
        'load: deliveries incomplete — ' +
          `${(err as Error).message}: ${received.size}/${expected.size} delivered, ${acked}/${MESSAGES} acked; ` +
          `missing ${missing.length} (${missingGroup} group, ${missing.length - missingGroup} DM), by kind ${JSON.stringify([...kinds])}, e.g. ${missing.slice(0, 8).join(' ')}; ` +
          `broker refusals: ${refusals.length} ${refusals.slice(0, 3).join(' ')}`,
      );
    }
    const totalMs = Date.now() - started;
    // Stragglers (duplicates) travel the path of their original: before counting, each bot
    // sends one end marker on every topic it used, behind its last message there, and every
    // receiver of that topic must have it.
    const expectedMarkers = new Set<string>();
    await Promise.all(
      conns.map(async (c, bot) => {
        const paths = new Map(plan.filter((p) => p.from === bot).map((p) => [p.topic, p.to]));
        let k = 0;
        for (const [topic, to] of paths) {
          const id = `end-${bot}-${k++}`;
          for (const r of to) expectedMarkers.add(`${r}|${id}`);
          await c.publishAsync(topic, Buffer.from(`${id}@${Date.now()}|`), { qos: 1 });
        }
      }),
    );
    await waitFor(() => [...expectedMarkers].every((m) => markers.has(m)), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the end marker of every path',
    });
    clearInterval(sampler);
    clearInterval(progress);

    const lost = [...expected].filter((k) => !received.has(k));
    const unexpected = [...received.keys()].filter((k) => !expected.has(k));
    let duplicates = 0;
    for (const c of received.values()) duplicates += c - 1;
    latencies.sort((a, b) => a - b);
    const report = {
      sessions: persistent ? 'persistent' : 'clean',
      bots: BOTS,
      messages: MESSAGES,
      deliveries: expected.size,
      acked,
      lost: lost.length,
      duplicates,
      publishSeconds: publishMs / 1000,
      totalSeconds: totalMs / 1000,
      messagesPerSecond: Math.round(MESSAGES / (totalMs / 1000)),
      deliveriesPerSecond: Math.round(expected.size / (totalMs / 1000)),
      latencyMs: {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: latencies.at(-1) ?? 0,
      },
      brokerPeakRssMiB: {
        broker1: Math.round(memory.broker1 / 2 ** 20),
        broker2: Math.round(memory.broker2 / 2 ** 20),
      },
    };
    console.log(`load: ${JSON.stringify(report)}`);
    if (process.env.SOTTO_LOAD_REPORT)
      writeFileSync(
        `${process.env.SOTTO_LOAD_REPORT}.${report.sessions}.json`,
        JSON.stringify(report, null, 2),
      );

    expect(acked).toBe(MESSAGES);
    expect(lost).toEqual([]);
    expect(unexpected).toEqual([]);
    expect(duplicates).toBe(0);
    for (const name of cluster.members.keys()) expect(cluster.errorLines(name), name).toEqual([]);
    // Bounded: a broker relaying small messages should stay well under 1 GiB at any size here.
    expect(report.brokerPeakRssMiB.broker1).toBeLessThan(1024);
    expect(report.brokerPeakRssMiB.broker2).toBeLessThan(1024);
  }

  it(
    'delivers every message exactly once, with no error logs and bounded broker memory (clean sessions)',
    () => runLoad('lc', false),
    180_000 + MESSAGES * 5,
  );

  // The client engine's DMs and groups use persistent sessions (DESIGN.md §4.2): the same load
  // again with clean=false, so queued-session bookkeeping in Redis is under load too.
  it(
    'delivers every message exactly once with persistent sessions',
    () => runLoad('lp', true),
    180_000 + MESSAGES * 5,
  );
});
