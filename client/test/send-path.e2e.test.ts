/**
 * The pairwise send path (internal/send-queue.ts, issue 23) over a real key server and broker:
 * a ciphertext leaves only after the session state that produced it is committed, in the same
 * batch as the message and its outbox entries; a failed commit publishes and keeps nothing;
 * sends made while the lock is busy share one commit; and the device lists the sends use are
 * served from memory only within their TTL — a list the key server rewrites is caught once the
 * TTL ends (a hostile proxy in front of the real key server).
 */
import { inboxTopic } from '@sotto/crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SottoClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import type { ClientStore, MessageRecord, StoreOp } from '../src/store/types.ts';
import { forgedDevice } from './support/forge.ts';
import { startHostileProxy, swapIdentity, type HostileProxy } from './support/hostile-proxy.ts';
import { serverFixture } from './support/fixture.ts';
import { uname, until } from './support/server.ts';

const PW = 'correct horse battery';
const TTL = 10_000;
const { server, pool } = serverFixture();
let proxy: HostileProxy;
beforeAll(async () => {
  proxy = await startHostileProxy(server().httpUrl);
});
afterAll(async () => {
  await proxy?.close();
});

/**
 * A memory store whose batches that write a session state can be held (`hold`) or made to fail
 * once (`failNext`); every batch's ops are recorded in `batches`, every message read in
 * `messageReads`.
 */
function gatedStore() {
  const inner = createMemoryStore();
  const batches: StoreOp[][] = [];
  let gate: { reached: boolean; release: () => void; wait: Promise<void> } | null = null;
  let fail = false;
  const store: ClientStore = Object.create(inner) as ClientStore;
  const messageReads: string[] = [];
  store.getMessage = (id) => {
    messageReads.push(id);
    return inner.getMessage(id);
  };
  store.batch = async (ops) => {
    batches.push([...ops]);
    if (ops.some((o) => o.op === 'putSession')) {
      if (fail) {
        fail = false;
        throw new Error('disk full');
      }
      if (gate) {
        const g = gate;
        gate = null;
        g.reached = true;
        await g.wait;
      }
    }
    return inner.batch(ops);
  };
  return {
    store,
    batches,
    /** Ids of the messages read one by one (`getMessage`), in order. */
    messageReads,
    /** Hold the next batch that writes a session state until the function returned is called. */
    hold(): { reached: () => boolean; release: () => void } {
      let release!: () => void;
      const wait = new Promise<void>((r) => (release = r));
      const g = { reached: false, release, wait };
      gate = g;
      return { reached: () => g.reached, release };
    },
    failNext(): void {
      fail = true;
    },
  };
}

/** Every PUBLISH an engine's mqtt.js client is asked to make, by topic, in order. */
function recordPublishes(into: string[]): (c: MqttClient) => MqttClient {
  return (c) => {
    const publish = c.publish.bind(c) as (...args: unknown[]) => MqttClient;
    c.publish = ((topic: string, ...rest: unknown[]) => {
      into.push(topic);
      return publish(topic, ...rest);
    }) as MqttClient['publish'];
    return c;
  };
}

/** Sends that reached the send queue (their `checked` step), over every engine here. */
const checked = { n: 0 };

/** A started engine on `store`, its key server `httpUrl`, publishes recorded into `published`. */
function engine(
  store: ClientStore,
  published: string[],
  extra: { httpUrl?: string; now?: () => number } = {},
): SottoClient {
  return pool.track(
    createClient({
      store,
      http: { baseUrl: extra.httpUrl ?? server().httpUrl },
      mqttConnect: (o) =>
        recordPublishes(published)(mqtt.connect(server().mqttUrl, { ...o, reconnectPeriod: 200 })),
      options: { resendAfterMs: 60_000, directoryTtlMs: TTL },
      trace: (step) => {
        if (step === 'checked') checked.n++;
      },
      ...(extra.now ? { now: extra.now } : {}),
    }),
  );
}

