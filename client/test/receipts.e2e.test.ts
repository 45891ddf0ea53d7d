/**
 * Receipts for a burst (issue 6, PROTOCOL.md §12 `receipt`): a recipient that reads messages as
 * they arrive answers a burst with a few batched receipts, not one per message, and the sender
 * still sees every message read — against the real key server and broker.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('receipts for a burst', () => {
  it('a burst read as it arrives costs far fewer receipts than messages; the sender sees all read', async () => {
    const N = 300;
    // Envelopes reaching the sender's inbox: in this test, only the recipient's receipts.
    let inbound = 0;
    const count = (c: MqttClient): MqttClient => {
      c.on('message', (topic) => {
        if (topic.includes('/inbox/')) inbound++;
      });
      return c;
    };
    const alice = makeClient(srv, undefined, count);
    const bob = makeClient(srv);
    clients.push(alice, bob);
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery');
    await bob.register(b, 'correct horse battery');
    await alice.start();
    await bob.start();
    let got = 0;
    bob.on('message', () => got++);
    await alice.sendText(b, 'hello');
    await until(async () => (await alice.store.listOutbox()).length === 0, 'first acknowledged');
    inbound = 0;
    // Bob's screen shows the conversation: every arrival marks it read (the worst case).
    bob.on('message', () => void bob.markRead(`dm:${a}`));
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push((await alice.sendText(b, `burst ${i}`)).id);
    await until(() => got === N + 1, 'bob has the burst', 60_000);
    await until(
      async () => {
        for (const id of ids) {
          const m = await alice.store.getMessage(id);
          if (!Object.values(m?.status ?? {}).includes('read')) return false;
        }
        return true;
      },
      'every message read at alice',
      60_000,
    );
    expect(inbound).toBeLessThan(N / 10);
    expect(await alice.store.listOutbox()).toEqual([]);
    // Nothing left unread at Bob, and nothing shown twice.
    const conv = (await bob.store.listConversations()).find((c) => c.conversationId === `dm:${a}`);
    expect(conv?.unread).toBe(0);
    expect(got).toBe(N + 1);
  });
});
