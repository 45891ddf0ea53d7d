/**
 * The installable app in Chromium (docs/WEB.md "Installable app and notifications"): the
 * manifest and its icons, the service worker under the strict CSP, an offline start from the
 * worker's cache, and the worker's handling of a wake-up push — nothing while a window of the
 * app is visible, the generic notice while it cannot read the store (no account, app lock), and
 * otherwise what its own engine fetched and decrypted: the conversation's name and the text
 * ("New message" under "hide message content"), nothing for a muted chat or for a push with
 * nothing new behind it whatever its body says, and never an engine beside another (the engine
 * lock: the worker waits for it, the page waits for the worker). A click opens the conversation.
 *
 * What the worker shows is read from Chromium's DevTools record of the notifications a profile
 * displayed and closed (CDP `BackgroundService`, as in DevTools → Application → Notifications), not
 * only from `registration.getNotifications()`: headless Chromium on Linux without a notification
 * daemon shows a notice as a popup and closes it 25 s later (measured: gone from
 * getNotifications(), "Notification closed" recorded), so a list read later under load can miss a
 * notice that was shown. The record keeps each display with its title, body and tag.
 *
 * The push is handed to the worker with CDP `ServiceWorker.deliverPushMessage`: Chromium's
 * PushManager subscribes through FCM, which cannot be reached from the test machines, so the
 * path browser ← push service is not exercised here (keyserver/test/push.test.ts checks what the
 * key server sends, against a local receiver). The people who write are Node engines over MQTT.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, CDPSession, Page, Worker } from 'playwright-core';
import mqtt, { type MqttClient } from 'mqtt';
import { createClient, createMemoryStore, type SottoClient } from '@sotto/client';
import { until } from '../../client/test/support/server.ts';
import { expectCspClean, newWatchedUser, type CspWatch } from './csp-watch.ts';
import {
  bubble,
  go,
  launchChromium,
  openConversation,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';

/** What the test uses of the worker's global scope (the DOM typings here do not describe it). */
interface WorkerScope {
  registration: {
    getNotifications(filter?: {
      tag?: string;
    }): Promise<{ title: string; body: string; tag: string; data: unknown }[]>;
  };
  dispatchEvent(event: Event): boolean;
}
/** The worker's `NotificationEvent` (WebWorker typings, not DOM). */
declare const NotificationEvent: new (type: string, init: { notification: unknown }) => Event;

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let csp: CspWatch;

beforeAll(async () => {
  // MQTT over TCP for the Node engines of the people who write to the worker's account.
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  ({ context, page, csp } = await newWatchedUser(browser, server.url));
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** What the workers logged (what each wake-up came to), printed when a test fails. */
const workerLog: string[] = [];
/** The notice records of the profiles under test, printed when a test fails. */
const records: NoticeRecord[] = [];
beforeEach(({ onTestFailed }) => {
  workerLog.length = 0;
  for (const r of records) r.mark();
  onTestFailed(() => {
    console.log(`the service worker logged:\n${workerLog.join('\n')}`);
    for (const r of records) console.log(`notifications recorded:\n${r.history()}`);
  });
});

/** The push registration of the app's worker in the context of `p`, and that worker. */
async function workerOf(
  ctx: BrowserContext,
  p: Page,
): Promise<{ cdp: CDPSession; registrationId: string; worker: Worker }> {
  const cdp = await ctx.newCDPSession(p);
  const found = new Promise<string>((resolve) =>
    cdp.on(
      'ServiceWorker.workerRegistrationUpdated',
      (e: { registrations: { registrationId: string; scopeURL: string }[] }) => {
        const r = e.registrations.find((x) => x.scopeURL === `${server.url}/`);
        if (r) resolve(r.registrationId);
      },
    ),
  );
  await cdp.send('ServiceWorker.enable');
  const registrationId = await found;
  const worker = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker'));
  worker.on('console', (m) => workerLog.push(`${new Date().toISOString()} ${m.text()}`));
  return { cdp, registrationId, worker };
}

/** The notifications `worker` shows now. */
const shown = (worker: Worker) =>
  worker.evaluate(async () =>
    (await (self as unknown as WorkerScope).registration.getNotifications()).map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      data: n.data,
    })),
  );

/** A notification as Chromium's DevTools recorded its display. */
interface Displayed {
  tag: string;
  title: string;
  body: string;
}

/** One event of DevTools' background-service record (CDP `BackgroundService`). */
interface BackgroundServiceEvent {
  service: string;
  eventName: string;
  instanceId: string;
  eventMetadata: { key: string; value: string }[];
}

