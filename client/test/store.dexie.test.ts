/**
 * Runs the abstract ClientStore suite on the Dexie store over fake-indexeddb, and tests its schema
 * upgrades (v1 → v2 unread index, v3 → v4 timed keys, v4 → v5 postings).
 */
import 'fake-indexeddb/auto';
import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import { createDexieStore } from '../src/stores/dexie.ts';
import { MERGE_ABOVE, UPGRADE_CHUNK } from '../src/stores/dexie-postings.ts';
import { ids, keysOf, put, rewriteAs } from './support/dexie-fixtures.ts';
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
    await store.batch([
      put('a', 1000, 'hello old'),
      put('b', 3000, 'hello new'),
      put('c', 2000, 'x'),
    ]);
    await store.close();
    await rewriteAs(name, 3);

    const upgraded = createDexieStore({ name });
    expect(ids(await upgraded.search('hello'))).toEqual(['b', 'a']);
    expect(ids(await upgraded.search('x'))).toEqual(['c']);
    await upgraded.close();
  });
});

describe('dexie schema v5 (search postings per batch)', () => {
  it("moves a v4 database's search keys into postings: the same results, then edits and deletes", async () => {
    const name = 'sotto-test-v4-search';
    const store = createDexieStore({ name });
    await store.batch([put('a', 1000, 'hello old world'), put('c', 2000, 'x')]);
    await store.batch([put('b', 3000, 'hello new'), put('d', 2500, 'hello there', 'dm:eve')]);
    await store.close();
    await rewriteAs(name, 4);
    const v4 = await new Dexie(name).open();
    const rows = (await v4.table('sealedMessages').toArray()) as { w: [string, number][] }[];
    expect(rows.map((r) => r.w.length).every((n) => n > 0)).toBe(true);
    expect(v4.tables.map((t) => t.name)).not.toContain('postings');
    v4.close();

    const upgraded = createDexieStore({ name });
    expect(ids(await upgraded.search('hello'))).toEqual(['b', 'd', 'a']);
    expect(ids(await upgraded.search('hel'))).toEqual(['b', 'd', 'a']);
    expect(ids(await upgraded.search('hello', { conversationId: 'dm:bob' }))).toEqual(['b', 'a']);
    expect(ids(await upgraded.search('hello wor'))).toEqual(['a']);
    expect(ids(await upgraded.search('x'))).toEqual(['c']);
    expect((await upgraded.listConversations()).map((c) => c.unread)).toEqual([2 + 1, 1]);
    await upgraded.batch([
      { op: 'editMessage', messageId: 'a', body: { text: 'goodbye' }, editedAt: 9 },
      { op: 'deleteMessage', messageId: 'b' },
    ]);
    expect(ids(await upgraded.search('hello'))).toEqual(['d']);
    expect(ids(await upgraded.search('goodbye'))).toEqual(['a']);
    await upgraded.close();

    // The rows no longer carry search keys; the postings do.
    const v5 = await new Dexie(name).open();
    const after = (await v5.table('sealedMessages').toArray()) as object[];
    expect(after.some((r) => 'w' in r)).toBe(false);
    expect(await v5.table('postings').count()).toBeGreaterThan(0);
    v5.close();
    // The upgrade gave the rows their batch: the edit and the delete took their old keys out.
    expect((await keysOf(name, 'a')).size).toBe(4); // "=goodbye", "^g", "^go", "^goo"
    expect(await keysOf(name, 'b')).toEqual(new Set());
  });

  it('leaves a v4 database as it was when the upgrade stops half-way, and upgrades it once it can', async () => {
    const name = 'sotto-test-v4-interrupted';
    const store = createDexieStore({ name });
    const n = UPGRADE_CHUNK + 100;
    const msgs = Array.from({ length: n }, (_, i) =>
      put(`m${String(i).padStart(5, '0')}`, i, `fig ${i}`),
    );
    for (let i = 0; i < n; i += 500) await store.batch(msgs.slice(i, i + 500));
    await store.close();
    await rewriteAs(name, 4);
    // The last row (moved in id order, after a whole chunk was) is one the upgrade cannot read.
    const v4 = await new Dexie(name).open();
    const last = (await v4.table('sealedMessages').orderBy(':id').last()) as { id: string };
    await v4.table('sealedMessages').put({ ...last, w: 'not search keys' });
    const before = await v4.table('sealedMessages').toArray();
    v4.close();

    const failing = createDexieStore({ name });
    await expect(failing.search('fig')).rejects.toThrow(/search keys the v4 store did not write/);
    await failing.close();
    const still = await new Dexie(name).open();
    expect(still.verno).toBe(4);
    expect(still.tables.map((t) => t.name)).not.toContain('postings');
    expect(await still.table('sealedMessages').toArray()).toEqual(before);
    await still.table('sealedMessages').put(last);
    still.close();

    const upgraded = createDexieStore({ name });
    expect(ids(await upgraded.search('fig', { limit: n }))).toHaveLength(n);
    expect(ids(await upgraded.search(`fig ${n - 1}`))).toEqual([last.id]);
    await upgraded.close();
  });

  it('merges a bucket of many small batches on search, with the same results', async () => {
    const name = 'sotto-test-compaction';
    const store = createDexieStore({ name });
    // One message a batch, as live messages arrive: each batch adds its own records.
    for (let i = 0; i < MERGE_ABOVE + 8; i++) {
      await store.batch([put(`m${i}`, i, `tide ${i}`)]);
      if (i === 5) expect(ids(await store.search('3 tide'))).toEqual(['m3']);
    }
    await store.batch([
      { op: 'editMessage', messageId: 'm3', body: { text: 'tide' }, editedAt: 1 },
    ]);
    const raw = await new Dexie(name).open();
    const before = await raw.table('postings').count();
    const expected = Array.from({ length: MERGE_ABOVE + 8 }, (_, i) => `m${i}`).reverse();
    expect(ids(await store.search('tide', { limit: 100 })).sort()).toEqual([...expected].sort());
    const after = await raw.table('postings').count();
    expect(after).toBeLessThan(before);
    // Ranked the same after the merge: the edited message's one occurrence ties with the rest,
    // newest first, each message once.
    expect(ids(await store.search('tide', { limit: 100 }))).toEqual(expected);
    expect(await store.search('3 tide')).toEqual([]);
    raw.close();
    await store.close();
  });
});

describe('dexie durability', () => {
  it('asks for strict durability on every read-write transaction (session states before a publish)', async () => {
    // Chromium's default became "relaxed" in version 121: the complete event may fire before the
    // write reaches the disk, so after a power loss a session state could roll back behind a
    // ciphertext already published with it, and the next message would reuse its key.
    const seen: { mode: string; durability: string }[] = [];
    const open = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (
      this: IDBDatabase,
      ...args: Parameters<typeof open>
    ) {
      const tx = open.apply(this, args);
      seen.push({ mode: tx.mode, durability: tx.durability });
      return tx;
    };
    try {
      n += 1;
      const store = createDexieStore({ name: `sotto-durability-${n}` });
      await store.batch([
        { op: 'putSession', user: 'bob', device: 'd1', state: new Uint8Array([1, 2, 3]) },
      ]);
      expect(await store.getSession('bob', 'd1')).toEqual(new Uint8Array([1, 2, 3]));
      await store.close();
    } finally {
      IDBDatabase.prototype.transaction = open;
    }
    const writes = seen.filter((t) => t.mode === 'readwrite');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.map((t) => t.durability)).toEqual(writes.map(() => 'strict'));
  });
});
