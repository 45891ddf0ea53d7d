/**
 * Engine logic on the in-memory key server and MQTT broker (support/memory-server.ts): receipts
 * and the outbox, de-duplication of redelivered envelopes, PUBACK after store, the apply
 * handlers (edit, delete, reaction, typing, profile-free kinds), held messages of a verified
 * contact who reset their identity, and retained presence — without a socket (issue 16).
 * Negative checks wait for a marker sent after the thing that must not arrive.
 */
import { deviceClientId, inboxTopic, presenceTopic } from '@sotto/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type ClientEvents, type SottoClient } from '../src/engine.ts';
import { NODE_RECEIVE_BATCH } from '../src/internal/inbound.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import type { SecurityNotice } from '../src/internal/context.ts';
import { startMemoryServer, type MemoryServer } from './support/memory-server.ts';
import { topicMatches } from './support/memory-mqtt.ts';
import { uname, until } from './support/server.ts';

let srv: MemoryServer;

beforeAll(async () => {
  srv = await startMemoryServer();
});
afterAll(async () => {
  await srv?.close();
});

/** Two started engines, `a` and `b`, registered as fresh users. */
async function pair(): Promise<{ alice: SottoClient; bob: SottoClient; a: string; b: string }> {
  const alice = srv.client();
  const bob = srv.client();
  const a = uname('alice');
  const b = uname('bob');
  await alice.register(a, 'correct horse battery');
  await bob.register(b, 'correct horse battery');
  await alice.start();
  await bob.start();
  return { alice, bob, a, b };
}

/** Resolves with the first `event` that satisfies `match`. */
function next<K extends keyof ClientEvents & string>(
  c: SottoClient,
  event: K,
  match: (e: ClientEvents[K]) => boolean = () => true,
): Promise<ClientEvents[K]> {
  return new Promise((resolve) => {
    const on = (e: ClientEvents[K]): void => {
      if (!match(e)) return;
      c.off(event, on);
      resolve(e);
    };
    c.on(event, on);
  });
}

