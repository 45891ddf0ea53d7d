/**
 * Web client benchmark (`npm run bench -w web-client`), in the browser test harness: a real
 * embedded server and headless Chromium.
 *
 * - navigation → interactive conversation list (returning user, keys and history stored);
 * - opening a conversation of 10,000 stored messages (click → newest message rendered);
 * - send → render latency between two pages (Alice's Enter → bubble on Bob's screen), p50/p99
 *   over 500 messages, measured from Node and so including Playwright's polling (~few ms);
 * - a burst of 5,000 messages queued while the page was closed, delivered on reopen: time until
 *   all are stored and shown as unread, and the longest frame gap / long tasks meanwhile;
 * - a live burst (2,000 messages) while the page shows that conversation (already holding the
 *   first burst): time from the bot's first send until the last message is rendered, and the
 *   frame gaps / long tasks meanwhile;
 * - built bundle sizes (gzip), initial vs lazy.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import mqtt from 'mqtt';
import { createClient, createMemoryStore } from '@sotto/client';
import {
  bubble,
  launchChromium,
  newUser,
  signUp,
  startDm,
  startServer,
} from '../../test/web/harness.ts';
import { measureBundle } from '../scripts/check-budget.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
const STORED = Number(process.env.BENCH_STORED ?? 10_000);
const BURST = Number(process.env.BENCH_BURST ?? 5000);
const LIVE_BURST = Number(process.env.BENCH_LIVE_BURST ?? 2000);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

const median = (xs: number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

// In-page scripts are strings: tsx's transform would otherwise inject helpers (`__name`) that do
// not exist in the page.

/** Resolves with Date.now() on the first frame where a bubble with `text` is rendered. */
function seenScript(text: string): string {
  return `new Promise((resolve) => {
    const want = ${JSON.stringify(text)};
    const check = () => {
      const view = document.querySelector('sotto-app')?.shadowRoot?.querySelector('conversation-view');
      for (const el of view?.shadowRoot?.querySelectorAll('message-bubble') ?? []) {
        if (el.message?.body?.text === want) return resolve([Date.now(), el.message.receivedAt]);
      }
      requestAnimationFrame(check);
    };
    check();
  })`;
}

/** Records frame gaps and long tasks from now on. */
const FRAME_PROBE = `(() => {
  window.__gaps = [];
  window.__long = [];
  let last = performance.now();
  const tick = (now) => { window.__gaps.push(now - last); last = now; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); })
    .observe({ type: 'longtask', buffered: true });
})()`;

/** Summary of what {@link FRAME_PROBE} recorded. */
const FRAME_REPORT = `(() => {
  const gaps = [...window.__gaps].sort((x, y) => x - y);
  return {
    frames: gaps.length,
    maxFrameGapMs: Math.round(gaps[gaps.length - 1] ?? 0),
    p99FrameGapMs: Math.round(gaps[Math.floor(gaps.length * 0.99)] ?? 0),
    longTasks: window.__long.length,
    longestTaskMs: Math.round(Math.max(0, ...window.__long)),
  };
})()`;

/** Write `count` messages straight into the engine's IndexedDB (one transaction). */
async function seed(page: Page, username: string, conversationId: string, count: number) {
  await page.evaluate(
    async ({ name, conversationId, count }) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error ?? new Error('open failed'));
      });
      const tx = db.transaction('messages', 'readwrite');
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

