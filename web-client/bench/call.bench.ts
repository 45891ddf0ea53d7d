/**
 * Call setup benchmark (`npm run bench:call -w web-client`; also part of `npm run bench -w
 * web-client`), in the browser test harness: a real embedded server, headless Chromium with a
 * fake camera and microphone, WebRTC on loopback.
 *
 * - Sotto: from Alice's click on "Video call" until media flows both ways (each page's call
 *   manager reports the link connected — DTLS fingerprint checked — and has decoded a video
 *   frame from the other). Bob's page accepts as soon as it rings (no human delay), so this is
 *   camera and microphone on both sides, the encrypted signalling over the broker (offer,
 *   answer, trickle ICE), ICE, DTLS and the first frame. Also: click → ringing on Bob's page.
 * - Reference, measured in the same run: two raw RTCPeerConnections in one page exchanging SDP
 *   and candidates directly, from the first getUserMedia until both have decoded a frame.
 *
 * Median of `BENCH_CALLS` (default 10) runs each. Prints a Markdown table and `BENCH` lines on
 * stdout (scripts/bench-lib.ts), every run as JSON on stderr. Timestamps are taken in the pages
 * (one browser, one clock), not in Node, so Playwright's polling is not counted.
 */
import type { Page } from 'playwright-core';
import {
  FAKE_MEDIA_ARGS,
  bubble,
  launchChromium,
  newUser,
  openConversation,
  send,
  signUp,
  startDm,
  startServer,
} from '../../test/web/harness.ts';
import { printBench } from '../../scripts/bench-lib.ts';

const RUNS = Number(process.env.BENCH_CALLS ?? 10);
/** A call without media both ways by then counts as failed (and the run goes on). */
const CALL_LIMIT_MS = 120_000;

// In-page scripts are strings: tsx's transform would otherwise inject helpers (`__name`) that do
// not exist in the page.

/** The page's call manager (on the `<call-overlay>` element). */
const MANAGER = `document.querySelector('sotto-app')?.shadowRoot?.querySelector('call-overlay')?.manager`;

/**
 * Resolves with Date.now() once this page's call has a connected link that decoded a frame.
 * `accept`: answer the call as soon as it rings (and resolve `window.__rang` with that time).
 */
function mediaScript(accept: boolean): string {
  return `new Promise((resolve) => {
    let accepted = false;
    const check = async () => {
      const m = ${MANAGER};
      if (m && ${accept} && !accepted && m.view.phase === 'ringing') {
        accepted = true;
        window.__rang = Date.now();
        void m.accept();
      }
      const stats = m ? await m.stats() : [];
      if (stats.some((s) => s.connected && s.framesDecoded > 0)) return resolve(Date.now());
      setTimeout(check, 5);
    };
    check();
  })`;
}

/** Click "Video call" in the page and return the time of the click. */
const CLICK = `(() => {
  const view = document.querySelector('sotto-app')?.shadowRoot?.querySelector('conversation-view');
  const header = view?.shadowRoot?.querySelector('conversation-header');
  const button = header?.shadowRoot?.querySelector('button[data-call="video"]');
  if (!button) throw new Error('no video call button');
  const t = Date.now();
  button.click();
  return t;
})()`;

