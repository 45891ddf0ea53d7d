/**
 * Probes the web bench puts into a page: frame gaps and long tasks, Chromium's CPU profile, the
 * page's IndexedDB transactions and requests, its MQTT traffic on the wire (CDP), and the bursts'
 * reference (rows written by Dexie alone).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);

/** The `p`th percentile of `sorted` (ascending). */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** Records frame gaps and long tasks from now on. */
export const FRAME_PROBE = `(() => {
  window.__gaps = [];
  window.__long = [];
  let last = performance.now();
  const tick = (now) => { window.__gaps.push(now - last); last = now; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push(e.duration); })
    .observe({ type: 'longtask', buffered: true });
})()`;

/** Summary of what {@link FRAME_PROBE} recorded. */
export const FRAME_REPORT = `(() => {
  const gaps = [...window.__gaps].sort((x, y) => x - y);
  return {
    frames: gaps.length,
    maxFrameGapMs: Math.round(gaps[gaps.length - 1] ?? 0),
    p99FrameGapMs: Math.round(gaps[Math.floor(gaps.length * 0.99)] ?? 0),
    longTasks: window.__long.length,
    longestTaskMs: Math.round(Math.max(0, ...window.__long)),
  };
})()`;

/**
 * With a `path`, starts Chromium's CPU profiler on `page`; the function returned stops it and
 * writes the profile there (open it in DevTools). Without one, `null`.
 */
export async function startProfile(
  page: Page,
  path: string | undefined,
): Promise<(() => Promise<void>) | null> {
  if (!path) return null;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await cdp.send('Profiler.start');
  return async () => {
    const { profile } = await cdp.send('Profiler.stop');
    writeFileSync(path, JSON.stringify(profile));
    await cdp.detach();
  };
}

/**
 * Counts the page's IndexedDB transactions (by mode and object stores) and requests (by method)
 * from now on — load-independent figures of what the page asks of the store — and how long each
 * kind of transaction took from its creation to its `complete` event (ms), which is where a
 * page that waits for IndexedDB spends its time — split in three: creation → its first request
 * answered (waiting for the transactions before it on the same tables, and one round trip),
 * → its last request made (the page's work between its requests), → complete (the last
 * answers and the commit).
 */
export const IDB_PROBE = `(() => {
  const tx = new Map();
  const req = new Map();
  const ms = new Map();
  const phases = new Map();
  window.__idb = { tx, req, ms, phases };
  const bump = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);
  const origTx = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (names, mode, ...rest) {
    const key = (mode ?? 'readonly') + ' ' + [].concat(names).join('+');
    bump(tx, key);
    const t = origTx.call(this, names, mode, ...rest);
    const start = performance.now();
    t.__first = undefined;
    t.__last = start;
    t.addEventListener('complete', () => {
      const end = performance.now();
      const list = ms.get(key) ?? [];
      list.push(end - start);
      ms.set(key, list);
      const first = t.__first ?? end;
      const last = Math.max(t.__last, first);
      const p = phases.get(key) ?? [[], [], []];
      p[0].push(first - start);
      p[1].push(last - first);
      p[2].push(end - last);
      phases.set(key, p);
    });
    return t;
  };
  for (const proto of [IDBObjectStore.prototype, IDBIndex.prototype]) {
    for (const m of ['get', 'getAll', 'getAllKeys', 'getKey', 'count', 'openCursor', 'openKeyCursor', 'put', 'add', 'delete']) {
      const orig = proto[m];
      if (typeof orig !== 'function') continue;
      const kind = proto === IDBIndex.prototype ? 'index.' : '';
      proto[m] = function (...args) {
        const store = this.objectStore ? this.objectStore.name + '.' + this.name : this.name;
        bump(req, kind + m + ' ' + store);
        const r = orig.apply(this, args);
        const t = r.transaction;
        if (t) {
          t.__last = performance.now();
          r.addEventListener('success', () => {
            if (t.__first === undefined) t.__first = performance.now();
          });
        }
        return r;
      };
    }
  }
})()`;

