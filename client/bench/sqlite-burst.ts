/**
 * `npx tsx client/bench/sqlite-burst.ts [--messages=N] [--batch=N]` (issue 23): the SQLite store's
 * share of a queued burst, with no engine and no network — receive batches shaped as the inbox
 * writes them (per message: the session advance, the message row, its seen id), each preceded by
 * its `seenAmong` read and committed as one `batch()` into a fresh sealed file; beside the raw
 * better-sqlite3 reference of queued-burst.ts (rows of the same size, one transaction, no sealing,
 * no search terms). The CPU time of the window is printed too: on a shared machine the wall time
 * says more about the load (a turn on a core) than about the code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../src/stores/sqlite.ts';
import type { MessageRecord, StoreOp } from '../src/store/types.ts';
import { rawReference } from './queued-burst.ts';

const arg = (name: string, fallback: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const MESSAGES = arg('messages', 5000);
const BATCH = arg('batch', 80);

function receiveBatch(from: number, n: number): StoreOp[] {
  const ops: StoreOp[] = [];
  for (let i = from; i < from + n; i++) {
    const id = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString(
      'base64url',
    );
    const message: MessageRecord = {
      conversationId: 'dm:sender-bot',
      id,
      sender: 'sender-bot',
      senderDevice: 'd1',
      timestamp: 1_700_000_000_000 + i,
      receivedAt: 1_700_000_000_000 + i,
      kind: 'text',
      body: { text: `queued ${i}` },
      outgoing: false,
      unread: true,
      status: {},
      edited: false,
      deleted: false,
      reactions: {},
      senderKind: 'bot',
    };
    const state = globalThis.crypto.getRandomValues(new Uint8Array(600));
    ops.push({ op: 'putSession', user: 'sender-bot', device: 'd1', state });
    ops.push({ op: 'putMessage', message });
    ops.push({ op: 'markSeen', ids: [id], at: 1_700_000_000_000 + i });
  }
  return ops;
}

const dir = mkdtempSync(join(tmpdir(), 'sotto-sqlite-burst-'));
try {
  const store = createSqliteStore({ path: join(dir, 'store.db') });
  await store.setSetting('warm', 1);
  const batches: StoreOp[][] = [];
  for (let i = 0; i < MESSAGES; i += BATCH)
    batches.push(receiveBatch(i, Math.min(BATCH, MESSAGES - i)));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (const ops of batches) {
    const ids = ops.flatMap((o) => (o.op === 'markSeen' ? o.ids : []));
    await store.seenAmong(ids);
    await store.batch(ops);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  await store.close();
  const rawMs = rawReference(dir, MESSAGES, 200);
  const rate = (t: number) => Math.round(MESSAGES / (t / 1000));
  console.log(
    `store: ${MESSAGES} messages in batches of ${BATCH}: ${rate(ms)} msg/s (${ms.toFixed(0)} ms; CPU ${cpuMs.toFixed(0)} ms, ${rate(cpuMs)} msg per CPU-s); raw better-sqlite3: ${rate(rawMs)} rows/s`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
