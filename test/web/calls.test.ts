/**
 * Browser end-to-end test of calls (PROTOCOL.md §12.1, docs/WEB.md "Calls"): real Chromium with
 * a fake camera and microphone, the real embedded server, WebRTC on loopback. A 1:1 video call
 * connects and media flows both ways (`getStats`: bytes received rising, frames decoded), mute
 * stops the outgoing audio packets, hang up ends it on both sides and leaves a call line; a
 * callee whose page holds a DTLS-terminating man in the middle (`dtls-mitm.ts`: the media
 * certificate is not the one the encrypted offer named) refuses the call and says why; a callee
 * with two devices rings on both and answering on one stops the other; a three-person
 * group call connects everyone with everyone, while an outsider who knows the call id cannot
 * join it; a `call-offer` forged in a contact's name from a device the directory does not list
 * rings nothing. The call setup benchmark is web-client/bench/call.bench.ts.
 *
 * Set `SCREENSHOTS=1` to (re)write `docs/screenshots/call-*.png` from the run.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { createClient, createMemoryStore, newMessageId, type CallSignal } from '@sotto/client';
import { sdpFingerprints } from '@sotto/crypto/wire';
import { openForgery } from '../../client/test/support/forge.ts';
import { installDtlsMitm } from './dtls-mitm.ts';
import { waitFor } from '../support/ports.ts';
import {
  CHROMIUM_ARGS,
  bubble,
  newUser,
  openConversation,
  send,
  shot,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';

const MEDIA_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...MEDIA_ARGS],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Stats {
  key: string;
  bytesReceived: number;
  framesDecoded: number;
  audioPacketsSent: number;
  connected: boolean;
}

/** The page's call counters (`CallManager.stats()`, from `RTCPeerConnection.getStats`). */
function stats(page: Page): Promise<Stats[]> {
  return page.evaluate(async () => {
    const app = document.querySelector('sotto-app');
    const overlay = app?.shadowRoot?.querySelector('call-overlay') as
      (Element & { manager?: { stats(): Promise<Stats[]> } }) | null;
    return (await overlay?.manager?.stats()) ?? [];
  });
}

const sum = (list: Stats[], f: keyof Omit<Stats, 'key' | 'connected'>): number =>
  list.reduce((a, s) => a + s[f], 0);

/** `DEBUG_WEB=1` prints where the test is. */
const step = (what: string): void => {
  if (process.env.DEBUG_WEB) console.log(`[calls] ${what}`);
};

const callView = (p: Page) => p.locator('call-overlay [data-call-view]');
const sheet = (p: Page) => p.locator('call-overlay [data-call-sheet]');

/** Wait until the page's call counter `f` grows past `above`. */
async function grows(
  page: Page,
  f: 'bytesReceived' | 'framesDecoded',
  above: number,
  what: string,
) {
  await waitFor(async () => sum(await stats(page), f) > above, { timeoutMs: 30_000, what });
}

/** Sign up, open a DM with `peer` and exchange a message, so both have the conversation. */
async function pair(a: Page, b: Page, bName: string, aName: string): Promise<void> {
  await startDm(a, bName);
  await send(a, `hi ${bName}`);
  await openConversation(b, `dm:${aName}`);
  await bubble(b, `hi ${bName}`).waitFor({ timeout: 30_000 });
}

/**
 * Someone outside the group who learnt the call id (a leak, a member removed since) offers to a
 * participant under that id, as a plain offer without the membership-checked `conversation`:
 * it must not be answered. Positive marker: a second offer of theirs under another id gets
 * `call-busy`, so the first one was handled by then.
 */
