/**
 * The web bench's send → render phase (issue 23): Alice's Enter → the bubble on Bob's screen,
 * at a fixed rate (100 msg/s by default) whatever the pages are still doing, with every step a
 * message passes timed in the pages themselves (the app's bench hook,
 * `web-client/src/services/bench-trace.ts`, and the engine's `trace`) and the long tasks of both
 * pages meanwhile; and, in the same run and at the same rate just before it, the bare path: two
 * raw mqtt.js clients in the same two pages (publish → a DOM node on the other page, no
 * encryption, no store, no framework), so the ratio says what our layers add.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import mqtt from 'mqtt';
import { inboxTopic } from '@sotto/crypto';
import { createClient, createMemoryStore } from '@sotto/client';
import { IDB_PROBE, IDB_REPORT, percentile, startProfile } from './page-probes.ts';

/** `sessionStorage` key that turns the trace on in a tab (survives its reloads). */
const TRACE_KEY = 'sotto-bench-trace';

/**
 * Init script: where the tab asked for it, installs the app's trace hook before the app loads,
 * recording `[step, id, epoch ms]` (sub-millisecond, one clock for every page of the browser).
 */
export const TRACE_INIT = `(() => {
  let on = false;
  try { on = sessionStorage.getItem(${JSON.stringify(TRACE_KEY)}) === '1'; } catch { return; }
  if (!on) return;
  const log = [];
  window.__traceLog = log;
  const t = (at) => performance.timeOrigin + (at ?? performance.now());
  globalThis.__sottoTrace = (step, id, at) => { log.push([step, id, t(at)]); };
})()`;

/** Turn the trace on (or off) in `page`'s tab; it applies from the next load. */
export async function setTrace(page: Page, on: boolean): Promise<void> {
  await page.evaluate(
    `${on ? `sessionStorage.setItem(${JSON.stringify(TRACE_KEY)}, '1')` : `sessionStorage.removeItem(${JSON.stringify(TRACE_KEY)})`}`,
  );
}

/** A raw mqtt.js client's credentials on the broker (a registered device's). */
interface RawLogin {
  clientId: string;
  password: string;
  topic: string;
}

/**
 * Register `username` with a Node engine, keep the MQTT options it connected with (a token the
 * broker accepts for that device) and close it: a raw client in a page connects with them.
 */
async function rawLogin(url: string, username: string): Promise<RawLogin> {
  let seen: mqtt.IClientOptions | undefined;
  const engine = createClient({
    store: createMemoryStore(),
    http: { baseUrl: url },
    mqttConnect: (o) => {
      seen = o;
      return mqtt.connect(`${url.replace('http', 'ws')}/mqtt`, o);
    },
  });
  const account = await engine.register(username, 'reference password 123', { kind: 'bot' });
  await engine.start();
  await engine.close();
  if (seen?.clientId === undefined || typeof seen.password !== 'string')
    throw new Error('reference: the engine connected without credentials');
  return {
    clientId: seen.clientId,
    password: seen.password,
    topic: inboxTopic(account.username, account.deviceId),
  };
}

/** Loads mqtt.js's browser bundle into `page` and connects it as `login`, subscribed to its inbox. */
async function rawClient(page: Page, url: string, login: RawLogin, name: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const bundle = readFileSync(require.resolve('mqtt/dist/mqtt.min'), 'utf8');
  const wsUrl = `${url.replace('http', 'ws')}/mqtt`;
  await page.evaluate(`(() => { ${bundle}; window.__mqtt = mqtt; })()`);
  await page.evaluate(`new Promise((resolve, reject) => {
    const c = window.__mqtt.connect(${JSON.stringify(wsUrl)}, {
      clientId: ${JSON.stringify(login.clientId)}, username: ${JSON.stringify(login.clientId)},
      password: ${JSON.stringify(login.password)}, clean: true, protocolVersion: 4, reconnectPeriod: 0,
      // Its default keep-alive timer starts a Worker from a blob: URL, which Trusted Types refuse.
      timerVariant: 'native',
    });
    window[${JSON.stringify(name)}] = c;
    c.on('error', reject);
    c.on('message', (topic, payload) => {
      const div = document.createElement('div');
      div.hidden = true;
      div.dataset.ref = new TextDecoder().decode(payload);
      document.body.append(div);
      (window.__refAt ??= {})[div.dataset.ref] = performance.timeOrigin + performance.now();
      window.__refSeen?.();
    });
    c.on('connect', () => c.subscribe(${JSON.stringify(login.topic)}, { qos: 1 }, (err) => err ? reject(err) : resolve()));
  })`);
}