/**
 * Chromium's record of the notifications the profile of `p` displays and closes, from now on.
 * `displayed()` lists the displays since the last `mark()`; `history()` all of it, with times,
 * for a failure's log.
 */
async function recordNotices(ctx: BrowserContext, p: Page) {
  const cdp = await ctx.newCDPSession(p);
  const events: { at: string; name: string; notice: Displayed }[] = [];
  cdp.on(
    'BackgroundService.backgroundServiceEventReceived',
    ({ backgroundServiceEvent: e }: { backgroundServiceEvent: BackgroundServiceEvent }) => {
      if (e.service !== 'notifications') return;
      const meta = new Map(e.eventMetadata.map((m) => [m.key, m.value]));
      events.push({
        at: new Date().toISOString(),
        name: e.eventName,
        notice: { tag: e.instanceId, title: meta.get('Title') ?? '', body: meta.get('Body') ?? '' },
      });
    },
  );
  await cdp.send('BackgroundService.setRecording', {
    shouldRecord: true,
    service: 'notifications',
  });
  await cdp.send('BackgroundService.startObserving', { service: 'notifications' });
  let from = 0;
  const since = (name: string) =>
    events
      .slice(from)
      .filter((e) => e.name === name)
      .map((e) => e.notice);
  return {
    mark: () => void (from = events.length),
    displayed: () => since('Notification displayed'),
    closed: () => since('Notification closed').map((n) => n.tag),
    history: () => events.map((e) => `${e.at} ${e.name} ${JSON.stringify(e.notice)}`).join('\n'),
  };
}
type NoticeRecord = Awaited<ReturnType<typeof recordNotices>>;

/** The active worker's script URL, once the page's registration is ready. */
const activeWorker = (p: Page) =>
  p.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL ?? null);

describe('installable app', () => {
  it('registers the service worker and serves a manifest Chromium can install from, CSP clean', async () => {
    expect(await activeWorker(page)).toBe(`${server.url}/sw.js`);
    const manifest = await page.evaluate(async () => {
      const link = document.querySelector<HTMLLinkElement>('link[rel=manifest]');
      const r = await fetch(link?.href ?? '');
      return {
        type: r.headers.get('content-type'),
        body: (await r.json()) as Record<string, unknown>,
      };
    });
    expect(manifest.type).toMatch(/application\/manifest\+json|application\/json/);
    expect(manifest.body).toMatchObject({ name: 'Sotto', display: 'standalone', start_url: '/' });
    const icons = manifest.body.icons as { src: string; sizes: string; purpose: string }[];
    expect(icons.map((i) => `${i.sizes} ${i.purpose}`)).toEqual([
      '192x192 any',
      '512x512 any',
      '512x512 maskable',
    ]);
    const fetched = await page.evaluate(
      (srcs) => Promise.all(srcs.map(async (s) => (await fetch(s)).headers.get('content-type'))),
      icons.map((i) => i.src),
    );
    expect(fetched).toEqual(['image/png', 'image/png', 'image/png']);
    const cdp = await context.newCDPSession(page);
    const { errors } = (await cdp.send('Page.getAppManifest')) as { errors: unknown[] };
    expect(errors).toEqual([]);
    const install = (await cdp.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: { errorId: string }[];
    };
    // Test contexts are incognito profiles, where Chromium never offers to install; that is the
    // only reason it may give.
    const reasons = install.installabilityErrors.map((e) => e.errorId);
    expect(reasons.filter((id) => id !== 'in-incognito')).toEqual([]);
    await cdp.detach();
    await expectCspClean(csp, page, 'after the worker registered');
  });

  it('starts with no network from the worker’s cache, and caches nothing of the API', async () => {
    await context.setOffline(true);
    try {
      await page.reload();
      await page.locator('auth-view input[name=username]').waitFor({ timeout: 20_000 });
      const api = await page.evaluate(() =>
        fetch('/healthz').then(
          (r) => `answered ${r.status}`,
          () => 'network error',
        ),
      );
      expect(api).toBe('network error');
      // Nor does it answer a navigation to the server's own pages with the app.
      const docs = await page.goto(`${server.url}/docs`).then(
        () => 'the app',
        () => 'network error',
      );
      expect(docs).toBe('network error');
    } finally {
      await context.setOffline(false);
    }
  });
});

