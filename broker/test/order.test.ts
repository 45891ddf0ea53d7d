/**
 * Ordered delivery of queued messages (issue 20, item 1; MQTT 3.1.1 §4.6): a persistent session
 * that was away while three publishers interleaved group messages and DMs gets, on its return,
 * every message once and each publisher's messages on each topic in the order they were sent.
 * Raw mqtt.js clients against the in-memory persistence (with the test store and with the key
 * server's real SQLite store answering the ACL queries), the Redis persistence, and two brokers
 * sharing one Redis (published on A, resumed on B).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore, type Store } from '@sotto/server-core/store';
import {
  brokerDropped,
  closed,
  connect,
  createTokens,
  FakeStore,
  received,
  startClusterBroker,
  startTestBroker,
  storedSubscribers,
  subscribe,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';

/** Messages per publisher and topic. */
const PER = 100;
const PUBLISHERS = ['alice:a1', 'carol:c1', 'dave:d1'] as const;
const GROUP = 'sotto/v1/group/g';

interface Setup {
  publishUrl: string;
  resumeUrl: string;
  resumer: TestBroker;
  publisher: TestBroker;
  token: (user: string, device: string) => string;
}

/**
 * Bob's device `device` subscribes to the group and its inbox with a persistent session and
 * leaves; the three publishers each send PER group messages and PER DMs, interleaved and
 * pipelined (no waiting for PUBACKs); Bob comes back after they were all acknowledged, or
 * (`midStream`) once a third was, and must get all of them, each once, each publisher's in order
 * per topic, on a connection that stays up.
 */
async function queuedInOrder(t: Setup, device: string, midStream: boolean): Promise<void> {
  const clientId = `bob:${device}`;
  const inbox = `sotto/v1/inbox/bob/${device}`;
  const first = await connect(t.resumeUrl, clientId, t.token('bob', device), { clean: false });
  expect(await subscribe(first, [GROUP, inbox])).toEqual([1, 1]);
  first.end();
  await closed(first);
  await brokerDropped(t.resumer.broker, clientId);
  await waitFor(async () => (await storedSubscribers(t.publisher, GROUP)).includes(clientId), {
    what: 'stored subscription',
  });

  const pubs = await Promise.all(
    PUBLISHERS.map((id) => {
      const [user, dev] = id.split(':') as [string, string];
      return connect(t.publishUrl, id, t.token(user, dev));
    }),
  );
  const total = 2 * PER * PUBLISHERS.length;
  let acked = 0;
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < PER; i++) {
    pubs.forEach((p, k) => {
      for (const topic of [GROUP, inbox])
        acks.push(p.publishAsync(topic, `${k}:${i}`, { qos: 1 }).then(() => acked++));
    });
  }
  // Bob comes back mid-stream: the queue, then what is still being published.
  if (midStream) await waitFor(() => acked >= total / 3, { what: 'a third acknowledged' });
  else await Promise.all(acks);

  const back = await connect(t.resumeUrl, clientId, t.token('bob', device), { clean: false });
  let closes = 0;
  back.on('close', () => closes++);
  const got = received(back);
  await Promise.all(acks);
  await waitFor(() => got.length >= total, { what: `${total} messages`, timeoutMs: 60_000 });
  for (const topic of [GROUP, inbox]) {
    const on = got.filter((m) => m.topic === topic).map((m) => m.payload);
    expect(new Set(on).size).toBe(on.length); // each once
    PUBLISHERS.forEach((_, k) => {
      const mine = on.filter((p) => p.startsWith(`${k}:`)).map((p) => Number(p.split(':')[1]));
      expect(mine).toEqual(Array.from({ length: PER }, (_, i) => i));
    });
  }
  expect(got).toHaveLength(total);
  expect(closes).toBe(0);
  back.end(true);
  for (const p of pubs) p.end(true);
}

describe('one broker, in-memory persistence', { timeout: 120_000 }, () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startTestBroker({
      presence: false,
      limits: { publishRatePerSec: 5_000, publishBurst: 5_000 },
    });
    t.store
      .addUser('alice', 'a1')
      .addUser('carol', 'c1')
      .addUser('dave', 'd1')
      .addUser('bob', 'b1', 'b2')
      .setGroup('g', ['alice', 'bob', 'carol', 'dave']);
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([false, true])(
    'three interleaved publishers: group and inbox queues arrive in order, each once (mid-stream: %s)',
    async (midStream) => {
      await queuedInOrder(
        {
          publishUrl: t.tcpUrl,
          resumeUrl: t.tcpUrl,
          publisher: t,
          resumer: t,
          token: (u, d) => t.tokens.token(u, d),
        },
        midStream ? 'b2' : 'b1',
        midStream,
      );
    },
  );
});

describe(
  'one broker, in-memory persistence, the key server SQLite store answering',
  { timeout: 120_000 },
  () => {
    let t: TestBroker;
    let store: Store;
    const dir = mkdtempSync(join(tmpdir(), 'sotto-order-'));
    beforeAll(async () => {
      store = createSqliteStore({ filename: join(dir, 'keyserver.db') });
      for (const [user, dev] of [
        ['alice', 'a1'],
        ['carol', 'c1'],
        ['dave', 'd1'],
        ['bob', 'b1'],
        ['bob', 'b2'],
      ] as const) {
        if (!(await store.userExists(user)))
          await store.createUser({ username: user, passwordHash: 'x', createdAt: 0 });
        await store.activateDevice(user, dev);
      }
      await store.createGroup(
        'g',
        new Uint8Array([0]),
        ['alice', 'bob', 'carol', 'dave'].map((username) => ({ username, admin: false })),
      );
      t = await startTestBroker({
        store: store as unknown as FakeStore,
        presence: false,
        limits: { publishRatePerSec: 5_000, publishBurst: 5_000 },
      });
    });
    afterAll(async () => {
      await t?.close();
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it.each([false, true])(
      'three interleaved publishers: group and inbox queues arrive in order, each once (mid-stream: %s)',
      async (midStream) => {
        await queuedInOrder(
          {
            publishUrl: t.tcpUrl,
            resumeUrl: t.tcpUrl,
            publisher: t,
            resumer: t,
            token: (u, d) => t.tokens.token(u, d),
          },
          midStream ? 'b2' : 'b1',
          midStream,
        );
      },
    );
  },
);

describe('Redis persistence', { timeout: 120_000 }, () => {
  let redis: RedisProcess;
  let a: TestBroker;
  let b: TestBroker;
  const tokens = createTokens();
  beforeAll(async () => {
    redis = await startRedis();
    const store = new FakeStore()
      .addUser('alice', 'a1')
      .addUser('carol', 'c1')
      .addUser('dave', 'd1')
      .addUser('bob', 'b1', 'b2', 'b3', 'b4')
      .setGroup('g', ['alice', 'bob', 'carol', 'dave']);
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
  const token = (u: string, d: string) => tokens.token(u, d);

  it.each([false, true])('one broker: the same (mid-stream: %s)', async (midStream) => {
    await queuedInOrder(
      { publishUrl: a.tcpUrl, resumeUrl: a.tcpUrl, publisher: a, resumer: a, token },
      midStream ? 'b2' : 'b1',
      midStream,
    );
  });

  it.each([false, true])(
    'two brokers: published on A, the session resumes on B — the same (mid-stream: %s)',
    async (midStream) => {
      await queuedInOrder(
        { publishUrl: a.tcpUrl, resumeUrl: b.tcpUrl, publisher: a, resumer: b, token },
        midStream ? 'b4' : 'b3',
        midStream,
      );
    },
  );
});