/**
 * In-page: calls `send(i)` for `i` below `n` at a fixed `rate` a second from now (a send the
 * page was too busy to make on time goes as soon as it can, and the next ones keep their
 * schedule); resolves with each send's epoch ms and how late it was (ms).
 */
function pacedScript(n: number, rate: number, send: string): string {
  return `new Promise((resolve) => {
    const send = ${send};
    const interval = 1000 / ${rate};
    const t0 = performance.now() + 20;
    const at = [];
    const late = [];
    let i = 0;
    const tick = () => {
      while (i < ${n} && performance.now() >= t0 + i * interval) {
        const now = performance.now();
        late.push(now - (t0 + i * interval));
        at.push(performance.timeOrigin + now);
        send(i++);
      }
      if (i < ${n}) setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
      else resolve({ at, late });
    };
    setTimeout(tick, 20);
  })`;
}

/** In-page (Alice): types message `i` into the open conversation's composer and presses Enter. */
const COMPOSE = `(() => {
  const view = document.querySelector('sotto-app')?.shadowRoot?.querySelector('conversation-view');
  const box = view?.shadowRoot?.querySelector('chat-composer')?.shadowRoot?.querySelector('textarea');
  if (!box) throw new Error('bench: no composer in the open conversation');
  return (text) => {
    box.value = text;
    box.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
    box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, composed: true, cancelable: true }));
  };
})()`;

/**
 * In-page (Bob): resolves, once `n` bubbles whose text starts with `prefix` were in the message
 * list's DOM (or after `timeoutMs`), with each one's `[epoch ms, message id]` of the first
 * animation frame it was there in.
 */
function seenScript(prefix: string, n: number, timeoutMs: number): string {
  return `new Promise((resolve) => {
    const seen = {};
    let count = 0;
    const deadline = performance.now() + ${timeoutMs};
    const check = () => {
      const at = performance.timeOrigin + performance.now();
      const view = document.querySelector('sotto-app')?.shadowRoot?.querySelector('conversation-view');
      const list = view?.shadowRoot?.querySelector('message-list');
      for (const el of list?.shadowRoot?.querySelectorAll('message-bubble') ?? []) {
        const text = el.message?.body?.text;
        if (typeof text === 'string' && text.startsWith(${JSON.stringify(prefix)}) && !(text in seen)) {
          seen[text] = [at, el.message.id];
          count++;
        }
      }
      if (count >= ${n} || performance.now() > deadline) resolve(seen);
      else requestAnimationFrame(check);
    };
    check();
  })`;
}

/**
 * In-page (Bob): for every frame from now until `n` more messages were rendered into the message
 * list (the app's `rendered` step) or `timeoutMs` passed, the epoch ms at which its layout was
 * done — a ResizeObserver callback on an element whose width each frame's first animation-frame
 * callback changes (the observer is called after that frame's style and layout, before its
 * paint). A message is on screen in the first frame laid out after its row went into the DOM,
 * which is the frame whose animation-frame callbacks rendered it when the list renders there
 * (its frame gate), else the next one. A watcher that looks for the bubbles in each frame misses
 * rows a burst scrolls out before the next frame on a busy page; the time of a frame's first
 * callback, used before, counted a frame too many for every row rendered in a later callback of
 * the same frame.
 */
function framesScript(n: number, timeoutMs: number): string {
  return `new Promise((resolve) => {
    const frames = [];
    const log = window.__traceLog;
    let scanned = log.length;
    let rendered = 0;
    let done = false;
    const deadline = performance.now() + ${timeoutMs};
    const probe = document.createElement('div');
    probe.style.cssText = 'position:fixed;left:-10px;top:0;height:1px;width:1px;pointer-events:none';
    document.body.append(probe);
    const observer = new ResizeObserver(() => {
      frames.push(performance.timeOrigin + performance.now());
      if (!done) return;
      observer.disconnect();
      probe.remove();
      resolve(frames);
    });
    observer.observe(probe);
    let wide = false;
    const tick = () => {
      wide = !wide;
      probe.style.width = wide ? '2px' : '1px';
      for (; scanned < log.length; scanned++) if (log[scanned][0] === 'rendered') rendered++;
      // One frame more after the last row, for the rows its last callbacks render.
      if (rendered >= ${n} || performance.now() > deadline) requestAnimationFrame(() => {
        wide = !wide;
        probe.style.width = wide ? '2px' : '1px';
        done = true;
      });
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })`;
}

