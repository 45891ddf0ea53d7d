/** Runs the abstract ClientStore suite on the Dexie store over fake-indexeddb. */
import 'fake-indexeddb/auto';
import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import { createDexieStore } from '../src/stores/dexie.ts';
import { storeSuite } from './store.suite.ts';

let n = 0;
const names = new WeakMap<object, string>();

storeSuite('dexie', {
  // fake-indexeddb is a pure-JS IndexedDB, ~50× slower than a browser's: a
  // smaller burst keeps the suite lean on shared CPUs while exercising the same bulk path.
  burst: 1500,
  async open() {
    n += 1;
    const name = `sotto-test-${n}`;
    const store = createDexieStore({ name });
    names.set(store, name);
    return store;
  },
  async reopen(store) {
    const name = names.get(store)!;
    await store.close();
    return createDexieStore({ name });
  },
});

describe('dexie schema v2 (unread index)', () => {
  it('indexes the unread messages of a v1 database on upgrade, and never returns the index key', async () => {
    const name = 'sotto-test-upgrade';
    const v1 = new Dexie(name);
    v1.version(1).stores({ messages: 'id, conversationId, [conversationId+timestamp]' });
    const base = {
      senderDevice: 'd1',
      receivedAt: 1,
      kind: 'text',
      body: { text: 'hi' },
      outgoing: false,
      status: {},
      edited: false,
      deleted: false,
      reactions: {},
    };
    await v1.table('messages').bulkPut([
      { ...base, id: 'a', conversationId: 'dm:bob', sender: 'bob', timestamp: 1, unread: true },
      { ...base, id: 'b', conversationId: 'dm:bob', sender: 'bob', timestamp: 2, unread: true },
      { ...base, id: 'c', conversationId: 'dm:bob', sender: 'bob', timestamp: 3, unread: false },
      { ...base, id: 'd', conversationId: 'dm:eve', sender: 'eve', timestamp: 4, unread: true },
    ]);
    v1.close();

    const store = createDexieStore({ name });
    const unread = async () =>
      Object.fromEntries(
        (await store.listConversations()).map((c) => [c.conversationId, c.unread]),
      );
    expect(await unread()).toEqual({ 'dm:bob': 2, 'dm:eve': 1 });
    expect(await store.getMessage('a')).not.toHaveProperty('unreadIn');
    expect((await store.listMessages('dm:bob')).some((m) => 'unreadIn' in m)).toBe(false);

    // An update of an unread message keeps it counted; reading clears only that conversation.
    await store.batch([{ op: 'react', messageId: 'a', user: 'alice', emoji: '👍' }]);
    expect(await unread()).toEqual({ 'dm:bob': 2, 'dm:eve': 1 });
    await store.batch([{ op: 'markConversationRead', conversationId: 'dm:bob' }]);
    expect(await unread()).toEqual({ 'dm:bob': 0, 'dm:eve': 1 });
    expect((await store.getMessage('a'))?.unread).toBe(false);
    await store.close();
  });
});

describe('dexie schema v4 (search keys with their timestamp)', () => {
  it('gives a v3 database timed search keys on upgrade: its messages are found, newest first', async () => {
    const name = 'sotto-test-v3-search';
    const store = createDexieStore({ name });
    const at = (id: string, t: number, text: string) => ({
      op: 'putMessage' as const,
      message: {
        conversationId: 'dm:bob',
        id,
        sender: 'bob',
        senderDevice: 'd1',
        timestamp: t,
        receivedAt: t,
        kind: 'text',
        body: { text },
        outgoing: false,
        unread: false,
        status: {},
        edited: false,
        deleted: false,
        reactions: {},
      },
    });
    await store.batch([at('a', 1000, 'hello old'), at('b', 3000, 'hello new'), at('c', 2000, 'x')]);
    await store.close();
    // The same database as v3 wrote it: every table and row, search keys without timestamps.
    const raw = await new Dexie(name).open();
    const tables = Object.fromEntries(
      await Promise.all(raw.tables.map(async (t) => [t.name, await t.toArray()] as const)),
    );
    raw.close();
    await Dexie.delete(name);
    const v3 = new Dexie(name);
    v3.version(3).stores({
      kv: 'key',
      prekeys: '[kind+id], kind',
      sessions: '[user+device], user',
      ownSenderKeys: 'groupId',
      senderKeys: '[groupId+user+device+keyId], groupId, [groupId+user], [groupId+user+device]',
      messages: 'id, conversationId, [conversationId+timestamp], unreadIn',
      terms: '[token+messageId], token, messageId',
      outbox: 'key, createdAt',
      seen: 'id, at',
      contacts: 'username',
      groups: 'groupId',
      storageKey: 'id',
      sealedKv: 'k',
      sealedPrekeys: '[kind+id], kind',
      sealedSessions: '[u+d], u',
      sealedOwnSenderKeys: 'k',
      sealedSenderKeys: '[g+u+d+keyId], g, [g+u], [g+u+d]',
      sealedMessages: 'id, c, [c+t], unreadIn, *w',
      sealedOutbox: 'k, createdAt',
      sealedContacts: 'k',
      sealedGroups: 'k',
    });
    await v3.open();
    for (const [table, rows] of Object.entries(tables)) {
      const list =
        table === 'sealedMessages'
          ? rows.map((r) => ({ ...r, w: (r as { w: [string, number][] }).w.map(([k]) => k) }))
          : rows;
      await v3.table(table).bulkPut(list);
    }
    expect(
      (await v3.table('sealedMessages').toArray()).every((r: { w: unknown[] }) =>
        r.w.every((k) => typeof k === 'string'),
      ),
    ).toBe(true);
    v3.close();

    const upgraded = createDexieStore({ name });
    expect((await upgraded.search('hello')).map((h) => h.message.id)).toEqual(['b', 'a']);
    expect((await upgraded.search('x')).map((h) => h.message.id)).toEqual(['c']);
    await upgraded.close();
  });
});
