/**
 * Reliability and trust end to end (DESIGN.md §5.1): offline recipient,
 * reordered and duplicated delivery, edits/reactions/deletes/read receipts,
 * key change detection — against the real key server and broker.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import { isClientError } from '../src/errors.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];

function client(wrap?: (c: MqttClient) => MqttClient): SottoClient {
  const c = makeClient(srv, undefined, wrap);
  if (process.env.DEBUG_E2E) c.on('error', (e) => console.log('ERR', e));
  clients.push(c);
  return c;
}

async function pair(): Promise<{ alice: SottoClient; bob: SottoClient; a: string; b: string }> {
  const alice = client();
  const bob = client();
  const a = uname('alice');
  const b = uname('bob');
  await alice.register(a, 'correct horse battery');
  await bob.register(b, 'correct horse battery');
  return { alice, bob, a, b };
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('reliability', () => {
  it('a recipient offline for the whole conversation reads everything, in order, on return', async () => {
    const { alice, bob, b } = await pair();
    await alice.start();
    // Bob never connected yet: the broker has no session for him, only the outbox holds the messages.
    for (let i = 0; i < 5; i++) await alice.sendText(b, `offline ${i}`);
    expect((await alice.store.listOutbox()).length).toBe(5);
    const got: string[] = [];
    bob.on('message', (m) => got.push(m.body.text as string));
    await bob.start();
    await until(() => got.length === 5, 'bob reads all five');
    expect(got).toEqual(['offline 0', 'offline 1', 'offline 2', 'offline 3', 'offline 4']);
    await until(async () => (await alice.store.listOutbox()).length === 0, 'all acknowledged');
    // Nothing shown twice even though the outbox re-sent on the periodic timer: a marker sent
    // after the outbox emptied arrives after any copy still on its way (same inbox, in order).
    await alice.sendText(b, 'marker');
    await until(() => got.includes('marker'), 'the marker');
    expect(got).toEqual([
      'offline 0',
      'offline 1',
      'offline 2',
      'offline 3',
      'offline 4',
      'marker',
    ]);
  });

  it('shows reordered and duplicated deliveries once each and acknowledges duplicates', async () => {
    // Alice's transport holds back publishes to Bob's inbox; the test then
    // releases them in reverse order, and every one of them twice.
    let hold = false;
    const held: [string, Buffer][] = [];
    let rawPublish: ((t: string, p: Buffer) => void) | null = null;
    const wrap = (c: MqttClient): MqttClient => {
      const original = c.publish.bind(c) as (
        t: string,
        p: Buffer,
        o: object,
        cb?: (e?: Error) => void,
      ) => MqttClient;
      rawPublish = (t, p) => void original(t, p, { qos: 1 });
      (c as unknown as { publish: typeof original }).publish = (t, p, o, cb) => {
        if (hold && t.includes('/inbox/')) {
          held.push([t, p]);
          cb?.();
          return c;
        }
        return original(t, p, o, cb);
      };
      return c;
    };
    const alice = client(wrap);
    const bob = client();
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery');
    await bob.register(b, 'correct horse battery');
    await alice.start();
    await bob.start();
    const got: string[] = [];
    bob.on('message', (m) => got.push(m.body.text as string));
    await alice.sendText(b, 'first');
    await until(() => got.length === 1, 'session established');
    await until(async () => (await alice.store.listOutbox()).length === 0, 'first acknowledged');
    hold = true;
    for (let i = 0; i < 4; i++) await alice.sendText(b, `m${i}`);
    hold = false;
    expect(held.length).toBe(4);
    const reversed = held.slice().reverse();
    for (const [t, p] of reversed) rawPublish!(t, p);
    for (const [t, p] of reversed) rawPublish!(t, p);
    await until(() => got.length === 5, 'all four arrive');
    expect(got.slice(1).sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
    // Re-sent copies (same ids, fresh encryption) are acknowledged again, never shown again.
    await alice.flushOutbox();
    await until(async () => (await alice.store.listOutbox()).length === 0, 'acknowledged');
    // A marker sent after the re-sent copies arrives after them (same inbox, in order).
    await alice.sendText(b, 'marker');
    await until(() => got.includes('marker'), 'the marker');
    expect(got.length).toBe(6);
  });

  it('applies edits, reactions, delete-for-everyone and read receipts on both sides', async () => {
    const { alice, bob, a, b } = await pair();
    await alice.start();
    await bob.start();
    const updates: MessageRecord[] = [];
    bob.on('messageUpdate', (m) => updates.push(m));
    const m1 = await alice.sendText(b, 'helo');
    const m2 = await alice.sendText(b, 'to be deleted');
    await until(async () => (await bob.store.getMessage(m2.id)) !== null, 'bob has both');
    await alice.edit(b, m1.id, 'hello');
    await alice.deleteForEveryone(b, m2.id);
    await until(() => updates.length === 2, 'two updates at bob');
    expect((await bob.store.getMessage(m1.id))?.body.text).toBe('hello');
    expect((await bob.store.getMessage(m1.id))?.edited).toBe(true);
    expect((await bob.store.getMessage(m2.id))?.deleted).toBe(true);
    expect((await alice.store.getMessage(m2.id))?.deleted).toBe(true);
    await bob.react(a, m1.id, '👍');
    await until(
      async () => (await alice.store.getMessage(m1.id))?.reactions[b] === '👍',
      'reaction at alice',
    );
    // Read receipts on demand.
    expect(
      (await bob.store.listConversations()).find((c) => c.conversationId === `dm:${a}`)?.unread,
    ).toBe(2);
    await bob.markRead(`dm:${a}`);
    await until(
      async () => Object.values((await alice.store.getMessage(m1.id))!.status).includes('read'),
      'read receipt at alice',
    );
    expect((await bob.store.search('hello')).map((h) => h.message.id)).toEqual([m1.id]);
  });
});

describe('key trust', () => {
  it('detects a changed identity key and blocks sending to a verified contact until accepted', async () => {
    const { alice, bob, b } = await pair();
    await alice.start();
    await alice.sendText(b, 'hi');
    const sn = await alice.trust.safetyNumber(b);
    expect(sn).toMatch(/^\d{60}$/);
    await alice.trust.setVerified(b, true);
    await bob.close();

    // Bob loses his device and starts over with a new identity key.
    const bob2 = client();
    await bob2.login(b, 'correct horse battery', { resetIdentity: true });
    const changes: { user: string; blocked: boolean }[] = [];
    alice.on('keyChange', (e) => changes.push(e));
    await alice.trust.refresh(b);
    expect(changes).toEqual([{ user: b, verified: true, blocked: true }]);
    const err = await alice.sendText(b, 'are you still you?').catch((e: unknown) => e);
    expect(isClientError(err, 'KEY_CHANGED')).toBe(true);
    expect(await alice.trust.safetyNumber(b)).toBe(sn);

    await alice.trust.acceptKeyChange(b);
    expect(await alice.trust.safetyNumber(b)).not.toBe(sn);
    expect((await alice.trust.contact(b))?.verified).toBe(false);
    const got: string[] = [];
    bob2.on('message', (m) => got.push(m.body.text as string));
    await bob2.start();
    await alice.sendText(b, 'welcome back');
    await until(() => got.includes('welcome back'), 'new bob reads it');
  });
});