/**
 * In-page (Bob): the bare-path messages whose text starts with `prefix` that arrived (epoch ms
 * each), once `n` did or after `timeoutMs`.
 */
function refSeenScript(prefix: string, n: number, timeoutMs: number): string {
  return `new Promise((resolve) => {
    const mine = () => Object.fromEntries(Object.entries(window.__refAt ?? {}).filter(([k]) => k.startsWith(${JSON.stringify(prefix)})));
    let count = Object.keys(mine()).length;
    const done = () => { clearTimeout(timer); window.__refSeen = undefined; resolve(mine()); };
    const timer = setTimeout(done, ${timeoutMs});
    window.__refSeen = () => { if (++count >= ${n}) done(); };
    if (count >= ${n}) done();
  })`;
}

/** In-page: records the long tasks (> 50 ms, the browser's own threshold) from now on. */
const LONG_TASKS = `(() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
    .observe({ type: 'longtask' });
})()`;

/** Long tasks one page had. */
export interface LongTasks {
  count: number;
  longestMs: number;
}

const longTasks = async (page: Page): Promise<LongTasks> => {
  const xs = await page.evaluate<number[]>('window.__longTasks ?? []');
  return { count: xs.length, longestMs: Math.round(Math.max(0, ...xs)) };
};

/**
 * The steps of the live path in their order. The sender's steps are put in the order they
 * happened (the engine's send path may commit before or after it encrypts), the receiver's in
 * this order; `enter` is the bench's Enter, `seen` the first frame with the bubble in Bob's DOM.
 */
const SENDER_STEPS = [
  'enter',
  'asked',
  'checked',
  'stored',
  'sendLocked',
  'encrypted',
  'published',
];
const RECEIVER_STEPS = [
  'received',
  'batched',
  'locked',
  'decrypted',
  'committed',
  'event',
  'history',
  'rendered',
  'seen',
];

/** What each step pair means, for the table. */
const LABELS: Record<string, string> = {
  'enter→asked': 'Enter → engine asked (composer, view, adapter)',
  'asked→checked': 'asked → sendability and device lists known',
  'checked→stored': 'checked → message + outbox committed',
  'checked→sendLocked': 'checked → got the engine lock',
  'stored→sendLocked': 'committed → got the engine lock',
  'sendLocked→encrypted': 'lock → session read, encrypted',
  'encrypted→stored': 'encrypted → message + outbox + session committed (one batch)',
  'encrypted→published': 'encrypted → session committed, handed to mqtt.js',
  'stored→published': 'committed → handed to mqtt.js',
  'published→received': 'handed to mqtt.js → PUBLISH at the receiver (broker hop)',
  'received→batched': 'PUBLISH → its receive batch began',
  'batched→locked': 'batch began → got the engine lock',
  'locked→decrypted': 'lock → decrypted (session and contact reads, decrypt)',
  'decrypted→committed': 'decrypted → store batch committed',
  'committed→event': 'committed → `message` event out',
  'event→history': 'event → the session tells the views (`history`)',
  'history→rendered': '`history` → the row in the message list’s DOM',
  'rendered→seen': 'in the DOM → laid out in a frame',
};

/** p50/p99 of one step (ms, 0.1 ms), with how many messages had both ends. */
export interface StepFigure {
  step: string;
  p50: number;
  p99: number;
  n: number;
}

/** What {@link sendToRender} measured. */
export interface LatencyResult {
  messages: number;
  /** Messages sent a second. */
  rate: number;
  /** Messages whose bubble was seen on Bob's page (the others are left out of the figures). */
  seen: number;
  /** Enter (in Alice's page) → the first animation frame with the bubble in Bob's DOM. */
  p50: number;
  p99: number;
  max: number;
  /** The receiver's store commit → that frame. */
  storedToRenderedP50: number;
  /** How late the paced sends were on their schedule (the sending page busy), p99 (ms). */
  sendLateP99: number;
  steps: StepFigure[];
  /** The bare path in the same run, at the same rate: publish → DOM node. */
  reference: { p50: number; p99: number; n: number };
  /** Long tasks in each page while the messages were sent and shown. */
  longTasks: { sender: LongTasks; receiver: LongTasks };
  /**
   * The sending page's IndexedDB transactions a message, read-only and read-write (its engine's
   * and its views', receipts included): a figure the machine's load does not move.
   */
  senderTransactions: { readonly: number; readwrite: number };
}

