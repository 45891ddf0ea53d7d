/**
 * Web client benchmark (`npm run bench -w web-client`), in the browser test harness: a real
 * embedded server and headless Chromium.
 *
 * - navigation → interactive conversation list (returning user, keys and history stored);
 * - opening a conversation of 10,000 stored messages (click → newest message rendered);
 * - send → render latency between two pages (Alice's Enter → bubble on Bob's screen), p50/p99
 *   over 500 messages sent at 100 a second (`BENCH_MESSAGES`, `BENCH_RATE`), timed in the pages,
 *   step by step, with both pages' long tasks and the bare mqtt.js path at the same rate in the
 *   same run (latency.ts);
 * - a burst of 5,000 messages queued while the page was closed, delivered on reopen: time until
 *   all are stored and shown as unread, and the longest frame gap / long tasks meanwhile (the
 *   page reopens once the broker has acknowledged all of them, i.e. they wait in its queue);
 * - a live burst (2,000 messages) while the page shows that conversation (already holding the
 *   first burst): time from the bot's first send until the last message is rendered, and the
 *   frame gaps / long tasks meanwhile;
 * - built bundle sizes (gzip), initial vs lazy.
 *
 * Prints a Markdown table of the figures and their `BENCH` lines on stdout (for `npm run bench`,
 * scripts/bench-lib.ts); every detail (runs, all chunks) as JSON on stderr.
 *
 * `BENCH_ONLY=live` runs only the live burst, into a conversation seeded with `BENCH_BURST`
 * messages written straight into IndexedDB (minutes instead of the whole run, for before/after
 * comparisons). `BENCH_ONLY=latency` runs only send → render, with its per-step breakdown and
 * the bare mqtt.js path beside it (latency.ts), and with `BENCH_PROFILE=f.cpuprofile` the CPU
 * profile of the sending page (and of the receiving one, in `f.receiver.cpuprofile`). `BENCH_ONLY=queued` runs only the queued burst (no seed, no latency phase) and
 * adds load-independent counts: the page's IndexedDB transactions and requests, and from the
 * wire (CDP) the PUBLISHes in flight and the PUBACK groups, i.e. the broker's hand-over pace and
 * the page's receive batches. `BENCH_PROFILE=file.cpuprofile` records Chromium's CPU profile of
 * Alice's page during the live burst, or during the queued burst with `BENCH_ONLY=queued` (open
 * it in DevTools; the profiler slows the page down).
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import mqtt from 'mqtt';
import { createClient, createMemoryStore, DEFAULT_OPTIONS, type SottoClient } from '@sotto/client';
import {
  bubble,
  launchChromium,
  newUser,
  signUp,
  startDm,
  startServer,
} from '../../test/web/harness.ts';
import { measureBundle } from '../scripts/check-budget.ts';
import { printBench } from '../../scripts/bench-lib.ts';
import { createPublishWindow, type PublishWindow } from '../../test/support/publish-window.ts';
import { sendToRender, TRACE_INIT, type LatencyResult } from './latency.ts';
import {
  dexieReference,
  type DexieReference,
  FRAME_PROBE,
  FRAME_REPORT,
  IDB_PROBE,
  IDB_REPORT,
  percentile,
  recordMqttFrames,
  startProfile,
} from './page-probes.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
/** Send → render: messages sent a second (issue 23: 100). */
const RATE = Number(process.env.BENCH_RATE ?? 100);
const STORED = Number(process.env.BENCH_STORED ?? 10_000);
const BURST = Number(process.env.BENCH_BURST ?? 5000);
const LIVE_BURST = Number(process.env.BENCH_LIVE_BURST ?? 2000);
const ONLY_LIVE = process.env.BENCH_ONLY === 'live';
const ONLY_QUEUED = process.env.BENCH_ONLY === 'queued';
const ONLY_LATENCY = process.env.BENCH_ONLY === 'latency';
const PROFILE = process.env.BENCH_PROFILE;
/** The bot's unacknowledged publishes, kept under the broker's rate limit (publish-window.ts). */
const SEND_WINDOW = 200;

