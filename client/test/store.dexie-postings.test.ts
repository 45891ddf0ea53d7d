/**
 * The Dexie store's search postings (schema v5, `dexie-postings.ts`) read raw: edits and deletes
 * leave no blind of the old text, also after merges and when they race a merge; merges and the
 * order of a key's ids.
 */
import 'fake-indexeddb/auto';
import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import { createDexieStore } from '../src/stores/dexie.ts';
import {
  BATCH_MESSAGES,
  bucketOf,
  bucketRecords,
  compactBucket,
  idsOf,
  isSmall,
  MERGE_ABOVE,
  postingsBatch,
  removeMessages,
  SMALL_RECORD,
  type PostingTables,
} from '../src/stores/dexie-postings.ts';
import { edit, ids, keysOf, put } from './support/dexie-fixtures.ts';

describe('dexie postings of edited and deleted messages', () => {
  it("keep no blind of an edited message's old words and none of a deleted one's", async () => {
    const name = 'sotto-test-removal';
    const store = createDexieStore({ name });
    await store.batch([
      put('a', 1, 'plums draft apricots'),
      put('b', 2, 'secret meeting plums'),
      put('c', 3, 'other plums'),
    ]);
    await store.batch([
      put('old', 4, 'plums draft apricots', 'dm:ref'),
      put('new', 5, 'draft figs', 'dm:ref'),
      put('last', 6, 'zucchini', 'dm:ref'),
    ]);
    const [oldKeys, newKeys, lastKeys, others] = await Promise.all([
      keysOf(name, 'old'),
      keysOf(name, 'new'),
      keysOf(name, 'last'),
      keysOf(name, 'c'),
    ]);
    expect(await keysOf(name, 'a')).toEqual(oldKeys);
    expect([...oldKeys].filter((k) => !newKeys.has(k)).length).toBeGreaterThan(4);

    await store.batch([edit('a', 'draft figs')]);
    await store.batch([{ op: 'deleteMessage', messageId: 'b' }]);
    expect(await keysOf(name, 'a')).toEqual(newKeys);
    expect(await keysOf(name, 'b')).toEqual(new Set());
    // The records' other messages keep theirs.
    expect(await keysOf(name, 'c')).toEqual(others);
    expect(await keysOf(name, 'old')).toEqual(oldKeys);
    expect(ids(await store.search('plums'))).toEqual(['old', 'c']);
    expect(ids(await store.search('figs'))).toEqual(['new', 'a']);

    // Writes that do not re-index (a reaction, "mark read") keep the row's batch: the next
    // edit still finds its postings.
    await store.batch([
      { op: 'react', messageId: 'a', user: 'alice', emoji: '👍' },
      { op: 'markConversationRead', conversationId: 'dm:bob' },
    ]);
    await store.batch([edit('a', 'zucchini')]);
    expect(await keysOf(name, 'a')).toEqual(lastKeys);
    expect(ids(await store.search('figs'))).toEqual(['new']);
    await store.close();
  });

  it('keep only the last version of a message written twice or edited in one batch', async () => {
    const name = 'sotto-test-removal-one-batch';
    const store = createDexieStore({ name });
    await store.batch([put('refB', 1, 'beta words', 'dm:ref'), put('refD', 2, 'delta', 'dm:ref')]);
    await store.batch([
      put('x', 3, 'alpha words'),
      put('x', 3, 'beta words'),
      put('y', 4, 'gamma'),
      edit('y', 'delta'),
    ]);
    expect(await keysOf(name, 'x')).toEqual(await keysOf(name, 'refB'));
    expect(await keysOf(name, 'y')).toEqual(await keysOf(name, 'refD'));
    await store.close();
  });

  it('keep only the new version of a message put again in a burst of new ones (written without a read)', async () => {
    const name = 'sotto-test-redelivered';
    const store = createDexieStore({ name });
    await store.batch([
      put('a', 1, 'plums draft apricots'),
      put('b', 2, 'secret meeting'),
      put('refA', 3, 'draft figs', 'dm:ref'),
    ]);
    /** The batches whose records list `id` (one: the burst's records lost the stored ones). */
    const batchesOf = async (id: string) => {
      const raw = await new Dexie(name).open();
      const records = (await raw.table('postings').toArray()) as { p: string; ids: string[] }[];
      raw.close();
      return new Set(records.filter((r) => r.ids.includes(id)).map((r) => r.p));
    };
    const bKeys = await keysOf(name, 'b');
    // Only stored messages, the same text: the burst's records are emptied again.
    await store.batch([put('a', 1, 'plums draft apricots'), put('b', 2, 'secret meeting')]);
    expect((await batchesOf('a')).size).toBe(1);
    expect((await batchesOf('b')).size).toBe(1);
    expect(await keysOf(name, 'b')).toEqual(bKeys);
    // A burst of new messages with a stored one changed among them.
    await store.batch([put('n1', 4, 'plums galore'), put('a', 1, 'draft figs'), put('n2', 5, 'x')]);
    expect(await keysOf(name, 'a')).toEqual(await keysOf(name, 'refA'));
    expect(await keysOf(name, 'b')).toEqual(bKeys);
    expect((await batchesOf('a')).size).toBe(1);
    expect(ids(await store.search('plums'))).toEqual(['n1']);
    expect(ids(await store.search('figs'))).toEqual(['refA', 'a']);
    expect((await store.getMessage('a'))!.body).toEqual({ text: 'draft figs' });
    await store.batch([edit('a', 'zucchini')]);
    expect(ids(await store.search('figs'))).toEqual(['refA']);
    await store.close();
  });

  it(`split a write of more than ${BATCH_MESSAGES} messages into batches and remove exactly from each`, async () => {
    const name = 'sotto-test-removal-split';
    const store = createDexieStore({ name });
    const total = 2 * BATCH_MESSAGES + 10;
    await store.batch([put('ref', 0, 'quince 7', 'dm:ref')]);
    await store.batch(
      Array.from({ length: total }, (_, i) => put(`s${i}`, i + 1, `sloe ${i} gin`)),
    );
    const raw = await new Dexie(name).open();
    const rows = (await raw.table('sealedMessages').toArray()) as { id: string; p: string }[];
    const batchOf = (id: string) => rows.find((r) => r.id === id)!.p;
    expect(new Set(rows.filter((r) => r.id !== 'ref').map((r) => r.p)).size).toBe(3);
    expect(batchOf('s0')).not.toBe(batchOf(`s${total - 1}`));
    const records = (await raw.table('postings').toArray()) as { ids: string[] }[];
    expect(Math.max(...records.map((r) => r.ids.length))).toBeLessThanOrEqual(BATCH_MESSAGES);
    raw.close();
    const keys9 = await keysOf(name, 's9');
    await store.batch([
      edit(`s${total - 1}`, 'quince 7'),
      { op: 'deleteMessage', messageId: 's3' },
    ]);
    expect(await keysOf(name, `s${total - 1}`)).toEqual(await keysOf(name, 'ref'));
    expect(await keysOf(name, 's3')).toEqual(new Set());
    expect(await keysOf(name, 's9')).toEqual(keys9);
    expect(ids(await store.search('sloe gin', { limit: total }))).toHaveLength(total - 2);
    await store.close();
  });

  it('keep none when edits from another connection (a second tab) race the merge of a search', async () => {
    const name = 'sotto-test-removal-race';
    const tab1 = createDexieStore({ name });
    const tab2 = createDexieStore({ name });
    const n = MERGE_ABOVE + 8;
    await tab2.batch([put('ref', 0, 'ebb 3', 'dm:ref')]);
    for (let i = 1; i <= n; i++) await tab1.batch([put(`m${i}`, i, `tide ${i} plum`)]);
    const keys4 = await keysOf(name, 'm4');
    const [found] = await Promise.all([
      tab1.search('tide plum', { limit: 500 }),
      tab2.batch([edit('m3', 'ebb 3')]),
      tab2.batch([{ op: 'deleteMessage', messageId: 'm5' }]),
      tab1.search('plum', { limit: 500 }),
    ]);
    expect(found.length).toBeGreaterThanOrEqual(n - 2);
    const raw = await new Dexie(name).open();
    expect(await raw.table('postingRedirects').count()).toBeGreaterThan(0);
    raw.close();
    expect(await keysOf(name, 'm3')).toEqual(await keysOf(name, 'ref'));
    expect(await keysOf(name, 'm5')).toEqual(new Set());
    expect(await keysOf(name, 'm4')).toEqual(keys4);
    expect(ids(await tab2.search('tide plum', { limit: 500 }))).toHaveLength(n - 2);
    await Promise.all([tab1.close(), tab2.close()]);
  });

  it('keep none after their records were merged (twice), following the redirects', async () => {
    const name = 'sotto-test-removal-merged';
    const store = createDexieStore({ name });
    const n = MERGE_ABOVE + 8;
    const round = async (from: number) => {
      // One message a batch, then searches that merge the buckets of all the words' keys.
      for (let i = from; i < from + n; i++) await store.batch([put(`m${i}`, i, `tide ${i} plum`)]);
      expect(ids(await store.search('tide plum', { limit: 500 }))).toHaveLength(from + n);
      expect(ids(await store.search('plum tide', { limit: 500 }))).toHaveLength(from + n);
    };
    await round(0);
    const raw = await new Dexie(name).open();
    const batchOf3 = ((await raw.table('sealedMessages').get('m3')) as { p: string }).p;
    const redirects = (await raw.table('postingRedirects').toArray()) as { p: string }[];
    expect(redirects.filter((r) => r.p === batchOf3).length).toBeGreaterThan(0);
    await round(n);
    // Merged again: the redirects of the first merge point to the new merged records.
    const now = (await raw.table('postingRedirects').toArray()) as {
      b: number;
      p: string;
      to: string;
    }[];
    const targets = now.filter((r) => r.p === batchOf3).map((r): [number, string] => [r.b, r.to]);
    expect(targets.length).toBeGreaterThan(0);
    expect((await raw.table('postings').bulkGet(targets)).every((r) => r !== undefined)).toBe(true);

    await store.batch([put('new', 1000, 'ebb 3', 'dm:ref')]);
    const [oldKeys, newKeys, keys4] = await Promise.all([
      keysOf(name, 'm3'),
      keysOf(name, 'new'),
      keysOf(name, 'm4'),
    ]);
    expect([...oldKeys].filter((k) => !newKeys.has(k)).length).toBeGreaterThan(4);
    await store.batch([edit('m3', 'ebb 3'), { op: 'deleteMessage', messageId: 'm5' }]);
    expect(await keysOf(name, 'm3')).toEqual(newKeys);
    expect(await keysOf(name, 'm5')).toEqual(new Set());
    expect(await keysOf(name, 'm4')).toEqual(keys4);
    const rest = ids(await store.search('tide plum', { limit: 500 }));
    expect(rest).toHaveLength(2 * n - 2);
    expect(rest).not.toContain('m3');
    expect(ids(await store.search('ebb'))).toEqual(['new', 'm3']);
    raw.close();
    await store.close();
  });
});