/** The reference: two RTCPeerConnections in this page, SDP and candidates handed over directly. */
const RAW = `(async () => {
  const t0 = Date.now();
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  const streams = await Promise.all([0, 1].map(() => navigator.mediaDevices.getUserMedia({ audio: true, video: true })));
  for (const [pc, s] of [[a, streams[0]], [b, streams[1]]]) for (const t of s.getTracks()) pc.addTrack(t, s);
  a.onicecandidate = (e) => { if (e.candidate) void b.addIceCandidate(e.candidate); };
  b.onicecandidate = (e) => { if (e.candidate) void a.addIceCandidate(e.candidate); };
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  const decoded = async (pc) => {
    let n = 0;
    (await pc.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') n += r.framesDecoded ?? 0; });
    return n > 0;
  };
  while (!(await decoded(a)) || !(await decoded(b))) await new Promise((r) => setTimeout(r, 5));
  const ms = Date.now() - t0;
  for (const s of streams) for (const t of s.getTracks()) t.stop();
  a.close();
  b.close();
  return ms;
})()`;

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One Sotto call: click → media both ways; then hang up and wait until both pages are idle. */
async function oneCall(alice: Page, bob: Page): Promise<{ setupMs: number; ringMs: number }> {
  const bobMedia = bob.evaluate<number>(mediaScript(true));
  const aliceMedia = alice.evaluate<number>(mediaScript(false));
  const clicked = await alice.evaluate<number>(CLICK);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no media both ways in ${CALL_LIMIT_MS} ms`)),
      CALL_LIMIT_MS,
    );
  });
  try {
    const done = Math.max(
      await Promise.race([aliceMedia, late]),
      await Promise.race([bobMedia, late]),
    );
    const rang = await bob.evaluate<number>('window.__rang');
    return { setupMs: done - clicked, ringMs: rang - clicked };
  } catch (err) {
    // What each side's call looked like when it gave up (phase, links, media counters).
    for (const [who, p] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      const state = await p
        .evaluate<string>(
          `(async () => { const m = ${MANAGER}; return JSON.stringify({ view: m?.view, stats: m ? await m.stats() : null }); })()`,
        )
        .catch((e: unknown) => String(e));
      console.error(`bench: ${who} at the limit: ${state}`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    // Hang up on both sides (a call that did not connect may still ring or call).
    for (const p of [alice, bob]) await p.evaluate(`${MANAGER}.hangUp()`);
    for (const p of [alice, bob])
      await p.locator('call-overlay [data-call-view]').waitFor({ state: 'detached' });
  }
}

async function main(): Promise<void> {
  const srv = await startServer();
  const browser = await launchChromium([
    ...FAKE_MEDIA_ARGS,
    '--autoplay-policy=no-user-gesture-required',
  ]);
  const sotto: { setupMs: number; ringMs: number }[] = [];
  const raw: number[] = [];
  const failed: string[] = [];
  try {
    const { page: alice } = await newUser(browser, srv.url);
    const { page: bob } = await newUser(browser, srv.url);
    for (const [who, p] of [
      ['alice', alice],
      ['bob', bob],
    ] as const)
      p.on('console', (m) => {
        if (m.type() === 'warning' || m.type() === 'error')
          console.error(`bench: ${who} page ${m.type()}: ${m.text()}`);
      });
    await signUp(alice, 'alice');
    await signUp(bob, 'bob');
    await startDm(alice, 'bob');
    await send(alice, 'hi bob');
    await openConversation(bob, 'dm:alice');
    await bubble(bob, 'hi bob').waitFor({ timeout: 30_000 });
    // One call first, not counted: the pairwise sessions and the directory are warm afterwards,
    // as they are between two people who talk.
    await oneCall(alice, bob);
    for (let i = 0; i < RUNS; i++) {
      raw.push(await alice.evaluate<number>(RAW));
      try {
        sotto.push(await oneCall(alice, bob));
      } catch (err) {
        failed.push(String(err));
        console.error(`bench: call ${i + 1}/${RUNS} failed: ${String(err)}`);
        continue;
      }
      console.error(
        `bench: call ${i + 1}/${RUNS}: ${JSON.stringify(sotto.at(-1))}, raw ${raw.at(-1)} ms`,
      );
    }
  } finally {
    await browser.close();
    await srv.close();
  }
  const setup = median(sotto.map((r) => r.setupMs));
  const ring = median(sotto.map((r) => r.ringMs));
  const ref = median(raw);
  console.error(`bench: all runs\n${JSON.stringify({ sotto, raw }, null, 2)}`);
  console.log(`Call setup benchmark (${RUNS} runs, median), ${new Date().toISOString()}\n`);
  console.log(
    [
      '| what | median | runs |',
      '|---|---|---|',
      `| Sotto video call: click → media both ways | ${setup} ms | ${sotto.map((r) => r.setupMs).join(', ')} |`,
      `| Sotto: click → ringing on the callee | ${ring} ms | ${sotto.map((r) => r.ringMs).join(', ')} |`,
      `| reference: two raw RTCPeerConnections in one page | ${ref} ms | ${raw.join(', ')} |`,
      `| Sotto calls without media both ways within ${CALL_LIMIT_MS / 1000} s | ${failed.length} of ${RUNS} | |`,
    ].join('\n'),
  );
  printBench([
    {
      name: 'video call setup: click → media both ways',
      value: setup,
      unit: 'ms',
      reference: { name: 'two raw RTCPeerConnections in one page', value: ref, unit: 'ms' },
    },
    { name: 'call: click → ringing on the callee', value: ring, unit: 'ms' },
  ]);
}

await main();
