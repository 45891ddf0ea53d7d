/**
 * Ordered delivery of queued group messages (issue 20, item 1): a member who was offline while
 * another sent 300 group messages gets them in send order on its return — the `message` events
 * come in send order, and its store (memory, SQLite) lists them in send order, as does the
 * sender's own. Sent one after another and all at once, to a member that knew the group and to
 * one that was offline since before the group existed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { SottoClient } from '../src/engine.ts';
import type { ClientStore } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { createSqliteStore } from '../src/stores/sqlite.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

const COUNT = 300;

let srv: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'sotto-group-order-'));
const clients: SottoClient[] = [];

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

function track(c: SottoClient): SottoClient {
  clients.push(c);
  if (process.env.DEBUG_E2E) c.on('error', (e) => console.log('ERR', e));
  return c;
}

const stores: Record<string, () => ClientStore> = {
  memory: () => createMemoryStore(),
  SQLite: () => createSqliteStore({ path: join(dir, `${uname('s')}.db`) }),
};

/** The texts of a conversation as its store lists them (oldest first), without timeline lines. */
async function storedTexts(c: SottoClient, conversation: string): Promise<string[]> {
  const list = await c.store.listMessages(conversation, { limit: COUNT + 20, from: 'oldest' });
  return list.filter((m) => m.kind !== 'notice').map((m) => m.body.text as string);
}

const cases = [
  { store: 'memory', together: false, joinedOffline: false },
  { store: 'SQLite', together: false, joinedOffline: false },
  { store: 'memory', together: true, joinedOffline: true },
  { store: 'SQLite', together: true, joinedOffline: true },
];

describe('queued group messages', () => {
  it.each(cases)(
    'reach a member that was offline in send order ($store store, sent at once: $together, offline since before the group: $joinedOffline)',
    async ({ store, together, joinedOffline }) => {
      const makeStore = stores[store]!;
      const alice = track(makeClient(srv, makeStore()));
      const bob = track(makeClient(srv, makeStore()));
      const a = uname('alice');
      const b = uname('bob');
      await alice.register(a, 'correct horse battery', { kind: 'bot' });
      await bob.register(b, 'correct horse battery', { kind: 'bot' });
      await alice.start();
      await bob.start();
      const bobStore = bob.store;
      let groupId: string;
      if (joinedOffline) {
        await bob.close();
        groupId = await alice.groups.create('Ordered', [b]);
      } else {
        groupId = await alice.groups.create('Ordered', [b]);
        const seen: string[] = [];
        bob.on('message', (m) => seen.push(m.body.text as string));
        await alice.sendText(`group:${groupId}`, 'm0');
        await until(() => seen.includes('m0'), 'bob reads the first message');
        await bob.close();
      }
      const conversation = `group:${groupId}`;

      const sent = Array.from({ length: COUNT }, (_, i) => `m${i + 1}`);
      if (together) await Promise.all(sent.map((text) => alice.sendText(conversation, text)));
      else for (const text of sent) await alice.sendText(conversation, text);

      const back = track(makeClient(srv, bobStore));
      const got: string[] = [];
      back.on('message', (m) => {
        if (m.conversationId === conversation) got.push(m.body.text as string);
      });
      await back.start();
      await until(() => got.length >= COUNT, `bob receives ${COUNT} messages`, 60_000);
      expect(got).toEqual(sent);
      const expected = joinedOffline ? sent : ['m0', ...sent];
      expect(await storedTexts(back, conversation)).toEqual(expected);
      expect(await storedTexts(alice, conversation)).toEqual(expected);
    },
    120_000,
  );

  it('that overtook their sender key are applied in send order once the key arrives (MQTT orders per topic only)', async () => {
    const a = uname('alice');
    const b = uname('bob');
    // Alice's connection holds back her first publish to Bob's inbox (the sender key) until
    // 150 group messages went out after it: a reordering across topics that MQTT allows.
    let hold = false;
    let bobInbox = '';
    const reorder = (c: MqttClient): MqttClient => {
      const publish = c.publish.bind(c) as (...args: unknown[]) => MqttClient;
      let held: unknown[] | null = null;
      let after = 0;
      (c as unknown as { publish: (...args: unknown[]) => MqttClient }).publish = (...args) => {
        const topic = args[0] as string;
        if (hold && held === null && topic === bobInbox) {
          held = args;
          return c;
        }
        publish(...args);
        if (held !== null && topic.startsWith('sotto/v1/group/') && ++after === COUNT / 2) {
          publish(...held);
          hold = false;
        }
        return c;
      };
      return c;
    };
    // No re-sends from Alice during the test: only the first copies travel.
    const alice = track(makeClient(srv, createMemoryStore(), reorder, { resendAfterMs: 600_000 }));
    const bob = track(makeClient(srv, createMemoryStore()));
    await alice.register(a, 'correct horse battery', { kind: 'bot' });
    await bob.register(b, 'correct horse battery', { kind: 'bot' });
    await alice.start();
    await bob.start();
    bobInbox = `sotto/v1/inbox/${b}/${bob.account!.deviceId}`;
    const groupId = await alice.groups.create('Overtaken', [b]);
    await until(async () => !!(await bob.store.getGroup(groupId)), 'bob learns the group');
    const conversation = `group:${groupId}`;
    const bobStore = bob.store;
    await bob.close();

    hold = true;
    const sent = Array.from({ length: COUNT }, (_, i) => `m${i + 1}`);
    for (const text of sent) await alice.sendText(conversation, text);
    // The sender key goes out after half of the messages (the engine paces its publishes: at most
    // 100 wait for their PUBACK, so the last ones may still be on their way here).
    await until(() => !hold, 'the held sender key went out', 30_000);

    const back = track(makeClient(srv, bobStore));
    const got: string[] = [];
    back.on('message', (m) => {
      if (m.conversationId === conversation) got.push(m.body.text as string);
    });
    await back.start();
    await until(() => got.length >= COUNT, `bob receives ${COUNT} messages`, 60_000);
    expect(got).toEqual(sent);
    expect(await storedTexts(back, conversation)).toEqual(sent);
  }, 120_000);
});