async function outsiderCannotJoin(alice: Page, other: Page): Promise<void> {
  const trent = createClient({
    store: createMemoryStore(),
    http: { baseUrl: server.url },
    mqttConnect: (o) => mqtt.connect(server.mqttUrl!, o),
  });
  const got: CallSignal[] = [];
  trent.on('call', (c) => got.push(c));
  try {
    await trent.register('trent', 'correct horse battery');
    await trent.start();
    const callId = await alice.evaluate(() => {
      const app = document.querySelector('sotto-app');
      const overlay = app?.shadowRoot?.querySelector('call-overlay') as
        (Element & { manager?: { view: { callId: string } } }) | null;
      return overlay?.manager?.view.callId ?? '';
    });
    expect(callId).not.toBe('');
    // A real offer (from a page's own RTCPeerConnection), so only the rule can refuse it.
    const sdp = await other.evaluate(async () => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('audio');
      await pc.setLocalDescription(await pc.createOffer());
      const text = pc.localDescription!.sdp;
      pc.close();
      return text;
    });
    const fingerprint = sdpFingerprints(sdp)[0]!;
    const offer = (id: string) =>
      ({ kind: 'call-offer', callId: id, media: 'audio', sdp, fingerprint }) as const;
    const [device] = await trent.calls.devices('alice');
    await trent.calls.send('alice', device!, offer(callId));
    const marker = newMessageId();
    await trent.calls.send('alice', device!, offer(marker));
    await waitFor(
      () => got.some((c) => c.payload.kind === 'call-busy' && c.payload.callId === marker),
      { timeoutMs: 90_000, what: 'call-busy for the marker offer' },
    );
    expect(got.filter((c) => c.payload.callId === callId).map((c) => c.payload.kind)).toEqual([]);
    const links = await stats(alice);
    expect(links.map((l) => l.key.split('|')[0]).sort()).toEqual(['bob', 'carol']);
    expect(links.every((l) => l.connected)).toBe(true);
  } finally {
    await trent.close();
  }
}