describe('wake-up pushes in the service worker', () => {
  let cdp: CDPSession;
  let registrationId = '';
  let worker: Worker;
  let notices: NoticeRecord;

  const deliver = (data: string) =>
    cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId,
      data,
    });
  const group = (n: number) => `group:g${n}${'x'.repeat(20)}`;

  beforeAll(async () => {
    await context.grantPermissions(['notifications'], { origin: server.url });
    ({ cdp, registrationId, worker } = await workerOf(context, page));
    notices = await recordNotices(context, page);
    records.push(notices);
  });

  it('shows only "New message" while no window is visible and no account is signed in, nothing while one is', async () => {
    // Visible page: the page notifies by itself, the worker stays silent.
    await page.goto(`${server.url}/#/`);
    await expect.poll(() => activeWorker(page)).toBe(`${server.url}/sw.js`);
    await deliver(JSON.stringify({ v: 1, type: 'wake', conversation: group(1) }));
    // No window of the app any more: the worker notifies. Its notice is the marker that the
    // first push was handled before it (pushes reach one worker in order).
    await page.goto('about:blank');
    await deliver(JSON.stringify({ v: 1, type: 'wake', conversation: group(2) }));
    await expect.poll(notices.displayed, { timeout: 20_000 }).toHaveLength(1);
    expect(notices.displayed()).toEqual([{ title: 'Sotto', body: 'New message', tag: group(2) }]);
    // What a click opens, read while the notice is up (it was displayed a moment ago).
    expect(await shown(worker)).toEqual([
      { title: 'Sotto', body: 'New message', tag: group(2), data: { conversation: group(2) } },
    ]);
    // A DM wake-up (no conversation) and a push that is not ours: the same generic notice, with
    // nothing to open but the list.
    notices.mark();
    await deliver(JSON.stringify({ v: 1, type: 'wake' }));
    await deliver('{"from":"mallory","text":"pay me"}');
    await expect.poll(notices.displayed, { timeout: 20_000 }).not.toHaveLength(0);
    const generic = { title: 'Sotto', body: 'New message', tag: 'sotto-new-message' };
    // One notice, or the same one twice (two wake-ups, or one for both pushes: coalesce.ts).
    const displayed = notices.displayed();
    expect(displayed).toEqual(displayed.map(() => generic));
    expect((await shown(worker)).find((n) => n.tag === 'sotto-new-message')).toEqual({
      ...generic,
      data: { conversation: null },
    });
  });

  it('opens the conversation a notification names when it is clicked', async () => {
    // A notice of its own, held in the worker's scope while the app's page loads (headless
    // Chromium closes an unclicked notice after 25 s, a slow load included).
    await page.goto('about:blank');
    await deliver(JSON.stringify({ v: 1, type: 'wake', conversation: group(3) }));
    await expect.poll(notices.displayed, { timeout: 20_000 }).toHaveLength(1);
    await worker.evaluate(async (tag) => {
      const sw = self as unknown as WorkerScope & { held?: unknown };
      [sw.held] = await sw.registration.getNotifications({ tag });
      if (sw.held === undefined) throw new Error(`no notification tagged ${tag}`);
    }, group(3));
    await page.goto(`${server.url}/#/`);
    await page.locator('sotto-app').waitFor();
    await expect.poll(() => activeWorker(page)).toBe(`${server.url}/sw.js`);
    // Chromium has no CDP call to click a notification: the worker gets the click event its
    // notification would fire, for the notification it showed.
    await worker.evaluate(() => {
      const sw = self as unknown as WorkerScope & { held?: unknown };
      sw.dispatchEvent(new NotificationEvent('notificationclick', { notification: sw.held }));
    });
    await expect
      .poll(() => page.evaluate(() => decodeURIComponent(location.hash)), { timeout: 20_000 })
      .toBe(`#/c/${group(3)}`);
    // The clicked notification is closed.
    // The clicked notification is closed (Chromium records the close a second or so later).
    await expect
      .poll(async () => (await shown(worker)).map((n) => n.tag), { timeout: 20_000 })
      .not.toContain(group(3));
    await expect.poll(notices.closed, { timeout: 20_000 }).toContain(group(3));
  });
});