const round = (x: number): number => Math.round(x * 10) / 10;
const figure = (step: string, xs: number[]): StepFigure => {
  const sorted = [...xs].sort((x, y) => x - y);
  return {
    step,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    n: xs.length,
  };
};

type Entry = [step: string, id: string, at: number];

/** {@link IDB_REPORT}'s transactions of `mode`, a message (0.1). */
const perMessage = (
  idb: { transactions: Record<string, number> } | null,
  mode: string,
  messages: number,
): number =>
  round(
    Object.entries(idb?.transactions ?? {})
      .filter(([k]) => k.startsWith(`${mode} `))
      .reduce((sum, [, n]) => sum + n, 0) / messages,
  );

/**
 * Each step pair's durations over all messages: `at` holds each message's steps (epoch ms);
 * pairs are consecutive steps as the message passed them, labelled in {@link LABELS}' order.
 */
function stepFigures(at: Iterable<Map<string, number>>): StepFigure[] {
  const pairs = new Map<string, number[]>();
  for (const m of at) {
    const sender = SENDER_STEPS.filter((s) => m.has(s)).sort((x, y) => m.get(x)! - m.get(y)!);
    const path = [...sender, ...RECEIVER_STEPS.filter((s) => m.has(s))];
    for (let i = 1; i < path.length; i++) {
      const key = `${path[i - 1]}→${path[i]}`;
      const xs = pairs.get(key) ?? [];
      xs.push(m.get(path[i]!)! - m.get(path[i - 1]!)!);
      pairs.set(key, xs);
    }
  }
  const order = Object.keys(LABELS);
  return [...pairs.entries()]
    .sort(([x], [y]) => order.indexOf(x) - order.indexOf(y))
    .map(([key, xs]) => figure(LABELS[key] ?? key, xs));
}

/**
 * `messages` from Alice's open DM with Bob to Bob's open DM with her at `rate` a second, after
 * as many bare-path messages at the same rate. Both pages are (re)loaded with the trace on and
 * left with it off. With `profile`, Chromium's CPU profile of Alice's page while she sends is
 * written there, and Bob's beside it (`….receiver.cpuprofile`).
 */
