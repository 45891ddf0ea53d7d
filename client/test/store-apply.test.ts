/**
 * The op applier (store/apply.ts) on its own: what a batch costs in primitive calls — each one
 * an IndexedDB request in a browser — and that coalescing them ends in the state the ops give
 * applied one by one. The real stores run the same applier in the shared store suite.
 */
import { describe, expect, it } from 'vitest';
import { applyOps, type StorePrimitives } from '../src/store/apply.ts';
import type { MessageRecord, StoreOp } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';

function message(id: string, text: string): MessageRecord {
  return {
    conversationId: 'dm:bob',
    id,
    sender: 'bob',
    senderDevice: 'd1',
    timestamp: 1000 + Number(id.slice(1)),
    receivedAt: 1000,
    kind: 'text',
    body: { text },
    outgoing: false,
    unread: true,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  };
}

/** The ops a receive batch stages for `n` messages from one device. */
function receiveBatch(n: number): StoreOp[] {
  return Array.from({ length: n }, (_, i): StoreOp[] => [
    { op: 'putSession', user: 'bob', device: 'd1', state: new Uint8Array([i]) },
    { op: 'markSeen', ids: [`m${i}`], at: 5 },
    { op: 'putMessage', message: message(`m${i}`, `hello ${i}`) },
  ]).flat();
}

/**
 * Primitives over maps that record every call by name; `adds`: with `addMessages` (new rows
 * written without a read, the stored ones left and their positions given back).
 */
function recording(adds = false): {
  p: StorePrimitives;
  calls: string[];
  sessions: Map<string, Uint8Array>;
  messages: Map<string, MessageRecord>;
} {
  const calls: string[] = [];
  const messages = new Map<string, MessageRecord>();
  const sessions = new Map<string, Uint8Array>();
  const base: StorePrimitives = {
    putKv: () => undefined,
    deleteKv: () => undefined,
    putPrekeys: () => undefined,
    deletePrekey: () => undefined,
    putSession: (u, d, s) => void sessions.set(`${u}|${d}`, s),
    deleteSession: (u, d) => void sessions.delete(`${u}|${d}`),
    putOwnSenderKey: () => undefined,
    deleteOwnSenderKey: () => undefined,
    putSenderKey: () => undefined,
    deleteSenderKeys: () => undefined,
    getMessages: (ids) => ids.map((id) => messages.get(id)),
    putMessages: (writes) => {
      for (const w of writes) messages.set(w.message.id, w.message);
    },
    listUnread: () => [...messages.values()].filter((m) => m.unread),
    getOutbox: () => undefined,
    putOutbox: () => undefined,
    deleteOutbox: () => undefined,
    putSeen: () => undefined,
    putContact: () => undefined,
    putGroup: () => undefined,
    deleteGroup: () => undefined,
  };
  if (adds) {
    base.addMessages = (writes) => {
      const stored = writes.flatMap(({ message: m }, i) => (messages.has(m.id) ? [i] : []));
      for (const w of writes)
        if (!messages.has(w.message.id)) messages.set(w.message.id, w.message);
      return stored;
    };
  }
  const p = new Proxy(base, {
    get: (target, prop, receiver) => {
      const fn = Reflect.get(target, prop, receiver) as ((...a: unknown[]) => unknown) | undefined;
      if (fn === undefined) return undefined;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return fn(...args);
      };
    },
  });
  return { p, calls, sessions, messages };
}

/** Outbox entries for devices d1–d3: d1 put then removed, d2 removed then put, d3 put. */
function outboxOps(): StoreOp[] {
  const entry = (device: string, createdAt: number) => ({
    messageId: 'm9',
    recipient: 'bob',
    recipientDevice: device,
    topic: 't',
    createdAt,
    lastAttemptAt: 0,
    attempts: 0,
    plaintext: new Uint8Array([createdAt]),
  });
  const remove = (device: string): StoreOp => ({
    op: 'removeOutbox',
    messageId: 'm9',
    recipient: 'bob',
    recipientDevice: device,
  });
  return [
    { op: 'putOutbox', entries: [entry('d1', 1)] },
    remove('d1'),
    remove('d2'),
    { op: 'putOutbox', entries: [entry('d2', 2), entry('d3', 3)] },
    { op: 'touchOutbox', messageId: 'm9', recipient: 'bob', recipientDevice: 'd3', at: 4 },
  ];
}

