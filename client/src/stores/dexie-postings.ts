/**
 * The Dexie store's search index (schema v5, issue 15): blinded search keys → message ids,
 * written **per batch** instead of as a multi-entry index on every message row. IndexedDB's
 * cost is per request and per index entry; a multi-entry index of ~10–35 blinded keys a message
 * made a burst 3× slower than its rows alone (docs/PERFORMANCE.md). Here a batch of up to
 * {@link BATCH_MESSAGES} messages adds at most {@link BUCKETS} records (a larger write is split
 * into such batches):
 *
 * - a record is one bucket (the blinded key's first byte, modulo {@link BUCKETS}) of one batch,
 *   primary key `[b+p]` (`p`: a random batch id) and no index: the batch's message ids (`ids`)
 *   with their clear timestamps (`ts`), and per blinded key of the bucket the positions of its
 *   messages in `ids` (`w`);
 * - a key's postings are the records of its bucket; they are merged and ranked newest first on
 *   read;
 * - all of a message's postings are in one batch, whose id its row carries in clear (`p`: the
 *   records list the batch's ids in clear already). An edit or a delete takes the message out of
 *   the records of its old keys' buckets ({@link removeMessages}: the same tokeniser and blinds
 *   as when it was written, so nothing of its earlier text stays on disk) and an edit indexes it
 *   again, all its keys, in the edit's batch. A burst of new messages reads nothing; an edit or
 *   a delete pays for the removal, and other writes of a stored row (receipts, reactions, "mark
 *   read") read its `p` to keep it;
 * - a search merges a bucket's small records ({@link compactBucket}) once it holds more than
 *   {@link MERGE_ABOVE} of them, into records of {@link SMALL_RECORD} to twice that many entries:
 *   messages that arrive one a batch would otherwise make a bucket thousands of records, and an
 *   edit rewrites one record per bucket of its old keys (a merged one: under 1,024 entries). A
 *   merge leaves a redirect `[b+p] → to` per merged record in the `postingRedirects` table (a
 *   later merge re-points the earlier redirects), so a message's record is found by point
 *   lookups — its batch's record, else the redirect and the record it names — after any number
 *   of merges.
 *
 * What a record shows in clear is what the v4 index showed — which (random) message ids share a
 * blinded key, and their timestamps — plus which messages were written (or last edited) in the
 * same batch.
 *
 * Runtime: browser (or Node with `fake-indexeddb` in tests).
 */
import { Dexie, type Table, type Transaction } from 'dexie';
import { ClientError } from '../errors.ts';
import type { MessageWrite } from '../store/apply.ts';

/** Buckets a batch's keys are spread over: the most records a batch adds. */
export const BUCKETS = 64;

/** A search merges a bucket's small records once it has more of them than this. */
export const MERGE_ABOVE = 32;

/**
 * Records with fewer entries than this are merged by {@link compactBucket}; larger ones stay.
 * An edit or a delete reads and rewrites one record per bucket of its old keys (~30), whole, so
 * this bounds its cost: at 4,096 (records of up to 8,191 entries) an edit took 200–430 ms in
 * Chromium (docs/PERFORMANCE.md).
 */
export const SMALL_RECORD = 512;

/**
 * Messages per postings batch: a larger write is split into batches of this many (each its own
 * `p`), so a record lists at most this many messages and an edit's rewrite stays small.
 */
export const BATCH_MESSAGES = 512;

/** One bucket of one batch's postings (see the module comment). */
export interface PostingRecord {
  b: number;
  p: string;
  ids: string[];
  ts: number[];
  w: Map<string, number[]>;
}

/** Where the records of batch `p` in bucket `b` went when they were merged: batch `to`. */
export interface PostingRedirect {
  b: number;
  p: string;
  to: string;
}

/** The postings tables: the records and the redirects their merges left. */
export interface PostingTables {
  records: Table<PostingRecord, [number, string]>;
  redirects: Table<PostingRedirect, [number, string]>;
}

/** The bucket of a blinded key (hex). */
export function bucketOf(key: string): number {
  return ((hexDigit(key.charCodeAt(0)) << 4) | hexDigit(key.charCodeAt(1))) % BUCKETS;
}