/**
 * What {@link IDB_PROBE} counted, largest first; `durations`: per kind of transaction that
 * completed, how many and their p50 / max in ms (creation → complete).
 */
export const IDB_REPORT = `(() => {
  const sort = (m) => Object.fromEntries([...m.entries()].sort((a, b) => b[1] - a[1]));
  if (!window.__idb) return null;
  const durations = {};
  for (const [k, list] of window.__idb.ms ?? []) {
    const s = [...list].sort((a, b) => a - b);
    durations[k] = { n: s.length, p50: Math.round(s[Math.floor(s.length / 2)] * 10) / 10, max: Math.round(s[s.length - 1] * 10) / 10 };
    const p = window.__idb.phases?.get(k);
    if (p) {
      const med = (a) => { const x = [...a].sort((u, v) => u - v); return Math.round(x[Math.floor(x.length / 2)] * 10) / 10; };
      durations[k].phasesP50 = { toFirstAnswer: med(p[0]), betweenRequests: med(p[1]), toComplete: med(p[2]) };
    }
  }
  return { transactions: sort(window.__idb.tx), requests: sort(window.__idb.req), durations };
})()`;

/** MQTT packets of one type seen in a WebSocket frame, with the frame's time (s, CDP clock). */
export interface FramePackets {
  t: number;
  n: number;
}

/**
 * Records, through CDP, the MQTT PUBLISHes the page receives and the PUBACKs it sends on its
 * WebSocket (the wire itself, whatever the page's code does), to tell the broker's hand-over
 * pace from the page's: how many PUBLISHes were in flight (received, not yet acknowledged) and
 * how the PUBACKs came in groups (one group per receive batch the engine committed).
 */
export async function recordMqttFrames(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const publishes: FramePackets[] = [];
  const pubacks: FramePackets[] = [];
  // Counts packets of `type` (high nibble of the fixed header) in an MQTT byte stream.
  const count = (b64: string, type: number): number => {
    const bytes = Buffer.from(b64, 'base64');
    let n = 0;
    for (let i = 0; i < bytes.length;) {
      if (bytes[i]! >> 4 === type) n++;
      let len = 0;
      let mul = 1;
      let j = i + 1;
      for (; j < bytes.length; j++) {
        len += (bytes[j]! & 127) * mul;
        mul *= 128;
        if ((bytes[j]! & 128) === 0) break;
      }
      i = j + 1 + len;
    }
    return n;
  };
  cdp.on('Network.webSocketFrameReceived', (e) => {
    if (e.response.opcode !== 2) return;
    const n = count(e.response.payloadData, 3);
    if (n > 0) publishes.push({ t: e.timestamp, n });
  });
  cdp.on('Network.webSocketFrameSent', (e) => {
    if (e.response.opcode !== 2) return;
    const n = count(e.response.payloadData, 4);
    if (n > 0) pubacks.push({ t: e.timestamp, n });
  });
  return {
    /** Summary from the first PUBLISH on: pace, in-flight window, PUBACK groups. */
    report() {
      const events = [
        ...publishes.map((f) => ({ t: f.t, d: f.n, ack: false })),
        ...pubacks.map((f) => ({ t: f.t, d: -f.n, ack: true })),
      ].sort((x, y) => x.t - y.t);
      let inFlight = 0;
      let maxInFlight = 0;
      for (const e of events) {
        inFlight = Math.max(0, inFlight + e.d);
        maxInFlight = Math.max(maxInFlight, inFlight);
      }
      // PUBACKs sent within 2 ms of each other belong to one batch's release.
      const groups: number[] = [];
      let last = -Infinity;
      for (const f of pubacks) {
        if (f.t - last > 0.002 || groups.length === 0) groups.push(0);
        groups[groups.length - 1]! += f.n;
        last = f.t;
      }
      const total = publishes.reduce((a, f) => a + f.n, 0);
      const first = publishes[0]?.t ?? 0;
      const lastPub = publishes[publishes.length - 1]?.t ?? 0;
      const sortedGroups = [...groups].sort((x, y) => x - y);
      return {
        publishesReceived: total,
        publishFrames: publishes.length,
        publishSpanMs: Math.round((lastPub - first) * 1000),
        lastPubackAfterFirstPublishMs: Math.round(
          ((pubacks[pubacks.length - 1]?.t ?? first) - first) * 1000,
        ),
        maxInFlight,
        pubackGroups: groups.length,
        pubackGroupMedian: percentile(sortedGroups, 50),
        pubackGroupMax: sortedGroups[sortedGroups.length - 1] ?? 0,
      };
    },
    detach: () => cdp.detach(),
  };
}