describe('dexie postings merge', () => {
  it('merges whole records into ones of at least SMALL_RECORD entries, redirected, and removes exactly through them', async () => {
    const db = new Dexie('sotto-test-merge-unit');
    db.version(1).stores({ postings: '[b+p]', postingRedirects: '[b+p], [b+to]' });
    const t: PostingTables = {
      records: db.table('postings'),
      redirects: db.table('postingRedirects'),
    };
    // 40 batches of 10 messages with 3 keys of bucket 0: 30 entries a record; a merged record
    // takes whole records until it has SMALL_RECORD entries (18 records: 540 at 512).
    const per = 10;
    const whole = Math.ceil(SMALL_RECORD / (3 * per));
    const rest = 40 % whole;
    const batches = Array.from({ length: 40 }, (_, j) => {
      const batch = postingsBatch();
      for (let i = 0; i < per; i++) batch.add(`m${j}-${i}`, j * per + i, ['00a1', '00b2', '00c3']);
      return batch;
    });
    await t.records.bulkPut(batches.flatMap((x) => x.records()));
    const before = idsOf(await bucketRecords(t.records, 0), '00b2');
    await db.transaction('rw', t.records, t.redirects, () => compactBucket(t, 0));
    const merged = await bucketRecords(t.records, 0);
    // `whole` records twice, and the `rest` left (under SMALL_RECORD entries) merged too.
    const sizes = (xs: number[]) => xs.sort((a, b) => a - b);
    expect(rest).toBeGreaterThan(1);
    expect(sizes(merged.map((r) => r.ids.length))).toEqual(
      sizes([rest * per, whole * per, whole * per]),
    );
    expect(merged.filter(isSmall)).toHaveLength(1);
    expect(idsOf(merged, '00b2')).toEqual(before);
    const redirects = await t.redirects.toArray();
    expect(redirects.map((r) => r.p).sort()).toEqual(batches.map((x) => x.p).sort());
    const target = redirects.find((r) => r.p === batches[20]!.p)!;

    await db.transaction('rw', t.records, t.redirects, () =>
      removeMessages(t, [{ id: 'm20-7', p: batches[20]!.p, buckets: [bucketOf('00a1')] }]),
    );
    const after = await bucketRecords(t.records, 0);
    expect(idsOf(after, '00a1')).toEqual(before.filter((id) => id !== 'm20-7'));
    expect(after.find((r) => r.p === target.to)!.ids).toHaveLength(whole * per - 1);
    expect(sizes(after.map((r) => r.ids.length))).toEqual(
      sizes([rest * per, whole * per - 1, whole * per]),
    );
    db.close();
  });
});

describe('dexie postings order', () => {
  /** One batch's record of the key `aa…` with these (id, timestamp) entries, in this order. */
  const batch = (...entries: [string, number][]) => {
    const b = postingsBatch();
    for (const [id, t] of entries) b.add(id, t, ['aa00']);
    return b.records()[0]!;
  };
  it("lists a key's ids newest first, equal times by id descending, each once, whatever the batches' order", () => {
    const ordered = [batch(['a', 1], ['b', 2]), batch(['c', 3], ['d', 4])];
    expect(idsOf(ordered, 'aa00')).toEqual(['d', 'c', 'b', 'a']);
    expect(idsOf([...ordered].reverse(), 'aa00')).toEqual(['d', 'c', 'b', 'a']);
    const mixed = [batch(['c', 3], ['e', 3], ['d', 3]), batch(['b', 2], ['a', 1]), batch(['b', 2])];
    expect(idsOf(mixed, 'aa00')).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(idsOf(mixed, 'bb00')).toEqual([]);
  });
});