/** The value of a hex digit's char code (`0-9`, `a-f`, `A-F`). */
const hexDigit = (c: number): number => (c <= 57 ? c - 48 : (c | 32) - 87);

/** A fresh batch id: random, so batches never collide (it orders nothing). */
function batchId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Collects one batch's postings; {@link PostingsBatch.records} gives its records. */
export interface PostingsBatch {
  /** The batch id (`p`) of its records. */
  readonly p: string;
  /**
   * Index message `id` (clear timestamp `t`) under the blinded `keys`. A message added twice
   * is listed twice (a read takes it once).
   */
  add(id: string, t: number, keys: readonly string[]): void;
  records(): PostingRecord[];
}

/** A new {@link PostingsBatch} (batch id `p`: a fresh one unless given). */
export function postingsBatch(p: string = batchId()): PostingsBatch {
  // The hot path of a burst (~30 keys a message): no per-key allocation but the lists.
  const buckets: ((PostingRecord & { last: string }) | undefined)[] = [];
  return {
    p,
    add(id, t, keys) {
      for (const k of keys) {
        const b = bucketOf(k);
        let r = buckets[b];
        if (r === undefined) r = buckets[b] = { b, p, ids: [], ts: [], w: new Map(), last: '' };
        if (r.last !== id || r.ids.length === 0) {
          r.ids.push(id);
          r.ts.push(t);
          r.last = id;
        }
        const i = r.ids.length - 1;
        const list = r.w.get(k);
        if (list === undefined) r.w.set(k, [i]);
        else list.push(i);
      }
    },
    records: () =>
      buckets.filter((r) => r !== undefined).map(({ last: _last, ...r }): PostingRecord => r),
  };
}

/** Newest first; equal timestamps by id, descending (the order of the v4 index read backwards). */
function newestFirst(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0);
}

/** Records by their first message's timestamp, oldest first. */
const oldestFirst = (x: PostingRecord, y: PostingRecord): number => (x.ts[0] ?? 0) - (y.ts[0] ?? 0);

/**
 * The ids indexed under blinded `key` in `records`, newest first, each once. A batch lists its
 * messages as they came and batches mostly come in time order, so the records are taken oldest
 * first and their entries are sorted only when they turn out not to be in order already (a
 * common word in a long history: 100,000 ids).
 */
export function idsOf(records: readonly PostingRecord[], key: string): string[] {
  const lists: { r: PostingRecord; at: number[] }[] = [];
  for (const r of records) {
    const at = r.w.get(key);
    if (at !== undefined) lists.push({ r, at });
  }
  lists.sort((x, y) => x.r.ts[x.at[0]!]! - y.r.ts[y.at[0]!]!);
  const ids: string[] = [];
  const ts: number[] = [];
  const seen = new Set<string>();
  let ordered = true;
  for (const { r, at } of lists) {
    for (const i of at) {
      const id = r.ids[i]!;
      if (seen.has(id)) continue;
      seen.add(id);
      const t = r.ts[i]!;
      const n = ids.length;
      if (n > 0 && (t < ts[n - 1]! || (t === ts[n - 1]! && id < ids[n - 1]!))) ordered = false;
      ids.push(id);
      ts.push(t);
    }
  }
  if (ordered) return ids.reverse();
  const pairs = ids.map((id, i): [string, number] => [id, ts[i]!]);
  return pairs.sort(newestFirst).map(([id]) => id);
}

/** The records of bucket `b`. */
export function bucketRecords(table: Table<PostingRecord>, b: number): Promise<PostingRecord[]> {
  return table.where('[b+p]').between([b, Dexie.minKey], [b, Dexie.maxKey]).toArray();
}

/** A record's entries (key, message). */
function entries(r: PostingRecord): number {
  let n = 0;
  for (const list of r.w.values()) n += list.length;
  return n;
}

/** Whether a record has fewer than {@link SMALL_RECORD} entries (key, message). */
export function isSmall(r: PostingRecord): boolean {
  return entries(r) < SMALL_RECORD;
}