/** What {@link dexieReference} measured. */
export interface DexieReference {
  rows: number;
  batch: number;
  /** Bytes of the sealed payload (`v`) of each row, as in one of the page's stored rows. */
  rowBytes: number;
  /** Writing them with the store's durability (`strict`), and with Chromium's default (`relaxed`). */
  strictMs: number;
  relaxedMs: number;
}

/**
 * The queued and live bursts' reference (issue 23): in `page`, `rows` message rows shaped like the
 * store's (`id`, blinded conversation `c`, time `t`, `unreadIn`, the sealed payload `v` as long as
 * one the page stored) written by Dexie — the same package the app bundles, loaded into the page
 * as its UMD build — with `bulkAdd` in read-write transactions of `batch` rows (the engine's
 * receive batch), into a scratch database that is deleted again. Nothing else: no sealing, no
 * search postings, no seen ids, no decryption — what writing the rows alone costs in this page.
 */
export async function dexieReference(
  page: Page,
  rows: number,
  batch: number,
): Promise<DexieReference> {
  const source = readFileSync(require.resolve('dexie/dist/dexie.min.js'), 'utf8');
  await page.evaluate(`${source}\n;void 0`);
  return page.evaluate(`(async () => {
    const Dexie = globalThis.Dexie;
    // A stored row's payload size (the first row of the page's own message table).
    let rowBytes = 512;
    for (const info of await indexedDB.databases()) {
      const db = await new Promise((ok, fail) => {
        const r = indexedDB.open(info.name);
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(r.error);
      });
      try {
        if (!db.objectStoreNames.contains('sealedMessages')) continue;
        const row = await new Promise((ok, fail) => {
          const r = db.transaction('sealedMessages').objectStore('sealedMessages').openCursor();
          r.onsuccess = () => ok(r.result?.value);
          r.onerror = () => fail(r.error);
        });
        if (row?.v?.byteLength) rowBytes = row.v.byteLength;
      } finally {
        db.close();
      }
    }
    const payload = new Uint8Array(rowBytes);
    crypto.getRandomValues(payload);
    const write = async (durability) => {
      const name = 'bench-reference-' + durability;
      await Dexie.delete(name);
      const db = new Dexie(name, { chromeTransactionDurability: durability });
      db.version(1).stores({ sealedMessages: 'id, c, [c+t], unreadIn' });
      await db.open();
      const now = Date.now();
      const t0 = performance.now();
      for (let i = 0; i < ${rows}; i += ${batch}) {
        const list = [];
        for (let j = i; j < Math.min(${rows}, i + ${batch}); j++)
          list.push({ id: 'ref-' + j.toString(36).padStart(20, '0'), c: 'blinded-conversation-key', t: now + j, unreadIn: 'blinded-conversation-key', v: payload.slice() });
        await db.transaction('rw', db.sealedMessages, () => db.sealedMessages.bulkAdd(list));
      }
      const ms = performance.now() - t0;
      db.close();
      await Dexie.delete(name);
      return Math.round(ms);
    };
    const strictMs = await write('strict');
    const relaxedMs = await write('relaxed');
    return { rows: ${rows}, batch: ${batch}, rowBytes, strictMs, relaxedMs };
  })()`);
}
