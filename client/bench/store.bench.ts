/**
 * `npx tsx client/bench/store.bench.ts` (issue 16): the store's own costs, per backend, with
 * no network — bulk inserts (a burst of putMessage batches, the web client's queued-burst
 * path), per-message updates (receipts, reactions, edits), "mark read", and the windowed reads
 * the web client's virtual list makes (count, pages by position from both ends, position of a
 * message, conversation previews).
 *
 * Dexie runs on fake-indexeddb (a pure-JS IndexedDB, far slower than a browser's): its figures
 * compare versions of this code, not browsers. `--quick` shrinks the data set.
 * Results: a Markdown table on stdout, then `BENCH` lines (scripts/bench-lib.ts).
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printBench } from '../../scripts/bench-lib.ts';
import type { ClientStore, MessageRecord, StoreOp } from '../src/store/types.ts';
import { createDexieStore } from '../src/stores/dexie.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { createSqliteStore } from '../src/stores/sqlite.ts';

const QUICK = process.argv.includes('--quick');
const MESSAGES = QUICK ? 2000 : 10_000;
const BATCH = 500;
const UPDATES = QUICK ? 200 : 1000;
const READS = QUICK ? 10 : 20;
const PAGE = 50;

function message(i: number, conversationId = 'dm:bob'): MessageRecord {
  return {
    conversationId,
    id: `m${String(i).padStart(7, '0')}`,
    sender: 'bob',
    senderDevice: 'd1',
    timestamp: 1_700_000_000_000 + i * 1000,
    receivedAt: 1_700_000_000_000 + i * 1000,
    kind: 'text',
    body: { text: `message number ${i} with a few more words to index` },
    outgoing: i % 3 === 0,
    unread: i % 3 !== 0,
    status: i % 3 === 0 ? { 'bob:d1': 'sent' } : {},
    edited: false,
    deleted: false,
    reactions: {},
  };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

interface Row {
  name: string;
  value: number;
  unit: string;
}

async function run(backend: string, store: ClientStore): Promise<Row[]> {
  const rows: Row[] = [];
  const add = (name: string, value: number, unit: string): void => {
    rows.push({ name: `${backend}: ${name}`, value: Math.round(value * 10) / 10, unit });
    console.error(`${backend}: ${name}: ${value.toFixed(1)} ${unit}`); // progress
  };
  const all = Array.from({ length: MESSAGES }, (_, i) => message(i));
  const insert = await time(async () => {
    for (let i = 0; i < all.length; i += BATCH) {
      await store.batch(
        all.slice(i, i + BATCH).map((m): StoreOp => ({ op: 'putMessage', message: m })),
      );
    }
  });
  add(`insert ${MESSAGES} messages in batches of ${BATCH}`, (MESSAGES / insert) * 1000, 'msg/s');
  // A few other conversations, so previews have more than one row to build.
  await store.batch(
    Array.from({ length: 20 }, (_, i): StoreOp => ({
      op: 'putMessage',
      message: message(MESSAGES + i, `dm:peer${i}`),
    })),
  );

  const updates = await time(async () => {
    for (let i = 0; i < UPDATES; i++) {
      const id = all[(i * 7) % all.length]!.id;
      await store.batch([
        { op: 'setReceipt', messageId: id, recipient: 'bob:d1', status: 'delivered' },
        { op: 'react', messageId: id, user: 'carol', emoji: '👍' },
        { op: 'editMessage', messageId: id, body: { text: `edited ${i}` }, editedAt: i },
      ]);
    }
  });
  add('receipt + reaction + edit batch', updates / UPDATES, 'ms');

  const pages = await time(async () => {
    for (let i = 0; i < READS; i++) {
      const offset = Math.floor((i / READS) * (MESSAGES - PAGE));
      await store.countMessages('dm:bob');
      await store.listMessages('dm:bob', { from: 'oldest', offset, limit: PAGE });
    }
  });
  add(`count + page of ${PAGE} by position`, pages / READS, 'ms');

  const latest = await time(async () => {
    for (let i = 0; i < READS; i++) await store.listMessages('dm:bob', { limit: PAGE });
  });
  add(`latest page of ${PAGE}`, latest / READS, 'ms');

  const index = await time(async () => {
    for (let i = 0; i < READS; i++) {
      await store.indexOfMessage(all[Math.floor((i / READS) * MESSAGES)]!.id);
    }
  });
  add('position of a message', index / READS, 'ms');

  const previews = await time(async () => {
    for (let i = 0; i < READS; i++) await store.listConversations();
  });
  add('conversation previews (21 conversations)', previews / READS, 'ms');

  const read = await time(() =>
    store.batch([{ op: 'markConversationRead', conversationId: 'dm:bob' }]),
  );
  add(`mark ${Math.round((MESSAGES * 2) / 3)} unread read`, read, 'ms');
  await store.close();
  return rows;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-store-bench-'));
  const rows: Row[] = [];
  try {
    rows.push(...(await run('memory', createMemoryStore())));
    rows.push(...(await run('sqlite', createSqliteStore({ path: join(dir, 'bench.sqlite') }))));
    rows.push(...(await run('dexie', createDexieStore({ name: `store-bench-${Date.now()}` }))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`Client store benchmark${QUICK ? ' (--quick)' : ''}, ${new Date().toISOString()}\n`);
  console.log('| what | result |\n|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.value} ${r.unit} |`);
  printBench(rows);
}

await main();