async function main(): Promise<void> {
  const srv = await startServer();
  const browser = await launchChromium();
  const results: Record<string, unknown> = {};
  try {
    const a = await newUser(browser, srv.url);
    const b = await newUser(browser, srv.url);
    await signUp(a.page, 'alice');
    await signUp(b.page, 'bob');
    await startDm(a.page, 'bob');

    console.error('bench: navigation…');
    // 1. Navigation → interactive conversation list (returning user).
    await seed(a.page, 'alice', 'dm:bulk', STORED);
    const nav: number[] = [];
    for (let i = 0; i < 7; i++) {
      await a.page.goto('about:blank');
      const t0 = Date.now();
      await a.page.goto(srv.url);
      await a.page.locator('conversation-list a[data-conversation]').first().waitFor();
      nav.push(Date.now() - t0);
    }
    results.navToListMs = { median: median(nav), runs: nav };

    console.error('bench: open conversation…');
    // 2. Open a conversation of STORED messages.
    const open: number[] = [];
    for (let i = 0; i < 5; i++) {
      await a.page.goto(`${srv.url}/#/`);
      await a.page.locator('conversation-list a[data-conversation="dm:bulk"]').waitFor();
      const t0 = Date.now();
      await a.page.locator('conversation-list a[data-conversation="dm:bulk"]').click();
      await bubble(a.page, `Message ${STORED - 1}`).waitFor();
      open.push(Date.now() - t0);
    }
    const rendered = await a.page.locator('conversation-view message-bubble').count();
    results.openConversationMs = { messages: STORED, median: median(open), runs: open, rendered };

    // Scroll to the middle and the top: still only a window of rows in the DOM.
    const jump = await a.page.evaluate(async () => {
      const view = document
        .querySelector('sotto-app')
        ?.shadowRoot?.querySelector('conversation-view');
      const scroller = view?.shadowRoot?.querySelector<HTMLElement>('.scroller');
      if (!scroller) return null;
      const t0 = performance.now();
      scroller.scrollTop = scroller.scrollHeight / 2;
      await new Promise((r) => setTimeout(r, 300));
      const bubbles = view?.shadowRoot?.querySelectorAll('message-bubble').length ?? 0;
      return { ms: performance.now() - t0, bubbles };
    });
    results.scrollToMiddle = jump;

    console.error('bench: send→render…');
    // 3. Send → render latency between two pages.
    await b.page.goto(`${srv.url}/#/c/${encodeURIComponent('dm:alice')}`);
    await a.page.goto(`${srv.url}/#/c/${encodeURIComponent('dm:bob')}`);
    await a.page.locator('conversation-view chat-composer textarea').waitFor();
    const box = a.page.locator('conversation-view chat-composer textarea');
    const lat: number[] = [];
    const uiLat: number[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const text = `lat-${i}-${Math.random().toString(36).slice(2, 8)}`;
      await box.fill(text);
      // Detected in Bob's page on the first animation frame where the bubble is in the DOM
      // (Playwright's own waitFor polls at up to 500 ms intervals, too coarse for this).
      const seen = b.page.evaluate(seenScript(text));
      const t0 = Date.now();
      await box.press('Enter');
      const [shown, stored] = (await seen) as [number, number];
      lat.push(shown - t0);
      uiLat.push(shown - stored);
    }
    const sorted = [...lat].sort((x, y) => x - y);
    results.sendToRenderMs = {
      messages: MESSAGES,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1],
      storedToRenderedP50: median(uiLat),
    };

    console.error('bench: burst…');
    // 4. Burst: BURST messages from a Node bot while Alice's page is closed.
    const bot = createClient({
      store: createMemoryStore(),
      http: { baseUrl: srv.url },
      mqttConnect: (o) => mqtt.connect(`${srv.url.replace('http', 'ws')}/mqtt`, o),
    });
    await bot.register('burst', 'burst password 123', { kind: 'bot' });
    await bot.start();
    try {
      await bot.sendText('alice', 'burst warm-up');
      await bubble(a.page, 'burst warm-up').count();
      await a.page.goto('about:blank');
      const t0 = Date.now();
      for (let i = 0; i < BURST; i++) await bot.sendText('alice', `burst ${i}`);
      const sendMs = Date.now() - t0;
      await a.page.goto(`${srv.url}/#/`);
      await a.page.evaluate(FRAME_PROBE);
      const t1 = Date.now();
      const row = a.page.locator('conversation-list a[data-conversation="dm:burst"] [data-unread]');
      for (;;) {
        const n = Number((await row.getAttribute('data-unread').catch(() => '0')) ?? 0);
        if (n >= BURST) break;
        if (Date.now() - t1 > 300_000) throw new Error(`burst stalled at ${n}`);
        await a.page.waitForTimeout(200);
      }
      const deliverMs = Date.now() - t1;
      const frames: Record<string, number> = await a.page.evaluate(FRAME_REPORT);
      results.burst = {
        messages: BURST,
        botSendMs: sendMs,
        deliverAndStoreMs: deliverMs,
        ...frames,
      };
    } catch (err) {
      results.burst = { error: err instanceof Error ? err.message : String(err) };
    }

    try {
      console.error('bench: live burst…');
      // 5. The same burst arriving while the page shows that conversation (rendered live).
      await a.page.goto('about:blank');
      await a.page.goto(`${srv.url}/#/c/${encodeURIComponent('dm:burst')}`);
      await bubble(a.page, `burst ${BURST - 1}`).waitFor({ timeout: 60_000 });
      // Let the bot (same Node process) finish with the first burst's receipts before timing.
      for (let i = 0; i < 600 && (await bot.store.listOutbox()).length > 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
      }
      await a.page.waitForTimeout(2000);
      await a.page.evaluate(FRAME_PROBE);
      const last = bubble(a.page, `live ${LIVE_BURST - 1}`);
      const t2 = Date.now();
      for (let i = 0; i < LIVE_BURST; i++) await bot.sendText('alice', `live ${i}`);
      const liveSendMs = Date.now() - t2;
      // Polled from Node every 100 ms (a coarse clock, fine at this scale).
      while ((await last.count()) === 0) {
        if (Date.now() - t2 > 600_000) throw new Error('live burst stalled');
        await new Promise((r) => setTimeout(r, 100));
      }
      const shownAt = Date.now();
      const live: Record<string, number> = await a.page.evaluate(FRAME_REPORT);
      results.liveBurst = {
        messages: LIVE_BURST,
        alreadyInConversation: BURST + 1,
        botSendMs: liveSendMs,
        lastRenderedAfterMs: shownAt - t2,
        ...live,
      };
    } catch (err) {
      results.liveBurst = { error: err instanceof Error ? err.message : String(err) };
    }
    await bot.close();
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
  console.log(JSON.stringify(results, null, 2));
}

await main();