describe('the op applier', () => {
  it('writes a receive batch of 100 messages in four primitive calls, not three hundred', async () => {
    const { p, calls, sessions } = recording();
    await applyOps(receiveBatch(100), p);
    expect(calls.sort()).toEqual(['getMessages', 'putMessages', 'putSeen', 'putSession']);
    // The last state of the session is the one kept.
    expect(sessions.get('bob|d1')).toEqual(new Uint8Array([99]));
  });

  it('writes a burst of new messages without reading them where the backend adds them', async () => {
    const { p, calls, messages } = recording(true);
    await applyOps(receiveBatch(100), p);
    expect(calls.sort()).toEqual(['addMessages', 'putSeen', 'putSession']);
    // Redelivered: m5 and m7 are stored already; only they are read and replaced.
    calls.length = 0;
    const again = [message('m5', 'changed'), message('m7', 'hello 7'), message('m200', 'new')];
    await applyOps(
      again.map((m): StoreOp => ({ op: 'putMessage', message: m })),
      p,
    );
    expect(calls).toEqual(['addMessages', 'getMessages', 'putMessages']);
    expect(messages.get('m5')!.body).toEqual({ text: 'changed' });
    expect(messages.get('m200')!.body).toEqual({ text: 'new' });
  });

  it('reads the rows a batch of receipts rewrites in one call, writes them in one, and removes their outbox entries in one', async () => {
    const { p, calls, messages } = recording();
    await applyOps(receiveBatch(100), p);
    calls.length = 0;
    // What the sender's page commits when its messages' receipts come: per message one
    // rewrite and one outbox removal (before: a read, a write and a removal each, in turn).
    await applyOps(
      Array.from({ length: 100 }, (_, i): StoreOp[] => [
        { op: 'setReceipt', messageId: `m${i}`, recipient: 'bob', status: 'delivered' },
        { op: 'removeOutbox', messageId: `m${i}`, recipient: 'bob', recipientDevice: 'd1' },
      ]).flat(),
      p,
    );
    expect(calls.sort()).toEqual(['deleteOutbox', 'getMessages', 'putMessages']);
    expect(messages.get('m99')!.status).toEqual({ bob: 'delivered' });
    // A send run: the messages, their outbox entries and the session, one call each.
    calls.length = 0;
    await applyOps(
      Array.from({ length: 50 }, (_, i): StoreOp[] => [
        { op: 'putMessage', message: message(`s${i}`, `sent ${i}`) },
        {
          op: 'putOutbox',
          entries: [
            {
              messageId: `s${i}`,
              recipient: 'bob',
              recipientDevice: 'd1',
              topic: 't',
              createdAt: i,
              lastAttemptAt: 0,
              attempts: 0,
              plaintext: new Uint8Array([i]),
            },
          ],
        },
        { op: 'putSession', user: 'bob', device: 'd1', state: new Uint8Array([i]) },
      ]).flat(),
      p,
    );
    expect(calls.sort()).toEqual(['getMessages', 'putMessages', 'putOutbox', 'putSession']);
  });

  it('writes messages before an op that reads them, and ends where the ops applied one by one end', async () => {
    const ops: StoreOp[] = [
      ...receiveBatch(3),
      { op: 'setReceipt', messageId: 'm1', recipient: 'me', status: 'read' },
      { op: 'react', messageId: 'm2', user: 'me', emoji: '👍' },
      { op: 'deleteSession', user: 'bob', device: 'd1' },
      { op: 'putMessage', message: message('m3', 'late') },
      { op: 'editMessage', messageId: 'm3', body: { text: 'edited' }, editedAt: 9 },
      { op: 'markConversationRead', conversationId: 'dm:bob' },
      { op: 'putSession', user: 'bob', device: 'd2', state: new Uint8Array([7]) },
      { op: 'markSeen', ids: ['x'], at: 6 },
      // A row rewritten, then put whole, then rewritten again; edited twice; receipts after
      // the conversation was read; an unknown row.
      { op: 'setReceipt', messageId: 'm0', recipient: 'me', status: 'delivered' },
      { op: 'putMessage', message: { ...message('m0', 'replaced'), unread: false } },
      { op: 'react', messageId: 'm0', user: 'bob', emoji: '🎉' },
      { op: 'editMessage', messageId: 'm2', body: { text: 'second thoughts' }, editedAt: 10 },
      { op: 'setReceipt', messageId: 'm2', recipient: 'me', status: 'played' },
      { op: 'editMessage', messageId: 'm2', body: { text: 'third thoughts' }, editedAt: 11 },
      { op: 'setReceipt', messageId: 'nope', recipient: 'me', status: 'read' },
      // Outbox entries put and removed, removed and put again, in one batch.
      ...outboxOps(),
    ];
    const together = createMemoryStore();
    await together.batch(ops);
    const oneByOne = createMemoryStore();
    for (const op of ops) await oneByOne.batch([op]);
    for (const s of [together, oneByOne]) {
      expect(await s.getSession('bob', 'd1')).toBeNull();
      expect(await s.getSession('bob', 'd2')).toEqual(new Uint8Array([7]));
      expect(await s.seenAmong(['m0', 'm1', 'm2', 'x', 'y'])).toEqual(
        new Set(['m0', 'm1', 'm2', 'x']),
      );
    }
    const list = (s: typeof together) => s.listMessages('dm:bob', { limit: 10 });
    expect(await list(together)).toEqual(await list(oneByOne));
    const [, m1, m2, m3] = await list(together);
    expect(m1!.status).toEqual({ me: 'read' });
    expect(m2!.reactions).toEqual({ me: '👍' });
    expect(m3!.body).toEqual({ text: 'edited' });
    expect(m3!.unread).toBe(false);
    expect((await together.search('edited')).map((h) => h.message.id)).toEqual(['m3']);
    const [m0] = await list(together);
    expect(m0!.body).toEqual({ text: 'replaced' });
    expect(m0!.status).toEqual({});
    expect(m0!.reactions).toEqual({ bob: '🎉' });
    expect(m2!.body).toEqual({ text: 'third thoughts' });
    expect(m2!.status).toEqual({ me: 'played' });
    for (const s of [together, oneByOne]) {
      expect((await s.search('thoughts')).map((h) => h.message.id)).toEqual(['m2']);
      expect(await s.search('second')).toEqual([]);
      expect(await s.search('hello 2')).toEqual([]);
      expect((await s.listOutbox()).map((e) => e.recipientDevice)).toEqual(['d2', 'd3']);
    }
  });
});