describe('calls in the browser', () => {
  let alice: Page;
  let bob: Page;

  it('connects a 1:1 video call with media both ways; mute stops audio packets; hang up ends both', async () => {
    ({ page: alice } = await newUser(browser, server.url));
    ({ page: bob } = await newUser(browser, server.url));
    await signUp(alice, 'alice');
    await signUp(bob, 'bob');
    await pair(alice, bob, 'bob', 'alice');

    step('paired');
    await alice.locator('conversation-header button[data-call="video"]').click();
    await callView(alice).waitFor({ timeout: 20_000 });
    step('calling');
    expect(await callView(alice).getAttribute('data-phase')).toBe('outgoing');
    await sheet(bob).waitFor({ timeout: 20_000 });
    expect(await sheet(bob).getAttribute('role')).toBe('alertdialog');
    await shot(bob, 'call-incoming-desktop');
    await bob.locator('call-overlay button[data-call-accept]').click();
    step('accepted');
    for (const p of [alice, bob])
      await p
        .locator('call-overlay [data-call-view][data-connected="true"]')
        .waitFor({ timeout: 30_000 });

    step('connected');
    // Media flows both ways: bytes received keep rising and video frames are decoded.
    for (const p of [alice, bob]) {
      const first = await stats(p);
      expect(first).toHaveLength(1);
      await grows(p, 'bytesReceived', sum(first, 'bytesReceived'), 'bytes received rising');
      await grows(p, 'framesDecoded', 0, 'video frames decoded');
    }
    await shot(alice, 'call-video-desktop');

    step('media flows');
    // Mute: audio packets were being sent; after muting, none are.
    const a0 = sum(await stats(alice), 'audioPacketsSent');
    await waitFor(async () => sum(await stats(alice), 'audioPacketsSent') > a0 + 20, {
      timeoutMs: 20_000,
      what: 'audio packets sent before muting',
    });
    await alice.locator('call-overlay button[data-control="mute"]').click();
    await alice.locator('call-overlay button[data-control="mute"][aria-pressed="true"]').waitFor();
    // Let packets already on their way settle: wait for bob to decode a few more frames.
    const f0 = sum(await stats(bob), 'framesDecoded');
    await grows(bob, 'framesDecoded', f0 + 10, 'frames after muting');
    const muted = sum(await stats(alice), 'audioPacketsSent');
    // About 2 s of video at the fake camera's rate: audio would send ~100 packets meanwhile.
    const f1 = sum(await stats(bob), 'framesDecoded');
    await grows(bob, 'framesDecoded', f1 + 40, 'frames while muted');
    expect(sum(await stats(alice), 'audioPacketsSent')).toBe(muted);
    expect(
      await alice.locator('call-overlay button[data-control="mute"]').getAttribute('aria-label'),
    ).toBe('Unmute microphone');
    // Unmute: packets flow again (positive control for the check above).
    await alice.locator('call-overlay button[data-control="mute"]').click();
    await waitFor(async () => sum(await stats(alice), 'audioPacketsSent') > muted + 10, {
      timeoutMs: 20_000,
      what: 'audio packets after unmuting',
    });

    step('mute checked');
    // Hang up ends it on both sides, each with a call line in the timeline.
    await alice.locator('call-overlay button[data-control="hang-up"]').click();
    for (const p of [alice, bob]) {
      await callView(p).waitFor({ state: 'detached', timeout: 20_000 });
      await p
        .locator('conversation-view [data-notice="call"]', { hasText: /Video call · \d+:\d\d/ })
        .waitFor({ timeout: 20_000 });
    }
  }, 300_000);

  it('refuses a call whose media DTLS certificate is not the one the encrypted offer named (a man in the middle in the callee’s page)', async () => {
    // Dave's page rewrites the descriptions its RTCPeerConnection is given (test/web/dtls-mitm.ts):
    // the app's connection completes DTLS with a relay in the page, not with alice.
    const { context, page: dave } = await newUser(browser, server.url);
    await context.addInitScript(installDtlsMitm);
    await dave.reload();
    const warnings: string[] = [];
    dave.on('console', (m) => {
      if (m.text().startsWith('call: media certificate')) warnings.push(m.text());
    });
    await signUp(dave, 'dave');
    await pair(alice, dave, 'dave', 'alice');
    await alice.locator('conversation-header button[data-call="video"]').click();
    await sheet(dave).waitFor({ timeout: 20_000 });
    await dave.locator('call-overlay button[data-call-accept]').click();
    // Whichever comes first: dave's app refuses the call, or the call connects through the
    // relay with video decoded on both sides (what happens without call-link.ts's verify).
    const refused = dave.locator('call-overlay [role=alert][data-call-error="fingerprint"]');
    const daveConnected = dave.locator('call-overlay [data-call-view][data-connected="true"]');
    let outcome = '';
    await waitFor(
      async () => {
        if ((await refused.count()) > 0) outcome = 'refused';
        else if ((await daveConnected.count()) > 0) {
          const decoded = await Promise.all(
            [alice, dave].map(async (p) => sum(await stats(p), 'framesDecoded')),
          );
          if (decoded.every((n) => n > 0))
            outcome = `connected through the relay, frames decoded: alice ${decoded[0]}, dave ${decoded[1]}`;
        }
        return outcome !== '';
      },
      { timeoutMs: 60_000, what: 'the call refused or connected through the relay' },
    );
    expect(outcome).toBe('refused');
    expect((await refused.textContent())?.trim()).toBe(
      'The call was ended for your safety: its media was not secured with the certificate your ' +
        'contact’s encrypted call message named, so someone may be intercepting it.',
    );
    // It was the relay's certificate that DTLS accepted, not a connection that never came up.
    await waitFor(async () => (await dave.evaluate(() => window.__mitm?.innerConnected)) === true, {
      timeoutMs: 10_000,
      what: 'the relay connected to the app',
    });
    const mitm = await dave.evaluate(() => window.__mitm);
    expect(mitm?.offers).toBe(1);
    expect(mitm?.relayFingerprint).not.toBe(mitm?.callerFingerprint);
    await waitFor(() => warnings.some((w) => w.endsWith('mismatch; hanging up that link')), {
      timeoutMs: 10_000,
      what: 'the page to log the mismatch',
    });
    // Alice's side ends too: dave's app hung up on her.
    await callView(alice).waitFor({ state: 'detached', timeout: 20_000 });
    await callView(dave).waitFor({ state: 'detached' });
    await context.close();
  }, 120_000);

  it('rings both devices of a two-device callee; answering on one stops the other', async () => {
    // A second browser of bob, linked from the first.
    const { page: bob2 } = await newUser(browser, server.url);
    await bob2.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
    await bob2.locator('auth-view input[name=username]').fill('bob');
    await bob2.locator('auth-view input[name=password]').fill('correct horse battery');
    await bob2.locator('auth-view button[type=submit]').click();
    await bob2.locator('auth-view button[data-link]').click({ timeout: 20_000 });
    const codeEl = bob2.locator('link-offer [data-link-code]');
    await codeEl.waitFor({ timeout: 20_000 });
    const code = (await codeEl.textContent())!.trim();
    await bob.evaluate(() => (location.hash = '#/settings'));
    await bob.locator('settings-view a[href="#/link"]').click();
    await bob.locator('link-device textarea').fill(code);
    await bob.locator('link-device button[type=submit]').click();
    await bob.locator('link-device [data-linked]').waitFor({ timeout: 30_000 });
    await bob2.locator('auth-view button[data-link-continue]').click({ timeout: 30_000 });
    await bob2.locator('conversation-list').waitFor({ timeout: 30_000 });
    await bob.evaluate(() => (location.hash = '#/'));

    // Alice's directory cache may still list one device of bob: the call looks bob up afresh
    // once the cache expires, so retry until both ring (bounded).
    await openConversation(alice, 'dm:bob');
    await waitFor(
      async () => {
        await alice.locator('conversation-header button[data-call="audio"]').click();
        try {
          await sheet(bob).waitFor({ timeout: 10_000 });
          await sheet(bob2).waitFor({ timeout: 10_000 });
          return true;
        } catch {
          await alice.locator('call-overlay button[data-control="hang-up"]').click();
          await callView(alice).waitFor({ state: 'detached' });
          for (const p of [bob, bob2])
            await sheet(p).waitFor({ state: 'detached', timeout: 20_000 });
          return false;
        }
      },
      { timeoutMs: 150_000, intervalMs: 100, what: 'both devices of bob ringing' },
    );
    expect(await sheet(bob2).getAttribute('data-media')).toBe('audio');
    await bob2.locator('call-overlay button[data-call-accept]').click();
    // The other device stops ringing and leaves no missed-call line (it was answered).
    await sheet(bob).waitFor({ state: 'detached', timeout: 20_000 });
    for (const p of [alice, bob2])
      await p
        .locator('call-overlay [data-call-view][data-connected="true"]')
        .waitFor({ timeout: 30_000 });
    await callView(bob).waitFor({ state: 'detached' });
    await bob2.locator('call-overlay button[data-control="hang-up"]').click();
    for (const p of [alice, bob2])
      await callView(p).waitFor({ state: 'detached', timeout: 20_000 });
    await bob2.context().close();
  }, 300_000);

  it('rings nothing for a call-offer forged in a contact’s name from an unlisted device', async () => {
    // The attacker: a real account speaking raw MQTT, claiming to be bob.
    const { page: mallory } = await newUser(browser, server.url);
    await signUp(mallory, 'mallory');
    await mallory.context().close();
    const forgery = await openForgery({
      httpUrl: server.url,
      mqttUrl: server.mqttUrl!,
      attacker: { username: 'mallory', password: 'correct horse battery' },
      victim: 'alice',
      claimAs: 'bob',
    });
    const fp = `sha-256 ${Array.from({ length: 32 }, () => 'AB').join(':')}`;
    const sdp = `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:${fp}\r\n`;
    await forgery.send({
      kind: 'call-offer',
      callId: 'AAAAAAAAAAAAAAAAAAAAAA',
      media: 'video',
      sdp,
      fingerprint: fp,
    });
    await forgery.close();
    // The forgery becomes a security notice in the DM with bob, not a ringing call.
    await openConversation(alice, 'dm:bob');
    await alice
      .locator('conversation-view security-notice-strip li[data-notice=UNLISTED_DEVICE]')
      .waitFor({ timeout: 30_000 });
    // Positive control: bob's real call rings alice, and only that one.
    await bob.evaluate(() => (location.hash = '#/c/dm%3Aalice'));
    await bob.locator('conversation-header button[data-call="audio"]').click();
    await sheet(alice).waitFor({ timeout: 20_000 });
    expect(await sheet(alice).getAttribute('data-media')).toBe('audio');
    await alice.locator('call-overlay button[data-call-decline]').click();
    await callView(bob).waitFor({ state: 'detached', timeout: 20_000 });
    await alice
      .locator('conversation-view [data-notice="call"]', {
        hasText: 'Declined voice call from bob',
      })
      .waitFor({ timeout: 20_000 });
  }, 300_000);
  // Bob's second device (the test above) is offline and listed: a slow send to it must not hold
  // up the bob–carol link (it did, for over a minute, before the mesh join was changed).
  it('connects a three-person group call, everyone with everyone; an outsider with the call id cannot join', async () => {
    const { page: carol } = await newUser(browser, server.url);
    await signUp(carol, 'carol');
    await alice.locator('conversation-list button', { hasText: 'New group' }).click();
    await alice.locator('conversation-list input[name=name]').fill('Call club');
    await alice.locator('conversation-list input[name=members]').fill('bob, carol');
    await alice.locator('conversation-list form button[type=submit]').click();
    await alice
      .locator('conversation-view h2', { hasText: 'Call club' })
      .waitFor({ timeout: 20_000 });
    await send(alice, 'group call soon');
    for (const p of [bob, carol]) {
      await p.locator('conversation-list a', { hasText: 'Call club' }).click({ timeout: 30_000 });
      await bubble(p, 'group call soon').waitFor({ timeout: 30_000 });
    }
    // Members who have talked: bob and carol have pairwise sessions (their sender keys went that
    // way), as in a group that is used. A first-ever session costs the first offer tens of
    // seconds on this loaded machine, which would only test the load.
    await send(bob, 'bob here');
    await bubble(carol, 'bob here').waitFor({ timeout: 60_000 });
    await send(carol, 'carol here');
    await bubble(bob, 'carol here').waitFor({ timeout: 60_000 });
    await alice.locator('conversation-header button[data-call="video"]').click();
    for (const p of [bob, carol]) {
      await sheet(p).waitFor({ timeout: 20_000 });
      await p.locator('call-overlay button[data-call-accept]').click();
    }
    for (const p of [alice, bob, carol]) {
      await waitFor(
        async () => {
          const s = await stats(p);
          return s.filter((x) => x.connected).length === 2;
        },
        { timeoutMs: 90_000, what: 'connected to both others' },
      );
      await grows(p, 'framesDecoded', 0, 'frames from the others');
      expect(await p.locator('call-overlay [data-remote]').count()).toBe(2);
    }
    await shot(carol, 'call-group-desktop');
    await outsiderCannotJoin(alice, carol);
    // Alice leaves: bob and carol stay connected to each other.
    await alice.locator('call-overlay button[data-control="hang-up"]').click();
    await callView(alice).waitFor({ state: 'detached', timeout: 20_000 });
    for (const p of [bob, carol])
      await waitFor(async () => (await stats(p)).filter((x) => x.connected).length === 1, {
        timeoutMs: 20_000,
        what: 'one peer left after alice hung up',
      });
    // Bob leaves: carol is alone, and the call ends for her without a click.
    await bob.locator('call-overlay button[data-control="hang-up"]').click();
    for (const p of [bob, carol]) await callView(p).waitFor({ state: 'detached', timeout: 20_000 });
    await carol
      .locator('conversation-view [data-notice="call"]', { hasText: /Video call · \d+:\d\d/ })
      .waitFor({ timeout: 20_000 });
  }, 300_000);
});