describe('engine on the in-memory broker', () => {
  it('the topic filter matching follows MQTT (+ one level, # the rest)', () => {
    expect(topicMatches('sotto/v1/inbox/+/+', 'sotto/v1/inbox/a/d1')).toBe(true);
    expect(topicMatches('sotto/v1/inbox/+', 'sotto/v1/inbox/a/d1')).toBe(false);
    expect(topicMatches('iot/a/t/#', 'iot/a/t/x/y')).toBe(true);
    expect(topicMatches('iot/a/t/#', 'iot/a/u/x')).toBe(false);
  });

  it('refuses a receive batch size outside 1–1000 when the engine is made', () => {
    for (const receiveBatch of [0, -1, 1.5, 1001, Number.NaN]) {
      expect(
        () =>
          createClient({
            store: createMemoryStore(),
            http: { baseUrl: 'http://127.0.0.1:1' },
            options: { receiveBatch },
          }),
        `receiveBatch ${receiveBatch}`,
      ).toThrow(RangeError);
    }
    expect(() =>
      createClient({
        store: createMemoryStore(),
        http: { baseUrl: 'http://127.0.0.1:1' },
        options: { receiveBatch: NODE_RECEIVE_BATCH },
      }),
    ).not.toThrow();
  });

  it('a DM is stored, the delivered receipt reaches the sender and empties its outbox; read follows markRead', async () => {
    const { alice, bob, a, b } = await pair();
    const got = next(bob, 'message');
    const sent = await alice.sendText(b, 'hello');
    expect((await got).body).toMatchObject({ text: 'hello' });
    await next(alice, 'receipt', (r) => r.messageId === sent.id && r.status === 'delivered');
    expect(await alice.store.listOutbox()).toEqual([]);
    const read = next(alice, 'receipt', (r) => r.messageId === sent.id && r.status === 'read');
    await bob.markRead(`dm:${a}`);
    await read;
    expect(Object.values((await alice.store.getMessage(sent.id))!.status)).toEqual(['read']);
    // The PUBACK for the envelope went out (after its store), so the broker holds nothing.
    const bobId = deviceClientId(b, bob.account!.deviceId);
    expect(srv.broker.acks.some((k) => k.clientId === bobId)).toBe(true);
    await until(() => srv.broker.pending(bobId) === 0, 'bob acknowledged everything');
  });

  it('a redelivered envelope is acknowledged again but shown once', async () => {
    const { alice, bob, b } = await pair();
    const bobInbox = inboxTopic(b, bob.account!.deviceId);
    const envelopes: Uint8Array[] = [];
    srv.broker.intercept = (_id, topic, payload) => {
      if (topic === bobInbox) envelopes.push(payload);
      return true;
    };
    const shown: string[] = [];
    bob.on('message', (m) => shown.push(m.id));
    const first = await alice.sendText(b, 'once');
    await until(() => shown.includes(first.id), 'bob has it');
    srv.broker.intercept = null;
    // The broker delivers the same envelope again (as after a lost PUBACK).
    for (const e of envelopes) srv.broker.publish(bobInbox, e);
    const marker = await alice.sendText(b, 'marker');
    await until(() => shown.includes(marker.id), 'the marker arrived');
    expect(shown.filter((id) => id === first.id)).toHaveLength(1);
    expect((await bob.store.listMessages(`dm:${alice.account!.username}`)).length).toBe(2);
  });

  it('applies edits, deletes and reactions to the message they target, and shows typing', async () => {
    const { alice, bob, a, b } = await pair();
    const m = await alice.sendText(b, 'first draft');
    await until(async () => (await bob.store.getMessage(m.id)) !== null, 'bob has it');

    let update = next(bob, 'messageUpdate', (u) => u.id === m.id);
    await alice.edit(b, m.id, 'final text');
    expect((await update).body).toMatchObject({ text: 'final text' });
    expect((await update).edited).toBe(true);

    update = next(alice, 'messageUpdate', (u) => u.id === m.id);
    await bob.react(a, m.id, '👍');
    expect((await update).reactions).toEqual({ [b]: '👍' });

    const typing = next(bob, 'typing');
    await alice.setTyping(b, true);
    // With the sender's clock (a receiver drops a 'typing' dated before the sender's last message).
    expect(await typing).toEqual({
      conversationId: `dm:${a}`,
      user: a,
      typing: true,
      at: expect.any(Number) as number,
    });

    update = next(bob, 'messageUpdate', (u) => u.id === m.id);
    await alice.deleteForEveryone(b, m.id);
    expect((await update).deleted).toBe(true);
  });

  it("holds a verified contact's messages after their identity reset until the key is accepted", async () => {
    const { alice, bob, a, b } = await pair();
    const hello = await alice.sendText(b, 'before');
    await until(async () => (await bob.store.getMessage(hello.id)) !== null, 'bob has it');
    await bob.trust.setVerified(a, true);
    await alice.resetIdentity('correct horse battery');
    const notices: SecurityNotice[] = [];
    bob.on('securityNotice', (n) => notices.push(n));
    const shown: string[] = [];
    bob.on('message', (m) => shown.push(m.id));
    // Alice does not know yet that Bob verified her: she sends under her new key.
    const held = await alice.sendText(b, 'after the reset');
    await until(() => notices.some((n) => n.code === 'HELD_KEY_CHANGE'), 'held notice');
    expect(await bob.trust.held(a)).toBe(1);
    expect(shown).toEqual([]);
    expect(await bob.store.getMessage(held.id)).toBeNull();
    const released = next(bob, 'message', (m) => m.id === held.id);
    await bob.trust.acceptKeyChange(a);
    expect((await released).body).toMatchObject({ text: 'after the reset' });
    expect(await bob.trust.held(a)).toBe(0);
  });

  it('reports retained presence, and hidden when the retained status is cleared', async () => {
    const { alice, b } = await pair();
    const online = next(alice, 'presence');
    srv.broker.publish(presenceTopic(b), JSON.stringify({ status: 'online', at: 1234 }), {
      retain: true,
    });
    // Retained: a watcher subscribing after the publish still gets it.
    alice.watchPresence(b);
    expect(await online).toEqual({ user: b, status: 'online', at: 1234 });
    const hidden = next(alice, 'presence');
    srv.broker.publish(presenceTopic(b), new Uint8Array(0), { retain: true });
    expect((await hidden).status).toBe('hidden');
  });

  it('re-sends what was not acknowledged after the connection dropped, and shows it once', async () => {
    const { alice, bob, b } = await pair();
    const bobId = deviceClientId(b, bob.account!.deviceId);
    const shown: string[] = [];
    bob.on('message', (m) => shown.push(m.id));
    srv.broker.drop(bobId);
    const m = await alice.sendText(b, 'while you were away');
    await until(() => shown.includes(m.id), 'bob has it after reconnecting');
    await until(async () => (await alice.store.listOutbox()).length === 0, 'delivered receipt');
    const marker = await alice.sendText(b, 'marker');
    await until(() => shown.includes(marker.id), 'marker');
    expect(shown.filter((id) => id === m.id)).toHaveLength(1);
  });
});
