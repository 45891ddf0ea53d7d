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
