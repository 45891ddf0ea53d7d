/**
 * Step 4 of the client bench (issue 23): a Node engine (bot, CLI) on the SQLite store comes back
 * to a queue of `count` DMs that waited at the broker — time from `start()` until every one is
 * stored — beside its reference in the same run. The clock starts only once the broker has
 * acknowledged every one of them (stored in the receiver's queue): the sender's publishes are
 * admitted at the broker's per-client rate (200/s), and a receiver started before that was
 * timed at the sender's rate limit (test/support/publish-window.ts). The reference: the same
 * number of rows of the same size inserted with raw better-sqlite3 in one transaction into a
 * fresh WAL file (no engine, no network, no sealing), so the ratio is what the engine adds on
 * top of SQLite itself. And the broker's own pace: a second queue of as many DMs of the same
 * size, filled at the same time by a second sender, handed over to a bare mqtt.js client that
 * PUBACKs each PUBLISH at once (no decryption, no store) — the receiver cannot go faster than
 * the broker hands its queue over.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { createClient, type SottoClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { NODE_RECEIVE_BATCH } from '../src/internal/inbound.ts';
import { createSqliteStore } from '../src/stores/sqlite.ts';
import type { ClientStore, StoreOp } from '../src/store/types.ts';
import { uname, until } from '../test/support/server.ts';
import { createPublishWindow, type PublishWindow } from '../../test/support/publish-window.ts';

/** What {@link queuedBurstSqlite} measured. */
export interface QueuedBurstResult {
  messages: number;
  /** `start()` → every message stored (ms). */
  ms: number;
  /**
   * CPU time this process spent in that window (ms, user + system): on a machine shared with
   * other work the wall time says more about the load than about the code; this does not.
   */
  cpuMs: number;
  /** Store batches (transactions) that held messages. */
  batches: number;
  /** Raw better-sqlite3: the same number of rows in one transaction (ms). */
  referenceMs: number;
  /**
   * `start()` → the first and the last queued PUBLISH read off the socket (ms): the broker's
   * hand-over, which paces the receiver from below.
   */
  firstPublishMs: number;
  lastPublishMs: number;
  /** The bare mqtt.js client: connect → its last queued PUBLISH read (ms). */
  bareMs: number;
}

const PW = 'bench password 123';
/**
 * The sender's unacknowledged publishes, kept under the broker's rate limit (200/s, burst 400;
 * a publish that would wait over 5 s closes the sender) — see test/support/publish-window.ts.
 */
const SEND_WINDOW = 200;

/** `store` with its message-holding batches counted. */
function counted(store: ClientStore): {
  store: ClientStore;
  stored: () => number;
  batches: () => number;
} {
  let stored = 0;
  let batches = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'batch') return Reflect.get(target, prop, receiver) as unknown;
      return async (ops: StoreOp[]) => {
        await target.batch(ops);
        const n = ops.filter((o) => o.op === 'putMessage').length;
        if (n > 0) {
          stored += n;
          batches++;
        }
      };
    },
  });
  return { store: wrapped, stored: () => stored, batches: () => batches };
}

/** Raw inserts of `count` rows shaped like a sealed message row, one transaction (ms). */
export function rawReference(dir: string, count: number, rowBytes: number): number {
  const db = new Database(join(dir, 'reference.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE m (id TEXT PRIMARY KEY, c TEXT NOT NULL, t INTEGER NOT NULL, unread INTEGER NOT NULL, v BLOB NOT NULL);' +
      'CREATE INDEX m_order ON m (c, t, id); CREATE INDEX m_unread ON m (c) WHERE unread = 1;',
  );
  const insert = db.prepare('INSERT INTO m (id, c, t, unread, v) VALUES (?, ?, ?, 1, ?)');
  const blob = Buffer.alloc(rowBytes, 7);
  const t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(`id-${i}`, 'dm:peer', 1_700_000_000_000 + i, blob);
  })();
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

