/**
 * The Dexie store's message primitives (`getMessages`, `putMessages`, `listUnread`): message
 * rows and their search postings (`dexie-postings.ts`) written together, in the transaction of
 * one batch.
 *
 * Runtime: browser (or Node with `fake-indexeddb` in tests).
 */
import { Dexie, type Table } from 'dexie';
import type { MessageWrite, StorePrimitives } from '../store/apply.ts';
import type { MessageRow, SealedRows } from '../store/rows.ts';
import {
  batchesOf,
  batchRecords,
  planPostings,
  pruned,
  removeMessages,
  replacedRows,
  type PostingTables,
} from './dexie-postings.ts';

/**
 * A stored message: the sealed row, with `unreadIn` (= `c`) in place of the unread flag, and
 * `p`, the batch its search postings are in (absent when it has none).
 */
export type DexieMessageRow = Omit<MessageRow, 'unread'> & { unreadIn?: string; p?: string };

/** The primitives of this module. */
export type MessagePrimitives = Pick<
  StorePrimitives,
  'getMessages' | 'putMessages' | 'addMessages' | 'listUnread'
>;

/** The tables they write. */
export interface MessageTables {
  messages: Table<DexieMessageRow, string>;
  postings: PostingTables;
}

/** The rows found by a `bulkGet`. */
const present = <T>(list: readonly (T | undefined)[]): T[] => list.filter((r) => r !== undefined);

/** Rows sealed and handed to IndexedDB at a time by `addMessages`. */
const ADD_CHUNK = 50;

/**
 * The positions of the rows a `bulkAdd` left because their key was taken (a stored message);
 * any other failure is thrown.
 */
function takenKeys(err: unknown): number[] {
  if (!(err instanceof Dexie.BulkError)) throw err;
  const failed = Object.entries(err.failuresByPos);
  const other = failed.find(([, e]) => e.name !== 'ConstraintError');
  if (other !== undefined) throw other[1];
  return failed.map(([i]) => Number(i));
}

/**
 * The message primitives of one batch (one transaction) over `tables`. `known` holds the batch
 * id `p` of every row the batch has read or written (undefined: none, or no such row), so a
 * write of a row read before (an edit, a receipt, "mark read") reads nothing more.
 */
export function messagePrimitives(
  tables: MessageTables,
  rows: SealedRows,
  known: Map<string, string | undefined>,
): MessagePrimitives {
  const remember = (list: readonly DexieMessageRow[]) => {
    for (const r of list) known.set(r.id, r.p);
    return list;
  };
  const sealed = (writes: readonly MessageWrite[]): DexieMessageRow[] =>
    writes.map(({ message }) => {
      const { unread, ...row } = rows.message(message);
      return unread ? { ...row, unreadIn: row.c } : row;
    });
  const blind = (terms: Map<string, number>) => rows.searchKeys(terms);
  return {
    getMessages: async (ids) => {
      const found = await tables.messages.bulkGet([...ids]);
      ids.forEach((id, i) => known.set(id, found[i]?.p));
      return found.map((r) => r && rows.openMessage(r));
    },
    // Bursts of thousands: one bulkPut of the rows, and the search keys of the whole batch in
    // at most BUCKETS records; an edit or a delete first takes the message out of its old
    // batch's records (`planPostings`). A burst of new messages reads nothing.
    putMessages: async (writes) => {
      const list = sealed(writes);
      // Only Dexie requests are awaited here: awaiting a plain resolved promise let the
      // transaction commit early (PrematureCommitError).
      const replaced = replacedRows(writes);
      const unknown = replaced.filter((id) => !known.has(id));
      if (unknown.length > 0) remember(present(await tables.messages.bulkGet(unknown)));
      const stored = new Map<string, string>();
      for (const id of replaced) {
        const p = known.get(id);
        if (p !== undefined) stored.set(id, p);
      }
      const plan = planPostings(writes, stored, blind);
      for (const row of list) {
        const p = plan.batchOf.get(row.id);
        if (p !== undefined) row.p = p;
      }
      if (plan.removals.length > 0) await removeMessages(tables.postings, plan.removals);
      await Promise.all([
        tables.messages.bulkPut(remember(list)),
        tables.postings.records.bulkPut(plan.records),
      ]);
    },
    // A burst of new messages: rows added and postings put at once, no read. A row whose id is
    // taken (a redelivered message) is not written; its ids leave the batch's records again.
    // The rows go down in chunks as they are sealed, and the postings are built while
    // IndexedDB writes them (the batch ids are known before the keys are blinded).
    addMessages: async (writes) => {
      const batchOf = batchesOf(writes.map((w) => [w.message.id, (w.index?.terms.size ?? 0) > 0]));
      const list: DexieMessageRow[] = [];
      const adds: Promise<number[]>[] = [];
      for (let at = 0; at < writes.length; at += ADD_CHUNK) {
        const chunk = sealed(writes.slice(at, at + ADD_CHUNK));
        for (const row of chunk) {
          const p = batchOf.get(row.id);
          if (p !== undefined) row.p = p;
        }
        list.push(...chunk);
        adds.push(
          tables.messages.bulkAdd(chunk).then(
            () => [],
            (err: unknown) => takenKeys(err).map((i) => at + i),
          ),
        );
      }
      const records = batchRecords(
        writes.map(({ message: m, index }) => [
          m.id,
          { t: m.timestamp, keys: index === null ? [] : blind(index.terms) },
        ]),
        batchOf,
      );
      const [taken] = await Promise.all([
        Promise.all(adds).then((lists) => lists.flat()),
        tables.postings.records.bulkPut(records),
      ]);
      const gone = new Set(taken.map((i) => list[i]!.id));
      remember(list.filter((r) => !gone.has(r.id)));
      if (gone.size === 0) return taken;
      const { put, emptied } = pruned(records.map((r) => [r, gone]));
      await Promise.all([
        tables.postings.records.bulkPut(put),
        tables.postings.records.bulkDelete(emptied),
      ]);
      return taken;
    },
    listUnread: async (conversationId) =>
      remember(
        await tables.messages
          .where('unreadIn')
          .equals(rows.conversationKey(conversationId))
          .toArray(),
      ).map((r) => rows.openMessage(r)),
  };
}