/**
 * Merge the small records of bucket `b`, oldest first, into records of whole source records and
 * at least {@link SMALL_RECORD} entries each (under twice that; the rest stays small), so an edit
 * rewrites at most that much of a bucket; redirect the sources' batch ids (and the redirects to
 * them) to their merged record. Run it inside a read-write transaction on both tables.
 */
export async function compactBucket(t: PostingTables, b: number): Promise<void> {
  const small = (await bucketRecords(t.records, b)).filter(isSmall).sort(oldestFirst);
  const groups: PostingRecord[][] = [[]];
  let n = 0;
  for (const r of small) {
    groups[groups.length - 1]!.push(r);
    n += entries(r);
    if (n >= SMALL_RECORD) {
      groups.push([]);
      n = 0;
    }
  }
  for (const group of groups.filter((g) => g.length > 1)) await merge(t, b, group);
}

/** Merge `sources` (records of bucket `b`, oldest first) into one record; see compactBucket. */
async function merge(t: PostingTables, b: number, sources: PostingRecord[]): Promise<void> {
  // Each message with its keys in the order the batches listed them: the merged record stays in
  // time order when they were (idsOf's fast path).
  const merged = postingsBatch();
  for (const r of sources) {
    const keysAt: string[][] = r.ids.map(() => []);
    for (const [k, at] of r.w) for (const i of at) keysAt[i]!.push(k);
    r.ids.forEach((id, i) => merged.add(id, r.ts[i]!, keysAt[i]!));
  }
  const from = sources.map((r): [number, string] => [b, r.p]);
  const to = merged.p;
  await t.redirects.where('[b+to]').anyOf(from).modify({ to });
  await t.redirects.bulkPut(sources.map((r) => ({ b, p: r.p, to })));
  await t.records.bulkDelete(from);
  await t.records.bulkPut(merged.records());
}

/** A message to take out of the postings: its batch and the buckets of its keys. */
export interface Removal {
  id: string;
  p: string;
  buckets: Iterable<number>;
}

/** Record `r` without the messages `gone` (their positions dropped), or null when it is empty. */
function without(r: PostingRecord, gone: ReadonlySet<string>): PostingRecord | null {
  const moved: number[] = [];
  const ids: string[] = [];
  const ts: number[] = [];
  r.ids.forEach((id, i) => {
    moved.push(gone.has(id) ? -1 : ids.length);
    if (gone.has(id)) return;
    ids.push(id);
    ts.push(r.ts[i]!);
  });
  if (ids.length === 0) return null;
  const w = new Map<string, number[]>();
  for (const [k, at] of r.w) {
    const kept = at.map((i) => moved[i]!).filter((i) => i >= 0);
    if (kept.length > 0) w.set(k, kept);
  }
  return { b: r.b, p: r.p, ids, ts, w };
}

/**
 * Records without some of their messages (each record with its own set `gone`): the ones that
 * changed, to put, and the ones left empty, to delete.
 */
export function pruned(changes: Iterable<[PostingRecord, ReadonlySet<string>]>): {
  put: PostingRecord[];
  emptied: [number, string][];
} {
  const put: PostingRecord[] = [];
  const emptied: [number, string][] = [];
  for (const [r, gone] of changes) {
    const rest = without(r, gone);
    if (rest === null) emptied.push([r.b, r.p]);
    else if (rest.ids.length < r.ids.length) put.push(rest);
  }
  return { put, emptied };
}

/**
 * The ids of the stored rows whose batch id a write of message rows needs: a re-indexed
 * message (its earlier version had words) leaves its batch, any other write keeps it. New
 * messages (a burst) need none.
 */
export function replacedRows(writes: readonly MessageWrite[]): string[] {
  return writes
    .filter(({ index }) => index === null || index.stale.length > 0)
    .map(({ message }) => message.id);
}

/** What a write of message rows does to the postings ({@link planPostings}). */
export interface PostingsPlan {
  /** The records of the write's batch (all keys of its re-indexed messages). */
  records: PostingRecord[];
  /** Re-indexed messages to take out of their old batch's records first. */
  removals: Removal[];
  /** The batch id each row gets (undefined: none, it has no postings). */
  batchOf: Map<string, string | undefined>;
}