/** A sender and a receiver that has answered it, the receiver gone: its queue fills from now. */
async function pair(
  srv: { httpUrl: string; mqttUrl: string },
  clients: SottoClient[],
  receiverStore: ClientStore,
): Promise<{
  sender: SottoClient;
  sent: PublishWindow;
  name: string;
  options: mqtt.IClientOptions;
}> {
  const sent = createPublishWindow();
  const sender = createClient({
    store: createMemoryStore(),
    http: { baseUrl: srv.httpUrl },
    mqttConnect: (o) => sent.watch(mqtt.connect(srv.mqttUrl, o)),
  });
  clients.push(sender);
  await sender.register(uname('s'), PW, { kind: 'bot' });
  await sender.start();
  let options: mqtt.IClientOptions | undefined;
  const first = createClient({
    store: receiverStore,
    http: { baseUrl: srv.httpUrl },
    mqttConnect: (o) => mqtt.connect(srv.mqttUrl, (options = o)),
  });
  clients.push(first);
  const name = uname('r');
  await first.register(name, PW, { kind: 'bot' });
  await first.start();
  // A conversation both sides have answered in (the receiver's receipt ends the handshake),
  // then the receiver goes away and the burst queues at the broker.
  await sender.sendText(name, 'hello');
  await until(
    async () => (await sender.store.listOutbox()).length === 0,
    'hello delivered',
    60_000,
  );
  await first.close();
  if (options === undefined) throw new Error('the receiver never connected');
  return { sender, sent, name, options };
}

/** A bare mqtt.js client on `options`' persistent session: connect → `count` PUBLISHes read (ms). */
async function bareHandOver(url: string, options: mqtt.IClientOptions, count: number) {
  let n = 0;
  const t0 = performance.now();
  const client = mqtt.connect(url, { ...options, reconnectPeriod: 0 });
  // mqtt.js PUBACKs each QoS 1 PUBLISH as soon as its (default) handler returns.
  client.on('message', () => n++);
  try {
    await until(() => n >= count, 'bare hand-over', 600_000);
    return performance.now() - t0;
  } finally {
    await client.endAsync(true);
  }
}

/** Run step 4 against the server at `srv`. */
export async function queuedBurstSqlite(
  srv: { httpUrl: string; mqttUrl: string },
  count: number,
): Promise<QueuedBurstResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-bench-queued-'));
  const clients: SottoClient[] = [];
  try {
    const path = join(dir, 'receiver.db');
    const main = await pair(srv, clients, createSqliteStore({ path }));
    const bare = await pair(srv, clients, createMemoryStore());
    // Both queues fill at once (each sender has its own publish rate at the broker).
    const fill = async (p: typeof main): Promise<void> => {
      for (let i = 0; i < count; i++) {
        await p.sent.below(SEND_WINDOW);
        await p.sender.sendText(p.name, `queued ${i}`);
      }
      // Every message is in the queue at the broker (it acknowledges only then).
      await p.sent.settled();
      // The sender goes too: in this process it would take the receiver's 'delivered' receipts
      // in the window (a share of the CPU profile that is not the receiver's); they queue for it.
      await p.sender.close();
    };
    await Promise.all([fill(main), fill(bare)]);
    const bareMs = await bareHandOver(srv.mqttUrl, bare.options, count);
    const store = counted(createSqliteStore({ path }));
    let firstAt = NaN;
    let lastAt = NaN;
    const back = createClient({
      store: store.store,
      http: { baseUrl: srv.httpUrl },
      // As the CLI runs it (a bot on SQLite passes the same).
      options: { receiveBatch: NODE_RECEIVE_BATCH },
      mqttConnect: (o) =>
        mqtt.connect(srv.mqttUrl, o).on('packetreceive', (p) => {
          if (p.cmd !== 'publish') return;
          lastAt = performance.now();
          if (Number.isNaN(firstAt)) firstAt = lastAt;
        }),
    });
    clients.push(back);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    if (process.env.BENCH_WINDOW) console.error(`window start ${process.hrtime.bigint() / 1000n}`);
    await back.start();
    await until(() => store.stored() >= count, 'queued burst stored', 600_000);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (process.env.BENCH_WINDOW) console.error(`window end ${process.hrtime.bigint() / 1000n}`);
    // The sealed row of a short text is ~200 bytes (JSON of the record, 24-byte nonce, 16-byte tag).
    const referenceMs = rawReference(dir, count, 200);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return {
      messages: count,
      ms,
      cpuMs,
      batches: store.batches(),
      referenceMs,
      firstPublishMs: firstAt - t0,
      lastPublishMs: lastAt - t0,
      bareMs,
    };
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