describe('wake-ups the worker fetches and decrypts (no page of the app open)', () => {
  const alice = 'wake_alice';
  let actx: BrowserContext;
  let ap: Page;
  let acsp: CspWatch;
  let aw: { cdp: CDPSession; registrationId: string; worker: Worker };
  let notices: NoticeRecord;
  const writers = new Map<string, { engine: SottoClient; mq: () => MqttClient | null }>();

  /** Hand the worker a push (the key server's wake-up, or anything a hostile one sends). */
  const deliver = (data: string) =>
    aw.cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId: aw.registrationId,
      data,
    });
  const wakeUp = () => deliver(JSON.stringify({ v: 1, type: 'wake' }));
  const clearNotes = () =>
    aw.worker.evaluate(async () => {
      for (const n of await (self as unknown as WorkerScope).registration.getNotifications())
        (n as unknown as { close(): void }).close();
    });

  // Whatever a test leaves shown goes with it, so that one failure does not fail the tests after
  // it on its leftover notices.
  afterEach(async () => {
    if (aw !== undefined) await clearNotes().catch(() => undefined);
  });

  /** `from` writes to Alice; resolves once the broker has queued it for her (its PUBACK). */
  async function write(from: string, text: string): Promise<void> {
    const w = writers.get(from)!;
    await w.engine.sendText(alice, text);
    await until(
      () => Object.keys(w.mq()?.outgoing ?? { x: 1 }).length === 0,
      `the broker's PUBACK of ${from}'s message`,
      20_000,
    );
  }

  /** Alice's app page, signed in (resumed), on the chat list. */
  async function openApp(): Promise<void> {
    await ap.goto(`${server.url}/#/`);
    await ap.locator('conversation-list').waitFor({ timeout: 30_000 });
  }

  beforeAll(async () => {
    ({ context: actx, page: ap, csp: acsp } = await newWatchedUser(browser, server.url));
    await actx.grantPermissions(['notifications'], { origin: server.url });
    await signUp(ap, alice);
    aw = await workerOf(actx, ap);
    notices = await recordNotices(actx, ap);
    records.push(notices);
    for (const name of ['wake_bob', 'wake_carol', 'wake_dave']) {
      let mq: MqttClient | null = null;
      const engine = createClient({
        store: createMemoryStore(),
        http: { baseUrl: server.url },
        mqttConnect: (o) => (mq = mqtt.connect(server.mqttUrl!, o)),
      });
      await engine.register(name, 'correct horse battery');
      await engine.start();
      writers.set(name, { engine, mq: () => mq });
    }
    // Carol's chat is muted (until unmuted).
    await write('wake_carol', 'hi from carol');
    await openConversation(ap, 'dm:wake_carol');
    await ap.locator('conversation-view conversation-actions select[data-mute]').selectOption('1h');
    const muted = ap.locator('conversation-list a[data-conversation="dm:wake_carol"] [data-muted]');
    await muted.waitFor({ timeout: 10_000 });
    // Stored (the write follows the click): a fresh page still shows it.
    await ap.reload();
    await muted.waitFor({ timeout: 30_000 });
    // The app is closed: no window of it, its engine stopped (and its engine lock released).
    await ap.goto('about:blank');
  });

  afterAll(async () => {
    for (const w of writers.values()) await w.engine.close();
  });

  it('shows the conversation and the text it decrypted; a muted chat stays silent', async () => {
    await write('wake_carol', 'muted words');
    await write('wake_bob', 'lunch at noon?');
    await write('wake_dave', 'the marker from dave');
    await wakeUp();
    // Dave's notice is the marker: the worker handled the whole queue, Carol's message too.
    await expect
      .poll(() => notices.displayed().map((n) => n.tag), { timeout: 40_000 })
      .toContain('dm:wake_dave');
    const bob = { title: 'wake_bob', body: 'lunch at noon?', tag: 'dm:wake_bob' };
    const dave = { title: 'wake_dave', body: 'the marker from dave', tag: 'dm:wake_dave' };
    expect(notices.displayed()).toEqual([bob, dave]);
    // What a click opens, read while the notices are up (displayed a moment ago).
    expect((await shown(aw.worker)).sort((a, b) => a.tag.localeCompare(b.tag))).toEqual([
      { ...bob, data: { conversation: 'dm:wake_bob' } },
      { ...dave, data: { conversation: 'dm:wake_dave' } },
    ]);
  });

  it('shows nothing a push body says: a forged or repeated push with nothing new shows nothing', async () => {
    // Stored and unread from the last test, but not new: a push naming anything must not show
    // them, nor the push's own words.
    await deliver('{"v":1,"type":"wake","from":"wake_bob","text":"pay me"}');
    await deliver('{"from":"wake_bob","text":"pay me"}');
    await deliver(JSON.stringify({ v: 1, type: 'wake', conversation: `group:g${'x'.repeat(21)}` }));
    await wakeUp();
    // The marker: a real message after them (pushes reach one worker in order).
    await write('wake_dave', 'second marker');
    await wakeUp();
    await expect
      .poll(() => notices.displayed().map((n) => n.body), { timeout: 40_000 })
      .toContain('second marker');
    // Nothing before it: not the old messages, not the pushes' words, not a generic notice.
    expect(notices.displayed()).toEqual([
      { title: 'wake_dave', body: 'second marker', tag: 'dm:wake_dave' },
    ]);
  });

  it('runs the engine only under its lock: the worker waits for another engine, the page for the worker', async () => {
    const name = `sotto-engine:${alice}`;
    /** Take Alice's engine lock from the worker's scope (as another engine would hold it). */
    const hold = () =>
      aw.worker.evaluate(
        (n) =>
          new Promise<void>((held) => {
            void navigator.locks.request(
              n,
              () =>
                new Promise<void>((release) => {
                  (self as unknown as { release: () => void }).release = release;
                  held();
                }),
            );
          }),
        name,
      );
    const release = () =>
      aw.worker.evaluate(() => (self as unknown as { release: () => void }).release());
    // Page and Worker evaluate alike; their overloads do not unify.
    const pending = (p: Page | Worker) =>
      (p as Page).evaluate(
        async (n) => (await navigator.locks.query()).pending?.filter((l) => l.name === n).length,
        name,
      );

    // Another engine holds it: the woken worker waits for it before it opens anything.
    await hold();
    await write('wake_bob', 'while locked out');
    await wakeUp();
    await expect.poll(() => pending(aw.worker), { timeout: 20_000 }).toBe(1);
    expect(notices.displayed()).toEqual([]);
    await release();
    await expect
      .poll(notices.displayed, { timeout: 40_000 })
      .toEqual([{ title: 'wake_bob', body: 'while locked out', tag: 'dm:wake_bob' }]);
    await clearNotes();

    // The worker (or another page) holds it: the page waits before it starts its engine.
    await hold();
    await ap.goto(`${server.url}/#/`);
    await expect.poll(() => pending(ap), { timeout: 30_000 }).toBe(1);
    await release();
    // The page's engine starts with the token the worker's runs refreshed and stored — no reuse,
    // which would sign this device out — and shows what the worker fetched, each message once.
    await ap.locator('conversation-list').waitFor({ timeout: 30_000 });
    await openConversation(ap, 'dm:wake_bob');
    await bubble(ap, 'while locked out').waitFor({ timeout: 30_000 });
    expect(await bubble(ap, 'lunch at noon?').count()).toBe(1);
    expect(await bubble(ap, 'while locked out').count()).toBe(1);
    await openConversation(ap, 'dm:wake_dave');
    await bubble(ap, 'second marker').waitFor();
    expect(await bubble(ap, 'the marker from dave').count()).toBe(1);
    // Online, and still after a message the page's own engine receives.
    await write('wake_dave', 'hello open page');
    await bubble(ap, 'hello open page').waitFor({ timeout: 30_000 });
    expect(await ap.locator('conversation-list').textContent()).not.toMatch(/signed out/i);
    await expectCspClean(acsp, ap, 'after the worker’s wake-ups');
  });

  it('names only the conversation with "hide message content"', async () => {
    await go(ap, '#/settings');
    const hide = ap.locator('notification-settings input[name=hide-content]');
    await hide.check();
    // The switch is disabled until the choice is stored; then a fresh page shows it on.
    await expect.poll(() => hide.isEnabled(), { timeout: 20_000 }).toBe(true);
    await ap.reload();
    await go(ap, '#/settings');
    await expect.poll(() => hide.isChecked(), { timeout: 20_000 }).toBe(true);
    await ap.goto('about:blank');
    await write('wake_bob', 'the secret plan');
    await wakeUp();
    await expect
      .poll(notices.displayed, { timeout: 40_000 })
      .toEqual([{ title: 'wake_bob', body: 'New message', tag: 'dm:wake_bob' }]);
  });

  it('shows only the generic notice with the app lock on, and the page fetches the message after unlocking', async () => {
    await openApp();
    await go(ap, '#/settings');
    const settings = ap.locator('app-lock-settings');
    await settings.getByLabel('Passphrase', { exact: true }).fill('tide pools at noon');
    await settings.getByLabel('Confirm passphrase').fill('tide pools at noon');
    await settings.getByRole('button', { name: 'Turn on app lock' }).click();
    await settings.locator('[data-lock-push-note]').waitFor({ timeout: 30_000 });
    await ap.goto('about:blank');
    await write('wake_bob', 'behind the lock');
    await wakeUp();
    await expect
      .poll(notices.displayed, { timeout: 40_000 })
      .toEqual([{ title: 'Sotto', body: 'New message', tag: 'sotto-new-message' }]);
    await ap.goto(`${server.url}/#/`);
    const lock = ap.locator('lock-view');
    await lock.getByLabel('Passphrase').fill('tide pools at noon');
    await lock.getByRole('button', { name: 'Unlock' }).click();
    await openConversation(ap, 'dm:wake_bob');
    await bubble(ap, 'behind the lock').waitFor({ timeout: 30_000 });
  });
});
