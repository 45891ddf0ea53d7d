/**
 * In-page half of `store.chromium.bench.ts`: the Dexie store's costs in a real browser's
 * IndexedDB. Bundled by the bench with esbuild, once as is and once with the store import
 * pointed at an older commit's `dexie.ts` (before/after in one run); exposes `window.storeBench`.
 */
import { Dexie } from 'dexie';
import { ready } from '@sotto/crypto';
import { messageTerms } from '../src/store/common.ts';
import { sealedRows } from '../src/store/rows.ts';
import { createRecordCodec } from '../src/store/sealed.ts';
import { createDexieStore } from '../src/stores/dexie.ts';
import type { ClientStore, MessageRecord, StoreOp } from '../src/store/types.ts';

function message(i: number, conversationId: string): MessageRecord {
  return {
    conversationId,
    id: `m${String(i).padStart(7, '0')}`,
    sender: 'bob',
    senderDevice: 'd1',
    timestamp: 1_700_000_000_000 + i * 1000,
    receivedAt: 1_700_000_000_000 + i * 1000,
    kind: 'text',
    body: { text: `message number ${i} with a few more words to index` },
    outgoing: false,
    unread: true,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  };
}

const ops = (from: number, n: number, c: string): StoreOp[] =>
  Array.from({ length: n }, (_, k) => ({ op: 'putMessage', message: message(from + k, c) }));

/** Incoming persistence: `total` messages in batches of `batch` (the engine's burst path). */
async function persist(name: string, total: number, batch: number): Promise<number> {
  const store = createDexieStore({ name });
  await store.getAccount(); // open (and, when sealed, make the storage key) outside the timing
  const t0 = performance.now();
  for (let i = 0; i < total; i += batch) await store.batch(ops(i, batch, 'dm:bob'));
  const ms = performance.now() - t0;
  await redelivered(store);
  await store.close();
  return (total / ms) * 1000;
}

/**
 * Outside the timing, in this browser's IndexedDB: two stored messages put again, changed, with
 * a new one (a burst's add path meets taken ids) read back and searched as their new versions.
 */
async function redelivered(store: ClientStore): Promise<void> {
  const changed = (i: number): MessageRecord => ({
    ...message(i, 'dm:bob'),
    body: { text: `redelivered ${i} quokka` },
  });
  await store.batch([0, 1, 9_999_999].map((i) => ({ op: 'putMessage', message: changed(i) })));
  const hits = (await store.search('quokka', { limit: 10 })).map((h) => h.message.id).sort();
  const want = [0, 1, 9_999_999].map((i) => message(i, 'dm:bob').id).sort();
  const body = (await store.getMessage(want[0]!))?.body;
  if (
    JSON.stringify(hits) !== JSON.stringify(want) ||
    JSON.stringify(body) !== JSON.stringify(changed(0).body)
  ) {
    throw new Error(`redelivered messages read back as ${JSON.stringify({ hits, body })}`);
  }
}

/**
 * The floor under {@link persist}: the same sealed rows (sealed before the clock starts) put
 * by Dexie in the same batches into a table with a primary key and no index at all — what
 * IndexedDB itself costs for rows of this size on this machine.
 */
function persistFloor(name: string, total: number, batch: number): Promise<number> {
  return persistShape(name, total, batch, 'id', 1);
}

/**
 * {@link persistFloor} with a table schema of Dexie's syntax (`'id'`, `'id, c'`, `'id, *w'`, …:
 * what each index of the messages table costs) and `pack` sealed rows per IndexedDB record (the
 * rows of a batch grouped, as a packed store format would write them).
 */