/**
 * The postings of a write of message rows. `stored` holds the batch ids of the stored rows of
 * {@link replacedRows}; `blind` gives the blinded keys of words, as they were written. A
 * re-indexed message leaves its old batch — all its old keys' buckets, so no blind of its
 * earlier text stays — and is indexed again, all its current keys, in this one; a message
 * written twice here once, as its last version. Rows not re-indexed keep their batch.
 */
export function planPostings(
  writes: readonly MessageWrite[],
  stored: ReadonlyMap<string, string>,
  blind: (terms: Map<string, number>) => string[],
): PostingsPlan {
  const batchOf = new Map<string, string | undefined>(stored);
  const removals: Removal[] = [];
  const indexed = new Map<string, { t: number; keys: string[] }>();
  for (const { message, index } of writes) {
    if (index === null) continue;
    const id = message.id;
    const p = batchOf.get(id);
    // The first re-index of a stored message: its stale words are those of the stored version.
    if (p !== undefined && !indexed.has(id)) {
      const old = blind(new Map(index.stale.map((w) => [w, 1])));
      removals.push({ id, p, buckets: old.map(bucketOf) });
    }
    indexed.set(id, { t: message.timestamp, keys: blind(index.terms) });
  }
  const records: PostingRecord[] = [];
  for (const [id, p] of inBatches(indexed, records)) batchOf.set(id, p);
  return { records, removals, batchOf };
}

/**
 * Index `messages` (id → clear timestamp and blinded keys) in batches of at most
 * {@link BATCH_MESSAGES}, adding their records to `records`; gives each message's batch id
 * (undefined: no keys, no postings).
 */
function inBatches(
  messages: Iterable<[string, { t: number; keys: readonly string[] }]>,
  records: PostingRecord[],
): Map<string, string | undefined> {
  const list = [...messages];
  const batchOf = batchesOf(list.map(([id, { keys }]) => [id, keys.length > 0]));
  records.push(...batchRecords(list, batchOf));
  return batchOf;
}

/**
 * The batch id of each message written in this order, given whether it has search keys: a new
 * batch every {@link BATCH_MESSAGES} messages that have; undefined for those without (no
 * postings). Known before the keys are blinded, so rows can be written while they are.
 */
export function batchesOf(messages: Iterable<[string, boolean]>): Map<string, string | undefined> {
  const batchOf = new Map<string, string | undefined>();
  let p = '';
  let n = 0;
  for (const [id, keyed] of messages) {
    if (!keyed) {
      batchOf.set(id, undefined);
      continue;
    }
    if (n % BATCH_MESSAGES === 0) p = batchId();
    batchOf.set(id, p);
    n += 1;
  }
  return batchOf;
}

/** The records of `messages` (id → clear timestamp and blinded keys) in the batches `batchOf` gives. */
export function batchRecords(
  messages: Iterable<[string, { t: number; keys: readonly string[] }]>,
  batchOf: ReadonlyMap<string, string | undefined>,
): PostingRecord[] {
  const batches = new Map<string, PostingsBatch>();
  for (const [id, { t, keys }] of messages) {
    const p = batchOf.get(id);
    if (p === undefined) continue;
    let batch = batches.get(p);
    if (batch === undefined) batches.set(p, (batch = postingsBatch(p)));
    batch.add(id, t, keys);
  }
  return [...batches.values()].flatMap((b) => b.records());
}

/** Message ids per record (bucket, batch), keyed by {@link recordKey}. */
type IdsByRecord = Map<string, { at: [number, string]; ids: Set<string> }>;

const recordKey = (b: number, p: string): string => `${b}\u0000${p}`;

/** The ids of `map` for record `[b, p]`, added when absent. */
function idsAt(map: IdsByRecord, b: number, p: string): Set<string> {
  const k = recordKey(b, p);
  let entry = map.get(k);
  if (entry === undefined) map.set(k, (entry = { at: [b, p], ids: new Set() }));
  return entry.ids;
}

/**
 * Take each message of `removals` out of the records of its batch in its buckets (following a
 * merge's redirect): all its entries, whatever key; the records' other messages stay, a record
 * left empty is deleted with the redirects to it. Point lookups only. Run it inside a read-write
 * transaction on both tables.
 */