export async function sendToRender(
  a: Page,
  b: Page,
  url: string,
  messages: number,
  rate: number,
  profile?: string,
): Promise<LatencyResult> {
  const [refA, refB] = [await rawLogin(url, 'refa'), await rawLogin(url, 'refb')];
  await setTrace(a, true);
  await setTrace(b, true);
  // Counts the sending page's IndexedDB transactions (from its next load; reset below).
  await a.context().addInitScript(IDB_PROBE);
  // A new hash alone is no load: reload, so that the init script sees the trace on.
  await b.goto(`${url}/#/c/${encodeURIComponent('dm:alice')}`);
  await b.reload();
  await a.goto(`${url}/#/c/${encodeURIComponent('dm:bob')}`);
  await a.reload();
  await a.locator('conversation-view chat-composer textarea').waitFor();
  await b.locator('conversation-view chat-composer textarea').waitFor();
  await rawClient(a, url, refA, '__refA');
  await rawClient(b, url, refB, '__refB');
  const run = Math.random().toString(36).slice(2, 8);
  const timeoutMs = 30_000 + (messages / rate) * 1000;

  // The bare path first, at the same rate.
  const refPrefix = `ref-${run}-`;
  const refSeen = b.evaluate<Record<string, number>>(refSeenScript(refPrefix, messages, timeoutMs));
  const refSent = await a.evaluate<{ at: number[] }>(
    pacedScript(
      messages,
      rate,
      `(i) => window.__refA.publish(${JSON.stringify(refB.topic)}, ${JSON.stringify(refPrefix)} + i, { qos: 1 })`,
    ),
  );
  const refAt = await refSeen;
  const ref = refSent.at.flatMap((t, i) => {
    const seen = refAt[`${refPrefix}${i}`];
    return seen === undefined ? [] : [seen - t];
  });
  await a.evaluate('window.__refA.end(true)');
  await b.evaluate('window.__refB.end(true)');

  // Our path: Enter in Alice's page at `rate` a second, the bubbles in Bob's — after one message
  // sent and shown, so that the pages' first send after loading (the device lists fetched and
  // checked against the log, a cold start a conversation pays once) is not in the figures.
  const warm = b.evaluate(seenScript(`warm-${run}`, 1, timeoutMs));
  await a.evaluate(`(${COMPOSE})(${JSON.stringify(`warm-${run}`)})`);
  await warm;
  const prefix = `lat-${run}-`;
  await a.evaluate(LONG_TASKS);
  await b.evaluate(LONG_TASKS);
  await a.evaluate('window.__idb?.tx.clear(); window.__idb?.req.clear(); window.__idb?.ms.clear()');
  const profiler = await startProfile(a, profile);
  const receiverProfiler = await startProfile(
    b,
    profile && `${profile.replace(/\.cpuprofile$/, '')}.receiver.cpuprofile`,
  );
  const framesP = b.evaluate<number[]>(framesScript(messages, timeoutMs));
  const sent = await a.evaluate<{ at: number[]; late: number[] }>(
    pacedScript(
      messages,
      rate,
      `((compose) => (i) => compose(${JSON.stringify(prefix)} + i))(${COMPOSE})`,
    ),
  );
  const frames = await framesP;
  await profiler?.();
  await receiverProfiler?.();
  const tasks = { sender: await longTasks(a), receiver: await longTasks(b) };
  const idb = await a.evaluate<{
    transactions: Record<string, number>;
    requests: Record<string, number>;
  } | null>(IDB_REPORT);
  const logA = await a.evaluate<Entry[]>('window.__traceLog');
  const logB = await b.evaluate<Entry[]>('window.__traceLog');
  await setTrace(a, false);
  await setTrace(b, false);
  const dump = process.env.BENCH_TRACE_DUMP;
  if (dump)
    writeFileSync(dump, JSON.stringify({ sent, frames, sender: logA, receiver: logB, idb }));

  // Each message's steps: Enter from the pacing, the sender's from Alice's log, the receiver's
  // from Bob's, `seen` the first of Bob's frames after its row was rendered. The i-th Enter is
  // the i-th `asked` from then on (Enter reaches the engine synchronously, composer → view →
  // adapter → `sendDirect`).
  const asked = logA
    .filter(([step, , t]) => step === 'asked' && t >= sent.at[0]!)
    .sort((x, y) => x[2] - y[2]);
  const at = new Map<string, Map<string, number>>();
  sent.at.forEach((t, i) => {
    const id = asked[i]?.[1];
    if (id !== undefined) at.set(id, new Map([['enter', t]]));
  });
  for (const [step, id, t] of logA) if (SENDER_STEPS.includes(step)) at.get(id)?.set(step, t);
  for (const [step, id, t] of logB) {
    const m = at.get(id);
    if (m !== undefined && RECEIVER_STEPS.includes(step) && !m.has(step)) m.set(step, t);
  }
  for (const [id, m] of at) {
    const rendered = m.get('rendered');
    const frame = rendered === undefined ? undefined : frames.find((f) => f >= rendered);
    if (frame === undefined) at.delete(id);
    else m.set('seen', frame);
  }
  const total: number[] = [];
  const storedToSeen: number[] = [];
  for (const m of at.values()) {
    total.push(m.get('seen')! - m.get('enter')!);
    const committed = m.get('committed');
    if (committed !== undefined) storedToSeen.push(m.get('seen')! - committed);
  }
  const totalFig = figure('total', total);
  const refFig = figure('bare path', ref);
  return {
    messages,
    rate,
    seen: at.size,
    p50: totalFig.p50,
    p99: totalFig.p99,
    max: round(Math.max(...total)),
    storedToRenderedP50: figure('stored → seen', storedToSeen).p50,
    sendLateP99: figure('late', sent.late).p99,
    steps: stepFigures(at.values()),
    reference: { p50: refFig.p50, p99: refFig.p99, n: refFig.n },
    longTasks: tasks,
    senderTransactions: {
      readonly: perMessage(idb, 'readonly', messages),
      readwrite: perMessage(idb, 'readwrite', messages),
    },
  };
}
