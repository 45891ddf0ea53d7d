/** Two bots exchange DMs over a real key server and broker. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];
const errors: unknown[] = [];

function client(): SottoClient {
  const c = makeClient(srv);
  c.on('error', (e) => errors.push(e));
  if (process.env.DEBUG_E2E) {
    c.on('error', (e) => console.log('ERR', e));
    c.on('connection', (e) => console.log('CONN', e));
  }
  clients.push(c);
  return c;
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('direct messages end to end', () => {
  it('delivers a text both ways, decrypted, with delivered receipts clearing the outbox', async () => {
    const alice = client();
    const bob = client();
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery', { kind: 'bot' });
    await bob.register(b, 'correct horse battery', { kind: 'bot' });
    await alice.start();
    await bob.start();

    const bobGot: MessageRecord[] = [];
    bob.on('message', (m) => bobGot.push(m));
    if (process.env.DEBUG_E2E) bob.on('message', (m) => console.log('BOBGOT', m.body));
    const sent = await alice.sendText(b, 'hello bob');
    await until(() => bobGot.length === 1, 'bob receives');
    expect(bobGot[0]).toMatchObject({
      conversationId: `dm:${a}`,
      sender: a,
      body: { text: 'hello bob' },
      senderKind: 'bot',
    });
    await until(
      async () => (await alice.store.listOutbox()).length === 0,
      'outbox cleared by delivered receipt',
    );
    const stored = await alice.store.getMessage(sent.id);
    expect(Object.values(stored!.status)).toEqual(['delivered']);

    const aliceGot: MessageRecord[] = [];
    alice.on('message', (m) => aliceGot.push(m));
    await bob.sendText(a, 'hi alice', { replyTo: sent.id });
    await until(() => aliceGot.length === 1, 'alice receives reply');
    expect(aliceGot[0]).toMatchObject({
      kind: 'reply',
      body: { text: 'hi alice', replyTo: sent.id },
    });
    expect(errors).toEqual([]);
  });
});