async function persistShape(
  name: string,
  total: number,
  batch: number,
  schema: string,
  pack: number,
): Promise<number> {
  await ready();
  const rows = sealedRows(createRecordCodec(crypto.getRandomValues(new Uint8Array(32))));
  const all = Array.from({ length: total }, (_, i) => {
    const m = message(i, 'dm:bob');
    const { unread, ...row } = rows.message(m);
    return { ...row, unreadIn: unread ? row.c : undefined, w: rows.searchKeys(messageTerms(m)) };
  });
  const records =
    pack === 1
      ? all
      : Array.from({ length: Math.ceil(total / pack) }, (_, k) => ({
          id: `p${String(k).padStart(7, '0')}`,
          rows: all.slice(k * pack, (k + 1) * pack),
        }));
  const perBatch = Math.max(1, Math.round(batch / pack));
  const db = new Dexie(name);
  db.version(1).stores({ rows: schema });
  await db.open();
  const table = db.table('rows');
  const t0 = performance.now();
  for (let i = 0; i < records.length; i += perBatch) {
    const slice = records.slice(i, i + perBatch);
    await db.transaction('rw', table, () => table.bulkPut(slice));
  }
  const ms = performance.now() - t0;
  db.close();
  return (total / ms) * 1000;
}

/** Write `total` messages into one conversation (setup of {@link openLarge}). */
async function fill(name: string, total: number): Promise<void> {
  const store = createDexieStore({ name });
  for (let i = 0; i < total; i += 2000) await store.batch(ops(i, 2000, 'dm:big'));
  await store.close();
}

/**
 * Opening a large conversation as the virtual list does before its first paint: open the
 * database (unwrap the storage key), count the rows, read the newest page of 50.
 */
async function openLarge(name: string): Promise<number> {
  const t0 = performance.now();
  const store = createDexieStore({ name });
  const count = await store.countMessages('dm:big');
  const page = await store.listMessages('dm:big', { limit: 50 });
  const ms = performance.now() - t0;
  if (page.length !== 50 || count === 0) throw new Error(`read ${page.length} of ${count}`);
  await store.close();
  return ms;
}

/** Milliseconds `fn` takes. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * A search for two words and for a prefix of every message: first as the first searches after
 * a burst (they merge the buckets they read), then again (steady state, merged).
 */
async function search(
  name: string,
): Promise<{ word: number; prefix: number; wordAgain: number; prefixAgain: number }> {
  const store = createDexieStore({ name });
  await store.getAccount();
  const word = async () => {
    if ((await store.search('number 77', { limit: 20 })).length === 0) {
      throw new Error('search found nothing');
    }
  };
  const prefix = () => store.search('messag', { limit: 20 });
  const out = { word: await timed(word), prefix: await timed(prefix) };
  const again = { wordAgain: await timed(word), prefixAgain: await timed(prefix) };
  await store.close();
  return { ...out, ...again };
}

/**
 * Edits and deletes in a conversation of `total` messages (after {@link search} merged its
 * buckets), each op its own batch as the engine writes them: the median milliseconds of `n`.
 */
async function editDelete(
  name: string,
  total: number,
  n: number,
): Promise<{ edit: number; delete: number }> {
  const store = createDexieStore({ name });
  await store.getAccount();
  const pick = (k: number) => message(Math.floor(((k + 0.5) * total) / n), 'dm:big').id;
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const edits: number[] = [];
  const deletes: number[] = [];
  for (let k = 0; k < n; k++) {
    const messageId = pick(k);
    const body = { text: `edited message ${k} now says something else entirely` };
    edits.push(
      await timed(() => store.batch([{ op: 'editMessage', messageId, body, editedAt: k + 1 }])),
    );
    deletes.push(await timed(() => store.batch([{ op: 'deleteMessage', messageId }])));
  }
  await store.close();
  return { edit: median(edits), delete: median(deletes) };
}

declare global {
  interface Window {
    storeBench: {
      persist: typeof persist;
      persistFloor: typeof persistFloor;
      persistShape: typeof persistShape;
      fill: typeof fill;
      openLarge: typeof openLarge;
      search: typeof search;
      editDelete: typeof editDelete;
    };
  }
}
window.storeBench = { persist, persistFloor, persistShape, fill, openLarge, search, editDelete };