const median = (xs: number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

// In-page scripts are strings: tsx's transform would otherwise inject helpers (`__name`) that do
// not exist in the page.

/**
 * Write `count` messages straight into the engine's IndexedDB (one transaction), as the clear
 * rows of a database from before encryption at rest: the store seals them when the page next
 * opens it (PROTOCOL.md §14; the `legacy-sealed` marker is dropped so that it looks again).
 */
async function seed(page: Page, username: string, conversationId: string, count: number) {
  await page.evaluate(
    async ({ name, conversationId, count }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error ?? new Error('open failed'));
      });
      const tx = db.transaction(['messages', 'storageKey'], 'readwrite');
      tx.objectStore('storageKey').delete('legacy-sealed');
      const store = tx.objectStore('messages');
      const t0 = Date.now() - count * 60_000;
      for (let i = 0; i < count; i++) {
        const peer = conversationId.slice(3);
        store.put({
          conversationId,
          id: `seed${String(i).padStart(6, '0')}`,
          sender: i % 3 === 0 ? 'alice' : peer,
          senderDevice: 'd',
          timestamp: t0 + i * 60_000,
          receivedAt: t0 + i * 60_000,
          kind: 'text',
          body: {
            text:
              i % 7 === 0
                ? `Message ${i}: a longer line that wraps onto a second row in the bubble so heights vary`
                : `Message ${i}`,
          },
          outgoing: i % 3 === 0,
          unread: false,
          status: i % 3 === 0 ? { [`${peer}:d`]: 'read' } : {},
          edited: false,
          deleted: false,
          reactions: {},
        });
      }
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error ?? new Error('tx failed'));
      });
      db.close();
    },
    { name: `sotto-${username}`, conversationId, count },
  );
}

/** Steps 1–3: navigation, opening a large conversation, send → render between two pages. */
async function beforeTheBursts(
  browser: Browser,
  url: string,
  a: Page,
  results: Record<string, unknown>,
): Promise<void> {
  const b = await newUser(browser, url);
  await b.context.addInitScript(TRACE_INIT);
  await signUp(b.page, 'bob');
  await startDm(a, 'bob');
  if (ONLY_LATENCY) {
    console.error('bench: send→render…');
    results.sendToRenderMs = await sendToRender(a, b.page, url, MESSAGES, RATE, PROFILE);
    return;
  }

  console.error('bench: navigation…');
  // 1. Navigation → interactive conversation list (returning user).
  await seed(a, 'alice', 'dm:bulk', STORED);
  const nav: number[] = [];
  for (let i = 0; i < 7; i++) {
    await a.goto('about:blank');
    const t0 = Date.now();
    await a.goto(url);
    await a.locator('conversation-list a[data-conversation]').first().waitFor();
    nav.push(Date.now() - t0);
  }
  results.navToListMs = { median: median(nav), runs: nav };

  console.error('bench: open conversation…');
  // 2. Open a conversation of STORED messages.
  const open: number[] = [];
  for (let i = 0; i < 5; i++) {
    await a.goto(`${url}/#/`);
    await a.locator('conversation-list a[data-conversation="dm:bulk"]').waitFor();
    const t0 = Date.now();
    await a.locator('conversation-list a[data-conversation="dm:bulk"]').click();
    await bubble(a, `Message ${STORED - 1}`).waitFor();
    open.push(Date.now() - t0);
  }
  const rendered = await a.locator('conversation-view message-bubble').count();
  results.openConversationMs = { messages: STORED, median: median(open), runs: open, rendered };

  // Scroll to the middle and the top: still only a window of rows in the DOM.
  const jump = await a.evaluate(async () => {
    const view = document
      .querySelector('sotto-app')
      ?.shadowRoot?.querySelector('conversation-view');
    const list = view?.shadowRoot?.querySelector('message-list');
    const scroller = list?.shadowRoot?.querySelector<HTMLElement>('.scroller');
    if (!scroller) return null;
    const t0 = performance.now();
    scroller.scrollTop = scroller.scrollHeight / 2;
    await new Promise((r) => setTimeout(r, 300));
    const bubbles = list?.shadowRoot?.querySelectorAll('message-bubble').length ?? 0;
    return { ms: performance.now() - t0, bubbles };
  });
  results.scrollToMiddle = jump;

  console.error('bench: send→render…');
  // 3. Send → render latency between two pages, step by step, with the bare path beside it.
  results.sendToRenderMs = await sendToRender(a, b.page, url, MESSAGES, RATE);
}