/** Alice (on `store`) and Bob, registered and started, with one message from Alice delivered. */
async function pair(store: ClientStore, published: string[], extra = {}) {
  const alice = engine(store, published, extra);
  const bob = pool.client();
  const a = uname('alice');
  const b = uname('bob');
  await alice.register(a, PW);
  await bob.register(b, PW);
  await alice.start();
  await bob.start();
  const got: MessageRecord[] = [];
  bob.on('message', (m) => got.push(m));
  await alice.sendText(b, 'first');
  await until(() => got.length === 1, 'the first message');
  const bobInbox = inboxTopic(b, bob.account!.deviceId);
  return { alice, bob, a, b, got, bobInbox };
}

const texts = (got: MessageRecord[]) => got.map((m) => m.body.text);

describe('the send path', () => {
  it('publishes a ciphertext only after its session state is committed, with the message', async () => {
    const g = gatedStore();
    const published: string[] = [];
    const { alice, b, got, bobInbox } = await pair(g.store, published);
    const toBob = () => published.filter((t) => t === bobInbox).length;
    const before = toBob();
    const held = g.hold();
    const sent = alice.sendText(b, 'second');
    // The marker: the commit holding the new state was reached (and is held there).
    await until(held.reached, 'the commit of the second message');
    expect(toBob()).toBe(before);
    const commit = g.batches[g.batches.length - 1]!;
    expect(commit.map((o) => o.op)).toEqual(
      expect.arrayContaining(['putMessage', 'putOutbox', 'markSeen', 'putSession']),
    );
    held.release();
    const m = await sent;
    expect(toBob()).toBe(before + 1);
    await until(() => got.some((x) => x.id === m.id), 'bob gets the second');
  });

  it('publishes and keeps nothing when the commit fails, and goes on from the committed state', async () => {
    const g = gatedStore();
    const published: string[] = [];
    const { alice, b, got, bobInbox } = await pair(g.store, published);
    const before = published.filter((t) => t === bobInbox).length;
    const errors: unknown[] = [];
    g.failNext();
    await expect(alice.sendText(b, 'lost')).rejects.toThrow('disk full');
    expect(published.filter((t) => t === bobInbox).length).toBe(before);
    const mine = await alice.store.listMessages(`dm:${b}`);
    expect(mine.map((m) => m.body.text)).toEqual(['first']);
    expect((await alice.store.listOutbox()).some((e) => e.createdAt > mine[0]!.timestamp)).toBe(
      false,
    );
    // The next message goes out on the state that was committed; Bob decrypts it (a state
    // advanced for the lost one would still decrypt, but then the lost one's key was used).
    alice.on('error', (e) => errors.push(e));
    await alice.sendText(b, 'after');
    await until(() => got.length === 2, 'bob gets the next message');
    expect(texts(got)).toEqual(['first', 'after']);
    expect(errors).toEqual([]);
  });

  it('returns the message it committed without reading it back', async () => {
    const g = gatedStore();
    const { alice, b, got } = await pair(g.store, []);
    const reads = g.messageReads.length;
    const m = await alice.sendText(b, 'as committed');
    expect(g.messageReads.slice(reads)).not.toContain(m.id);
    const commit = g.batches.findLast((ops) => ops.some((o) => o.op === 'putMessage'))!;
    const written = commit.find((o) => o.op === 'putMessage');
    expect(written?.op === 'putMessage' && written.message).toEqual(m);
    expect(m).toMatchObject({
      conversationId: `dm:${b}`,
      outgoing: true,
      body: { text: 'as committed' },
    });
    await until(() => got.some((x) => x.id === m.id), 'bob gets it');
  });

  it('keeps no session advanced by a failed commit: the next message uses the committed state', async () => {
    const g = gatedStore();
    const published: string[] = [];
    const { alice, bob, b, got, bobInbox } = await pair(g.store, published);
    const bobDevice = `${b}:${bob.account!.deviceId}`;
    // Bob's receipt for the first message is the last thing that moves Alice's session with him.
    await until(
      async () => (await alice.store.getMessage(got[0]!.id))?.status[bobDevice] === 'delivered',
      'the receipt for the first message',
    );
    const sessionWritten = () => {
      const ops = g.batches[g.batches.length - 1]!;
      const op = ops.find((o) => o.op === 'putSession');
      if (op?.op !== 'putSession') throw new Error('the last batch wrote no session state');
      return op.state;
    };
    const before = published.filter((t) => t === bobInbox).length;
    g.failNext();
    await expect(alice.sendText(b, 'lost')).rejects.toThrow('disk full');
    const lost = sessionWritten();
    const held = g.hold();
    const after = alice.sendText(b, 'after');
    await until(held.reached, 'the commit of the next message');
    // Encrypting is deterministic in the state: the next message, encrypted on the committed
    // state, leaves the state the lost one would have; on a state the lost one advanced in
    // memory it would be one step further (and the lost message's key would be skipped).
    expect(Buffer.from(sessionWritten()).equals(Buffer.from(lost))).toBe(true);
    held.release();
    await after;
    await until(() => got.length === 2, 'bob gets the next message');
    expect(texts(got)).toEqual(['first', 'after']);
    expect(published.filter((t) => t === bobInbox).length).toBe(before + 1);
  });

  it('sends made while the lock is busy share one commit and arrive in order', async () => {
    const g = gatedStore();
    const published: string[] = [];
    const { alice, b, got } = await pair(g.store, published);
    const held = g.hold();
    const first = alice.sendText(b, 'm0');
    await until(held.reached, 'the first commit');
    const commitsBefore = g.batches.length;
    const queued = checked.n;
    const rest = Array.from({ length: 9 }, (_, i) => alice.sendText(b, `m${i + 1}`));
    await until(() => checked.n === queued + 9, 'all 9 queued behind the held commit');
    held.release();
    await Promise.all([first, ...rest]);
    // The commits that carried messages (receive batches of Bob's receipts may come between).
    const commits = g.batches
      .slice(commitsBefore)
      .filter(
        (ops) => ops.some((o) => o.op === 'putSession') && ops.some((o) => o.op === 'putMessage'),
      );
    expect(commits).toHaveLength(1);
    expect(commits[0]!.filter((o) => o.op === 'putMessage')).toHaveLength(9);
    await until(() => got.length === 11, 'bob gets all');
    const sorted = [...got].sort((x, y) => x.timestamp - y.timestamp);
    expect(texts(sorted)).toEqual(['first', ...Array.from({ length: 10 }, (_, i) => `m${i}`)]);
  });

  it('uses a device list from memory only within its TTL; a list rewritten after it is caught', async () => {
    let skew = 0;
    const published: string[] = [];
    const { alice, b, got } = await pair(createMemoryStore(), published, {
      httpUrl: proxy.url,
      now: () => Date.now() + skew,
    });
    const trusted = (await alice.trust.contact(b))!.uik!;
    const lookups = () =>
      proxy.log.filter((r) => r.method === 'GET' && r.path === `/v1/users/${b}`).length;
    // From now on the key server answers for Bob with an identity of the attacker's, whose
    // device the log does not hold.
    const attacker = forgedDevice(b, 'evil1');
    const off = swapIdentity(proxy, b, attacker);
    try {
      const fetched = lookups();
      // Within the TTL (and before half of it, when a list in use is fetched again in the
      // background): from memory, no lookup — the verified list, Bob's real device.
      skew = TTL / 2 - 1_000;
      await alice.sendText(b, 'from memory');
      await until(() => got.length === 2, 'bob gets it');
      expect(lookups()).toBe(fetched);
      // At the TTL the list is not used: it is fetched, and the rewrite is caught.
      skew = TTL;
      await expect(alice.sendText(b, 'to the attacker?')).rejects.toMatchObject({
        code: 'NO_DEVICES',
      });
      expect(lookups()).toBe(fetched + 1);
      expect(published.some((t) => t === inboxTopic(b, 'evil1'))).toBe(false);
      const contact = (await alice.trust.contact(b))!;
      expect(Buffer.from(contact.uik!).equals(Buffer.from(trusted))).toBe(true);
    } finally {
      off();
    }
  });
});
