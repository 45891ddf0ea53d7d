/**
 * The op applier (store/apply.ts) on its own: what a batch costs in primitive calls — each one
 * an IndexedDB request in a browser — and that coalescing them ends in the state the ops give
 * applied one by one. The real stores run the same applier in the shared store suite.
 */
import { describe, expect, it } from 'vitest';
import { applyOps, type StorePrimitives } from '../src/store/apply.ts';
import type { ContactRecord, MessageRecord, StoreOp } from '../src/store/types.ts';
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

/**
 * Primitives whose every call answers with a promise that settles only when the test says so,
 * as IndexedDB answers a request on a later turn; `fail` names the one call that rejects.
 */
function deferred(fail?: string): {
  p: StorePrimitives;
  calls: string[];
  settleAll: () => void;
} {
  const calls: string[] = [];
  const pending: (() => void)[] = [];
  const answer =
    (name: string, value: unknown = undefined) =>
    (): Promise<never> => {
      calls.push(name);
      return new Promise((resolve, reject) =>
        pending.push(() =>
          name === fail ? reject(new Error(`${name} failed`)) : resolve(value as never),
        ),
      );
    };
  const p: StorePrimitives = {
    putKv: answer('putKv'),
    deleteKv: answer('deleteKv'),
    putPrekeys: answer('putPrekeys'),
    deletePrekey: answer('deletePrekey'),
    putSession: answer('putSession'),
    deleteSession: answer('deleteSession'),
    putOwnSenderKey: answer('putOwnSenderKey'),
    deleteOwnSenderKey: answer('deleteOwnSenderKey'),
    putSenderKey: answer('putSenderKey'),
    deleteSenderKeys: answer('deleteSenderKeys'),
    getMessages: answer('getMessages', []),
    putMessages: answer('putMessages'),
    listUnread: answer('listUnread', []),
    getOutbox: answer('getOutbox'),
    putOutbox: answer('putOutbox'),
    deleteOutbox: answer('deleteOutbox'),
    putSeen: answer('putSeen'),
    putContact: answer('putContact'),
    putGroup: answer('putGroup'),
    deleteGroup: answer('deleteGroup'),
  };
  const settleAll = (): void => {
    for (const settle of pending.splice(0)) settle();
  };
  return { p, calls, settleAll };
}

/** Lets queued promise reactions run (the applier's awaits), without settling any request. */
const turn = () => new Promise((r) => setTimeout(r, 0));

/** A contact record for the ops below. */
const contact = (username: string): ContactRecord => ({
  username,
  uik: null,
  verified: false,
  pendingUik: null,
  updatedAt: 1,
});

describe('the op applier', () => {
  it('issues plain writes without waiting for each, and settles once all have', async () => {
    const { p, calls, settleAll } = deferred();
    // A sent message's commit: its outbox entries, then each device's session state.
    const ops: StoreOp[] = [
      { op: 'putContact', contact: contact('bob') },
      { op: 'putSession', user: 'bob', device: 'd1', state: new Uint8Array([1]) },
      { op: 'putSession', user: 'bob', device: 'd2', state: new Uint8Array([2]) },
      { op: 'removeOutbox', messageId: 'm1', recipient: 'bob', recipientDevice: 'd1' },
    ];
    let done = false;
    const batch = applyOps(ops, p).then(() => (done = true));
    await turn();
    // All four requests were made before any was answered (the old applier made one, then
    // waited for its answer before the next).
    expect(calls).toEqual(['putContact', 'putSession', 'putSession', 'deleteOutbox']);
    expect(done).toBe(false);
    settleAll();
    await batch;
    expect(done).toBe(true);
  });

  it('waits for a read, and for deleteSenderKeys, before the call after it', async () => {
    const { p, calls, settleAll } = deferred();
    const ops: StoreOp[] = [
      { op: 'putContact', contact: contact('bob') },
      { op: 'deleteSenderKeys', groupId: 'g' },
      { op: 'touchOutbox', messageId: 'm1', recipient: 'bob', recipientDevice: 'd1', at: 5 },
      { op: 'putContact', contact: contact('carol') },
    ];
    const batch = applyOps(ops, p);
    await turn();
    expect(calls).toEqual(['putContact', 'deleteSenderKeys']);
    settleAll();
    await turn();
    expect(calls).toEqual(['putContact', 'deleteSenderKeys', 'getOutbox']);
    settleAll();
    await turn();
    expect(calls).toEqual(['putContact', 'deleteSenderKeys', 'getOutbox', 'putContact']);
    settleAll();
    await batch;
  });

  it('fails the batch with the first write that failed, even when a later read fails too', async () => {
    const { p, settleAll } = deferred('putSession');
    const ops: StoreOp[] = [
      { op: 'putSession', user: 'bob', device: 'd1', state: new Uint8Array([1]) },
      { op: 'putContact', contact: contact('bob') },
      { op: 'setReceipt', messageId: 'm1', recipient: 'bob:d1', status: 'read' },
    ];
    const reads = { ...p, getMessages: () => Promise.reject(new Error('transaction aborted')) };
    const batch = applyOps(ops, reads);
    await turn();
    settleAll();
    await expect(batch).rejects.toThrow('putSession failed');
    // Without a failed write, the read's own error is the batch's.
    const ok = deferred();
    const alone = applyOps(ops, { ...ok.p, getMessages: () => Promise.reject(new Error('gone')) });
    await turn();
    ok.settleAll();
    await expect(alone).rejects.toThrow('gone');
  });

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
  });
});