export async function removeMessages(
  t: PostingTables,
  removals: readonly Removal[],
): Promise<void> {
  const asked: IdsByRecord = new Map();
  for (const { id, p, buckets } of removals) for (const b of buckets) idsAt(asked, b, p).add(id);
  const gone: IdsByRecord = new Map();
  const records = new Map<string, PostingRecord>();
  const take = (r: PostingRecord, ids: Iterable<string>): void => {
    records.set(recordKey(r.b, r.p), r);
    const set = idsAt(gone, r.b, r.p);
    for (const id of ids) set.add(id);
  };
  const direct = [...asked.values()];
  const at = direct.map((x) => x.at);
  // A batch's record not there was merged: its redirect names the merged record. Both looked up
  // at once (after a merge, most of an old message's records are redirected).
  const [found, redirected] = await Promise.all([t.records.bulkGet(at), t.redirects.bulkGet(at)]);
  const via: IdsByRecord = new Map();
  found.forEach((r, i) => {
    if (r !== undefined) take(r, direct[i]!.ids);
    else {
      const to = redirected[i];
      if (to !== undefined) for (const id of direct[i]!.ids) idsAt(via, to.b, to.to).add(id);
    }
  });
  const merged = [...via.values()];
  (await t.records.bulkGet(merged.map((x) => x.at))).forEach((r, i) => {
    if (r !== undefined) take(r, merged[i]!.ids);
  });
  const { put, emptied } = pruned(
    [...records].map(([k, r]): [PostingRecord, ReadonlySet<string>] => [r, gone.get(k)!.ids]),
  );
  await Promise.all([
    t.records.bulkPut(put),
    t.records.bulkDelete(emptied),
    emptied.length > 0 ? t.redirects.where('[b+to]').anyOf(emptied).delete() : 0,
  ]);
}

/** Rows of a sealed message as v4 stored them: their search keys `w` as `[blind, t]`. */
interface V4Row {
  id: string;
  t: number;
  w?: [string, number][];
  p?: string;
}

/** Rows moved per step of the v5 upgrade (in postings batches of {@link BATCH_MESSAGES}). */
export const UPGRADE_CHUNK = 512;

/** The blinds of a v4 row's search keys; a row not as v4 wrote it stops the upgrade. */
function v4Keys(row: V4Row): string[] {
  const w: unknown = row.w ?? [];
  const ok =
    Array.isArray(w) &&
    w.every((x) => Array.isArray(x) && typeof x[0] === 'string' && typeof x[1] === 'number');
  if (!ok) {
    throw new ClientError(
      'STORE_TAMPERED',
      `message row ${JSON.stringify(row.id)} has search keys the v4 store did not write`,
    );
  }
  return (w as [string, number][]).map(([k]) => k);
}

/**
 * v4 → v5: the `w` keys of every message row become postings (blinded already: no storage key
 * needed), and are dropped from the rows, which get their batch id `p` instead; inside the
 * upgrade transaction `tx`, so an upgrade that stops half-way (a closed tab, a full disk, a row
 * it cannot read) leaves the v4 database as it was.
 *
 * @throws ClientError `STORE_TAMPERED` for a row whose search keys v4 did not write.
 */
export async function movePostings(tx: Transaction): Promise<void> {
  const messages = tx.table<V4Row, string>('sealedMessages');
  const postings = tx.table<PostingRecord>('postings');
  let last: string | undefined;
  for (;;) {
    const rows = await (
      last === undefined ? messages.orderBy(':id') : messages.where(':id').above(last)
    )
      .limit(UPGRADE_CHUNK)
      .toArray();
    if (rows.length === 0) return;
    last = rows[rows.length - 1]!.id;
    const records: PostingRecord[] = [];
    const batchOf = inBatches(
      rows.map((row) => [row.id, { t: row.t, keys: v4Keys(row) }]),
      records,
    );
    await postings.bulkPut(records);
    await messages.bulkPut(
      rows.map(({ w: _w, ...row }) => {
        const p = batchOf.get(row.id);
        return p === undefined ? row : { ...row, p };
      }),
    );
  }
}
