/**
 * The cluster as an operator runs it (`npm run cluster`): a real Redis with
 * AOF, two broker processes and two key-server processes. Conversations span
 * brokers; a broker is SIGKILLed and Redis restarted mid-conversation; an ACL
 * change made on key server 1 is enforced by both brokers within a second.
 *
 * Clients are mqtt.js with real tokens and signed group records; payloads are
 * opaque tagged bytes, since the broker never parses them. "Exactly once in
 * the UI" is the client's de-duplication by message id (DESIGN.md §5.1); the
 * tests check that no acknowledged id is missing, and report transport-level
 * redeliveries (allowed by QoS 1) separately.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../scripts/cluster-lib.ts';
import { waitFor } from '../support/ports.ts';
import {
  connectDevice,
  endClient,
  FAST_KEYSERVER_ENV,
  login,
  signupAndLogin,
  type Login,
} from '../embedded/helpers.ts';
import {
  createGroup,
  createPerson,
  idOf,
  ReliableDm,
  removeMember,
  tagged,
  within,
} from './helpers.ts';

/** Records every message a client receives, per topic, by id. */
class Inbox {
  readonly counts = new Map<string, number>();
  readonly arrivals: { id: string; topic: string; at: number }[] = [];
  constructor(client: MqttClient) {
    client.on('message', (topic, payload) => {
      const id = idOf(payload);
      this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
      this.arrivals.push({ id, topic, at: Date.now() });
    });
  }
  has(id: string): boolean {
    return this.counts.has(id);
  }
  /** Ids received more than once (QoS 1 redeliveries). */
  redelivered(): number {
    let n = 0;
    for (const c of this.counts.values()) if (c > 1) n += c - 1;
    return n;
  }
}