/**
 * The Node bot that sends the bursts; `inbound.n` counts envelopes it receives (receipts),
 * `sent` its publishes the broker has not acknowledged yet.
 */
async function burstBot(
  url: string,
): Promise<{ bot: SottoClient; inbound: { n: number }; sent: PublishWindow }> {
  const inbound = { n: 0 };
  const sent = createPublishWindow();
  const bot = createClient({
    store: createMemoryStore(),
    http: { baseUrl: url },
    mqttConnect: (o) => {
      const c = sent.watch(mqtt.connect(`${url.replace('http', 'ws')}/mqtt`, o));
      c.on('message', (topic) => {
        if (topic.startsWith('sotto/v1/inbox/')) inbound.n++;
      });
      return c;
    },
  });
  await bot.register('burst', 'burst password 123', { kind: 'bot' });
  await bot.start();
  return { bot, inbound, sent };
}

/** Step 4: BURST messages from the bot while Alice's page is closed. */
async function queuedBurst(
  a: Page,
  url: string,
  bot: SottoClient,
  sent: PublishWindow,
): Promise<unknown> {
  console.error('bench: burst…');
  try {
    await bot.sendText('alice', 'burst warm-up');
    await bubble(a, 'burst warm-up').count();
    await a.goto('about:blank');
    const t0 = Date.now();
    for (let i = 0; i < BURST; i++) {
      await sent.below(SEND_WINDOW);
      await bot.sendText('alice', `burst ${i}`);
    }
    // All of them in Alice's queue at the broker before her page comes back: the broker admits
    // the bot's publishes at 200/s, which the reopened page measured otherwise.
    await sent.settled();
    const sendMs = Date.now() - t0;
    const wire = await recordMqttFrames(a);
    if (ONLY_QUEUED) await a.addInitScript(IDB_PROBE);
    await a.goto(`${url}/#/`);
    await a.evaluate(FRAME_PROBE);
    const profiler = ONLY_QUEUED ? await startProfile(a, PROFILE) : null;
    const t1 = Date.now();
    const row = a.locator('conversation-list a[data-conversation="dm:burst"] [data-unread]');
    for (;;) {
      const n = Number((await row.getAttribute('data-unread').catch(() => '0')) ?? 0);
      if (n >= BURST) break;
      if (Date.now() - t1 > 300_000) throw new Error(`burst stalled at ${n}`);
      await a.waitForTimeout(200);
    }
    const deliverMs = Date.now() - t1;
    const frames: Record<string, number> = await a.evaluate(FRAME_REPORT);
    await profiler?.();
    const indexedDb: unknown = ONLY_QUEUED ? await a.evaluate(IDB_REPORT) : undefined;
    const mqttWire = wire.report();
    await wire.detach();
    const reference = await dexieReference(a, BURST, DEFAULT_OPTIONS.receiveBatch);
    return {
      messages: BURST,
      reference,
      botSendMs: sendMs,
      deliverAndStoreMs: deliverMs,
      ...frames,
      mqttWire,
      indexedDb,
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Step 5: LIVE_BURST messages arriving while the page shows that conversation (rendered live):
 * until the last is rendered, the page's frames and long tasks meanwhile, then until the bot
 * has every one of them as read, and how many envelopes (receipts) the bot got for them.
 */
async function liveBurst(
  a: Page,
  url: string,
  bot: SottoClient,
  inbound: { n: number },
): Promise<unknown> {
  console.error('bench: live burst…');
  try {
    await a.goto('about:blank');
    await a.goto(`${url}/#/c/${encodeURIComponent('dm:burst')}`);
    await bubble(a, `burst ${BURST - 1}`).waitFor({ timeout: 60_000 });
    // Let the bot (same Node process) finish with the first burst's receipts before timing.
    for (let i = 0; i < 600 && (await bot.store.listOutbox()).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await a.waitForTimeout(2000);
    await a.evaluate(FRAME_PROBE);
    const profiler = await startProfile(a, PROFILE);
    const last = bubble(a, `live ${LIVE_BURST - 1}`);
    const inbound0 = inbound.n;
    const t2 = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < LIVE_BURST; i++) ids.push((await bot.sendText('alice', `live ${i}`)).id);
    const liveSendMs = Date.now() - t2;
    // Polled from Node every 100 ms (a coarse clock, fine at this scale).
    while ((await last.count()) === 0) {
      if (Date.now() - t2 > 900_000) throw new Error('live burst stalled');
      await new Promise((r) => setTimeout(r, 100));
    }
    const shownAt = Date.now();
    const live: Record<string, number> = await a.evaluate(FRAME_REPORT);
    await profiler?.();
    // The sender's view: every live message read by Alice (her page is open and at the bottom).
    let unreadAtBot = ids.length;
    for (;;) {
      unreadAtBot = 0;
      for (const id of ids) {
        const m = await bot.store.getMessage(id);
        if (!Object.values(m?.status ?? {}).includes('read')) unreadAtBot++;
      }
      if (unreadAtBot === 0 || Date.now() - shownAt > 120_000) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const reference = await dexieReference(a, LIVE_BURST, DEFAULT_OPTIONS.receiveBatch);
    return {
      messages: LIVE_BURST,
      reference,
      alreadyInConversation: BURST + 1,
      botSendMs: liveSendMs,
      lastRenderedAfterMs: shownAt - t2,
      allReadAtSenderAfterMs: unreadAtBot === 0 ? Date.now() - t2 : null,
      notReadAtSender: unreadAtBot,
      receiptEnvelopesToSender: inbound.n - inbound0,
      ...live,
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** What {@link main} collected (a step that failed carries `error` instead of its figures). */
interface Results {
  navToListMs?: { median: number; runs: number[] };
  openConversationMs?: { messages: number; median: number; rendered: number };
  scrollToMiddle?: { ms: number; bubbles: number } | null;
  sendToRenderMs?: LatencyResult;
  burst?: Partial<
    Frames & {
      messages: number;
      botSendMs: number;
      deliverAndStoreMs: number;
      mqttWire: ReturnType<Awaited<ReturnType<typeof recordMqttFrames>>['report']>;
      reference: DexieReference;
    }
  > & {
    error?: string;
  };
  liveBurst?: Partial<
    Frames & {
      messages: number;
      alreadyInConversation: number;
      botSendMs: number;
      lastRenderedAfterMs: number;
      allReadAtSenderAfterMs: number | null;
      receiptEnvelopesToSender: number;
      reference: DexieReference;
    }
  > & { error?: string };
  bundle?: { initialGzipKB: number; chunks: { file: string; gzipKB: number; initial: boolean }[] };
}

/** The table row of a burst's reference (page-probes.ts {@link dexieReference}). */
function referenceRow(r: DexieReference): [string, string] {
  const rate = (ms: number): string => `${Math.round(r.rows / (ms / 1000))} rows/s`;
  return [
    `reference in the same page: ${r.rows} rows (${r.rowBytes}-byte payload) written by Dexie alone, ${r.batch} a transaction`,
    `${r.strictMs} ms (${rate(r.strictMs)}) strict durability, as the store; ${r.relaxedMs} ms (${rate(r.relaxedMs)}) relaxed`,
  ];
}

/** {@link FRAME_REPORT}'s summary. */
interface Frames {
  frames: number;
  maxFrameGapMs: number;
  p99FrameGapMs: number;
  longTasks: number;
  longestTaskMs: number;
}

/**
 * The results as a Markdown table (the figures docs/PERFORMANCE.md quotes), then the headline
 * figures as `BENCH` lines for `npm run bench` (scripts/bench-lib.ts).
 */
function report(r: Results): void {
  const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
  const ui = (f: Partial<Frames>) =>
    `${f.maxFrameGapMs} ms / ${f.p99FrameGapMs} ms / ${f.longTasks} (longest ${f.longestTaskMs} ms)`;
  // Playwright's errors carry the browser's log: the first line is the reason.
  const failed = (e: string) => `failed: ${e.split('\n')[0]!.slice(0, 200)}`;
  const rows: [string, string][] = [];
  const figures: Parameters<typeof printBench>[0] = [];
  if (r.navToListMs) {
    rows.push([
      `navigation → interactive conversation list (median of ${r.navToListMs.runs.length})`,
      `${r.navToListMs.median} ms`,
    ]);
    figures.push({
      name: 'navigation → interactive conversation list',
      value: r.navToListMs.median,
      unit: 'ms',
    });
  }
  const open = r.openConversationMs;
  if (open) {
    rows.push([
      `open a conversation of ${open.messages} stored messages (click → newest rendered)`,
      `${open.median} ms (${open.rendered} rows in the DOM)`,
    ]);
    figures.push({
      name: `open a conversation of ${open.messages} stored messages`,
      value: open.median,
      unit: 'ms',
    });
  }
  if (r.scrollToMiddle)
    rows.push(['scroll to the middle of it', `${r.scrollToMiddle.bubbles} rows in the DOM`]);
  const lat = r.sendToRenderMs;
  if (lat) {
    rows.push([
      `send → render between two pages, ${lat.messages} messages at ${lat.rate}/s (${lat.seen} seen)`,
      `p50 ${lat.p50} ms, p99 ${lat.p99} ms, max ${lat.max} ms`,
    ]);
    rows.push([
      'of which stored → rendered on the receiving page (p50)',
      `${lat.storedToRenderedP50} ms`,
    ]);
    figures.push(
      { name: 'send → render between two pages, p50', value: lat.p50, unit: 'ms' },
      { name: 'send → render between two pages, p99', value: lat.p99, unit: 'ms' },
      {
        name: 'stored → rendered on the receiving page, p50',
        value: lat.storedToRenderedP50,
        unit: 'ms',
      },
      { name: 'send → render, bare mqtt.js path, p50', value: lat.reference.p50, unit: 'ms' },
    );
    for (const st of lat.steps)
      rows.push([`step: ${st.step}`, `p50 ${st.p50} ms, p99 ${st.p99} ms (${st.n} messages)`]);
    rows.push([
      `reference in the same run: bare mqtt.js at ${lat.rate}/s, publish → DOM node on the other page`,
      `p50 ${lat.reference.p50} ms, p99 ${lat.reference.p99} ms (${lat.reference.n} messages)`,
    ]);
    const lt = lat.longTasks;
    rows.push([
      'long tasks meanwhile: sender page / receiver page',
      `${lt.sender.count} (longest ${lt.sender.longestMs} ms) / ${lt.receiver.count} (longest ${lt.receiver.longestMs} ms)`,
    ]);
    rows.push(['sends late on their schedule (sending page busy), p99', `${lat.sendLateP99} ms`]);
    rows.push([
      'sending page: IndexedDB transactions a message (read-only / read-write)',
      `${lat.senderTransactions.readonly} / ${lat.senderTransactions.readwrite}`,
    ]);
  }
  const burst = r.burst;
  if (burst?.error !== undefined) rows.push(['queued burst', failed(burst.error)]);
  else if (burst?.deliverAndStoreMs !== undefined && burst.messages !== undefined) {
    const rate = Math.round(burst.messages / (burst.deliverAndStoreMs / 1000));
    rows.push([
      `queued burst: ${burst.messages} messages sent while the page was closed → all stored and counted unread on reopen`,
      `${s(burst.deliverAndStoreMs)} (${rate} msg/s)`,
    ]);
    const wire = burst.mqttWire;
    if (wire !== undefined && wire.publishesReceived > 0)
      rows.push([
        'of which: first PUBLISH on the page’s socket → last PUBACK (every batch committed)',
        `${s(wire.lastPubackAfterFirstPublishMs)} (${Math.round(burst.messages / (wire.lastPubackAfterFirstPublishMs / 1000))} msg/s; ${wire.pubackGroups} batches, median ${wire.pubackGroupMedian})`,
      ]);
    if (burst.reference !== undefined) rows.push(referenceRow(burst.reference));
    rows.push(['UI meanwhile: longest / p99 frame gap / long tasks', ui(burst)]);
    figures.push(
      {
        name: `queued burst of ${burst.messages} → all stored and counted unread`,
        value: burst.deliverAndStoreMs,
        unit: 'ms',
        ...(burst.reference !== undefined
          ? {
              reference: {
                name: 'the same rows written by Dexie alone (strict durability)',
                value: burst.reference.strictMs,
                unit: 'ms',
              },
            }
          : {}),
      },
      { name: 'queued burst: longest frame gap', value: burst.maxFrameGapMs ?? NaN, unit: 'ms' },
    );
  }
  const live = r.liveBurst;
  if (live?.error !== undefined) rows.push(['live burst', failed(live.error)]);
  else if (live?.lastRenderedAfterMs !== undefined) {
    rows.push([
      `live burst: ${live.messages} messages into the open conversation (${live.alreadyInConversation} in it) → last rendered`,
      `${s(live.lastRenderedAfterMs)} (bot sent all in ${s(live.botSendMs ?? NaN)})`,
    ]);
    if (live.reference !== undefined) rows.push(referenceRow(live.reference));
    rows.push(['UI meanwhile: longest / p99 frame gap / long tasks', ui(live)]);
    if (live.allReadAtSenderAfterMs !== undefined)
      rows.push([
        'live burst: every message read at the sender',
        live.allReadAtSenderAfterMs === null
          ? 'not within 120 s'
          : `${s(live.allReadAtSenderAfterMs)} (${live.receiptEnvelopesToSender} receipt envelopes)`,
      ]);
    figures.push(
      {
        name: `live burst of ${live.messages} → last rendered`,
        value: live.lastRenderedAfterMs,
        unit: 'ms',
      },
      { name: 'live burst: long tasks', value: live.longTasks ?? NaN, unit: 'tasks' },
      { name: 'live burst: longest frame gap', value: live.maxFrameGapMs ?? NaN, unit: 'ms' },
    );
  }
  if (r.bundle) {
    const lazy = r.bundle.chunks
      .filter((c) => !c.initial)
      .sort((x, y) => y.gzipKB - x.gzipKB)
      .slice(0, 5);
    rows.push(['initial JS (gzip)', `${r.bundle.initialGzipKB} KB`]);
    rows.push([
      'largest lazy chunks (gzip)',
      lazy.map((c) => `${c.file.replace(/^assets\//, '')} ${c.gzipKB} KB`).join(', '),
    ]);
    figures.push({ name: 'initial JS (gzip)', value: r.bundle.initialGzipKB, unit: 'KB' });
  }
  console.log(`Web client benchmark, ${new Date().toISOString()}\n`);
  console.log(
    ['| what | result |', '|---|---|', ...rows.map(([w, v]) => `| ${w} | ${v} |`)].join('\n'),
  );
  printBench(figures);
}

/** Steps 4–5: the queued burst (or a seeded conversation) and the live burst from a Node bot. */
async function theBursts(a: Page, url: string, results: Record<string, unknown>): Promise<void> {
  const { bot, inbound, sent } = await burstBot(url);
  try {
    if (ONLY_LIVE) {
      // The first burst, written straight into IndexedDB; one real message makes the session.
      await seed(a, 'alice', 'dm:burst', BURST);
      await a.reload(); // the store seals the seeded rows on opening
      await a.locator('conversation-list').waitFor({ timeout: 120_000 });
      await bot.sendText('alice', `burst ${BURST - 1}`);
    } else results.burst = await queuedBurst(a, url, bot, sent);
    if (!ONLY_QUEUED) results.liveBurst = await liveBurst(a, url, bot, inbound);
  } finally {
    await bot.close();
  }
}

async function main(): Promise<void> {
  const srv = await startServer();
  const browser = await launchChromium();
  const results: Record<string, unknown> = {};
  try {
    const a = await newUser(browser, srv.url);
    await signUp(a.page, 'alice');
    await a.context.addInitScript(TRACE_INIT);
    if (!ONLY_LIVE && !ONLY_QUEUED) await beforeTheBursts(browser, srv.url, a.page, results);
    if (!ONLY_LATENCY) await theBursts(a.page, srv.url, results);
  } finally {
    await browser.close();
    await srv.close();
  }

  const bundle = measureBundle(join(import.meta.dirname, '..', 'dist'));
  results.bundle = {
    initialGzipKB: +(bundle.initialGzip / 1024).toFixed(1),
    chunks: bundle.chunks.map((c) => ({
      file: c.file.replace(/-[A-Za-z0-9_-]{8}\.js$/, '.js'),
      gzipKB: +(c.gzip / 1024).toFixed(1),
      initial: c.initial,
    })),
  };
  console.error(`bench: all results\n${JSON.stringify(results, null, 2)}`);
  report(results);
}

await main();