describe('cluster: 2 brokers, 2 key servers, Redis with AOF', () => {
  let cluster: Cluster;
  const clients: MqttClient[] = [];
  let ks1: string;
  let ks2: string;

  const connect = async (
    urls: string | string[],
    who: Login,
    opts: { clean?: boolean; reconnectPeriod?: number } = {},
  ) => {
    const c = await connectDevice(urls, who, opts);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startCluster({
      keyserverEnv: FAST_KEYSERVER_ENV,
      readyTimeoutMs: 90_000,
    });
    [ks1, ks2] = cluster.keyserverUrls as [string, string];
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.splice(0).map(endClient));
    await cluster?.stop();
  });

  it('delivers a DM and a group conversation between members on different brokers', async () => {
    const [b1, b2] = cluster.brokerMqttUrls as [string, string];
    const ws2 = cluster.brokerWsUrls[1] as string;
    // Accounts made on either key server are the same accounts: the key servers are stateless.
    const alice = await createPerson(ks1, 'alice_c');
    const bob = await createPerson(ks2, 'bob_c');
    const carol = await createPerson(ks1, 'carol_c');
    const group = await createGroup(ks2, 'grp_cross', alice, [bob, carol]);

    const a = await connect(b1, alice);
    const b = await connect(ws2, bob);
    const c = await connect(b2, carol);
    const inA = new Inbox(a);
    const inB = new Inbox(b);
    const inC = new Inbox(c);
    await a.subscribeAsync([`sotto/v1/inbox/alice_c/d1`, `sotto/v1/group/${group.groupId}`], {
      qos: 1,
    });
    await b.subscribeAsync([`sotto/v1/inbox/bob_c/d1`, `sotto/v1/group/${group.groupId}`], {
      qos: 1,
    });
    await c.subscribeAsync([`sotto/v1/group/${group.groupId}`], { qos: 1 });

    for (let i = 0; i < 20; i++) {
      await a.publishAsync('sotto/v1/inbox/bob_c/d1', tagged(`dm-ab-${i}`), { qos: 1 });
      await b.publishAsync('sotto/v1/inbox/alice_c/d1', tagged(`dm-ba-${i}`), { qos: 1 });
      await (i % 2 ? c : a).publishAsync(`sotto/v1/group/${group.groupId}`, tagged(`g-${i}`), {
        qos: 1,
      });
    }
    // Every copy must arrive (each receiver is on its own path; the last one sent is not
    // necessarily the last one to land).
    const all = () =>
      Array.from({ length: 20 }, (_, i) => [
        inB.has(`dm-ab-${i}`),
        inA.has(`dm-ba-${i}`),
        inB.has(`g-${i}`),
        inA.has(`g-${i}`),
        inC.has(`g-${i}`),
      ]).every((row) => row.every(Boolean));
    await waitFor(all, { what: 'cross-broker delivery' });
    // A duplicate would travel the same path as its original: one end marker per path, sent
    // after the last message on it, arrives only after any duplicate that path carries.
    await a.publishAsync('sotto/v1/inbox/bob_c/d1', tagged('end-ab'), { qos: 1 });
    await b.publishAsync('sotto/v1/inbox/alice_c/d1', tagged('end-ba'), { qos: 1 });
    for (const [cl, tag] of [
      [a, 'end-ga'],
      [c, 'end-gc'],
    ] as const) {
      await cl.publishAsync(`sotto/v1/group/${group.groupId}`, tagged(tag), { qos: 1 });
    }
    await waitFor(
      () =>
        ['end-ab', 'end-ga', 'end-gc'].every((t) => inB.has(t)) &&
        ['end-ba', 'end-ga', 'end-gc'].every((t) => inA.has(t)) &&
        ['end-ga', 'end-gc'].every((t) => inC.has(t)),
      { what: 'the end marker of every path' },
    );
    for (let i = 0; i < 20; i++) {
      expect(inB.counts.get(`dm-ab-${i}`)).toBe(1);
      expect(inA.counts.get(`dm-ba-${i}`)).toBe(1);
      expect(inB.counts.get(`g-${i}`)).toBe(1);
      expect(inA.counts.get(`g-${i}`)).toBe(1);
      expect(inC.counts.get(`g-${i}`)).toBe(1);
    }
  });

  it('enforces a group removal made on key server 1 on both brokers within one second', async () => {
    const [b1, b2] = cluster.brokerMqttUrls as [string, string];
    const admin = await createPerson(ks1, 'admin_acl');
    const bob = await createPerson(ks1, 'bob_acl');
    const carol = await createPerson(ks2, 'carol_acl');
    let group = await createGroup(ks1, 'grp_acl', admin, [bob, carol]);
    const topic = `sotto/v1/group/${group.groupId}`;
    const a = await connect(b1, admin);
    const b = await connect(b1, bob);
    const c = await connect(b2, carol);
    const inA = new Inbox(a);
    const inB = new Inbox(b);
    const inC = new Inbox(c);
    for (const cl of [a, b, c]) await cl.subscribeAsync(topic, { qos: 1 });
    // Own inboxes (allowed after the removal too): where the end markers arrive.
    await a.subscribeAsync('sotto/v1/inbox/admin_acl/d1', { qos: 1 });
    await b.subscribeAsync('sotto/v1/inbox/bob_acl/d1', { qos: 1 });
    await c.subscribeAsync('sotto/v1/inbox/carol_acl/d1', { qos: 1 });

    // A steady probe stream from the admin (paced on purpose: the check is about time, "within
    // one second", so probes must keep flowing through and past that second); removal of bob
    // (broker 1) and carol (broker 2) at t0.
    const PROBE_INTERVAL_MS = 25;
    let seq = 0;
    let probing = true;
    const probeSentAt = new Map<string, number>();
    const probe = (async () => {
      while (probing) {
        const id = `p-${seq++}`;
        probeSentAt.set(id, Date.now());
        await within(a.publishAsync(topic, tagged(id), { qos: 1 }), 1_000, undefined);
        await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
      }
    })();
    await waitFor(() => inB.has('p-3') && inC.has('p-3'), { what: 'probes before removal' });
    const t0 = Date.now();
    group = await removeMember(ks1, group, admin, bob);
    group = await removeMember(ks1, group, admin, carol);
    const tRemoved = Date.now();
    // Run until the remaining member has a probe published more than a second after the
    // removal (the window the rule is about has passed with probes flowing)...
    await waitFor(() => inA.arrivals.some((x) => (probeSentAt.get(x.id) ?? 0) > tRemoved + 1_000), {
      what: 'a probe published a second after the removal reaches the admin',
    });
    probing = false;
    await probe;
    // ...then an end marker behind the last probe on each removed member's path (same
    // publisher, same brokers, in order): a late probe to them would arrive before it.
    await a.publishAsync('sotto/v1/inbox/bob_acl/d1', tagged('end-b'), { qos: 1 });
    await a.publishAsync('sotto/v1/inbox/carol_acl/d1', tagged('end-c'), { qos: 1 });
    await waitFor(() => inB.has('end-b') && inC.has('end-c'), { what: 'end markers' });

    const lastAt = (inbox: Inbox) =>
      Math.max(...inbox.arrivals.filter((x) => x.topic === topic).map((x) => x.at));
    // Nothing reaches a removed member later than 1 s after the change was accepted.
    expect(lastAt(inB) - tRemoved).toBeLessThan(1_000);
    expect(lastAt(inC) - tRemoved).toBeLessThan(1_000);
    // ...while the remaining member keeps receiving (so the probes really flowed).
    expect(lastAt(inA)).toBeGreaterThan(tRemoved + 1_000);
    expect(tRemoved - t0).toBeLessThan(5_000);

    // And the removed members can neither re-subscribe nor publish to the group.
    const refused = [{ topic, qos: 128 }];
    const grants = await within(
      b.subscribeAsync(topic, { qos: 1 }).catch(() => refused),
      3_000,
      refused,
    );
    expect(grants[0]?.qos).toBe(128);
    const before = inA.counts.size;
    await within(
      c.publishAsync(topic, tagged('from-removed'), { qos: 1 }).catch(() => undefined),
      1_000,
      undefined,
    );
    // Marker on the same path (carol → broker 2 → Redis → broker 1 → admin), sent after: the
    // refused publish, had it gone through, would have reached the admin before it. A fresh
    // connection, since the broker may close one whose publish it refused.
    const c2 = await connect(b2, carol);
    await c2.publishAsync('sotto/v1/inbox/admin_acl/d1', tagged('after-removed'), { qos: 1 });
    await waitFor(() => inA.has('after-removed'), { what: "carol's marker at the admin" });
    expect(inA.has('from-removed')).toBe(false);
    expect(inA.counts.size).toBe(before + 1); // the marker only
  });

  /** Gap between two messages of a {@link conversation}. */
  const SEND_PACE_MS = 5;

  /** Run a reliable DM of `total` messages from `sender` to `receiver`, calling `fault` part-way. */
  async function conversation(
    tag: string,
    urls: { sender: string[]; receiver: string[] },
    total: number,
    faultAt: number,
    fault: () => Promise<void>,
  ): Promise<ReliableDm> {
    // DMs need no published keys at the transport level: a login is enough.
    const sender = await signupAndLogin(ks1, `${tag}_s`, 'd1');
    const receiver = await signupAndLogin(ks2, `${tag}_r`, 'd1');
    const s = await connect(urls.sender, sender, { clean: false, reconnectPeriod: 200 });
    const r = await connect(urls.receiver, receiver, { clean: false, reconnectPeriod: 200 });
    const dm = new ReliableDm(s, r, `sotto/v1/inbox/${tag}_s/d1`, `sotto/v1/inbox/${tag}_r/d1`);
    await dm.start();
    for (let i = 0; i < total; i++) {
      if (i === faultAt) await fault();
      dm.send(`${tag}-${i}`);
      // Paced on purpose (about time, not synchronisation): spread the messages so the fault
      // lands mid-conversation with messages in flight on both sides of it.
      await new Promise((res) => setTimeout(res, SEND_PACE_MS));
    }
    await waitFor(() => dm.pending() === 0, {
      timeoutMs: 60_000,
      what: `every ${tag} message receipted`,
    });
    dm.stop();
    return dm;
  }

  it('moves clients to the other broker when one is SIGKILLed; every message is shown exactly once', async () => {
    const [b1, b2] = cluster.brokerMqttUrls as [string, string];
    const total = 300;
    try {
      // Both start on broker 1 and know broker 2 as the fallback; persistent sessions, QoS 1.
      const dm = await conversation(
        'fo',
        { sender: [b1, b2], receiver: [b1, b2] },
        total,
        100,
        () => cluster.kill('broker1', 'SIGKILL'),
      );
      expect(cluster.members.get('broker1')?.running()).toBe(false);
      expect(dm.receipted.size).toBe(total);
      expect(dm.shown()).toEqual(dm.sent);
      console.log(
        `broker failover: ${total} sent, ${dm.shown().size} shown once each; ` +
          `${dm.resends} outbox re-sends, ${dm.duplicates()} transport duplicates dropped by id`,
      );
    } finally {
      await cluster.restart('broker1');
    }
  });

  it('loses nothing when Redis restarts (AOF) mid-conversation', async () => {
    const [b1, b2] = cluster.brokerMqttUrls as [string, string];
    const total = 200;
    const dm = await conversation('rr', { sender: [b1, b2], receiver: [b2, b1] }, total, 100, () =>
      cluster.restart('redis'),
    );
    expect(dm.receipted.size).toBe(total);
    expect(dm.shown()).toEqual(dm.sent);
    console.log(
      `redis restart: ${total} sent, ${dm.shown().size} shown once each; ` +
        `${dm.resends} outbox re-sends, ${dm.duplicates()} transport duplicates dropped by id`,
    );
    // Accounts written before the restart are still there (AOF replay), on either key server.
    const login2 = await login(ks2, 'rr_r', 'd1');
    expect(login2.accessToken).toMatch(/^ey/);
  });

  it('keeps every process up, logging no errors beyond the Redis outage it was put through', () => {
    // A Redis restart makes clients report the dropped connection (EPIPE, ECONNREFUSED…) once;
    // that is expected. Anything else is a defect.
    const outage = /EPIPE|ECONNREFUSED|ECONNRESET|Connection is closed|Socket closed|LOADING/;
    for (const [name, member] of cluster.members) {
      // On failure, show how the process ended.
      expect(member.running(), `${name}:\n${cluster.output(name).slice(-40).join('\n')}`).toBe(
        true,
      );
      expect(
        cluster.errorLines(name).filter((l) => !outage.test(l)),
        name,
      ).toEqual([]);
    }
  });
});
