/**
 * The installable app in Chromium (docs/WEB.md "Installable app and notifications"): the
 * manifest and its icons, the service worker under the strict CSP, an offline start from the
 * worker's cache, and the worker's handling of a wake-up push — a generic notification only
 * while no window of the app is visible, and a click that opens the conversation it names.
 *
 * The push is handed to the worker with CDP `ServiceWorker.deliverPushMessage`: Chromium's
 * PushManager subscribes through FCM, which cannot be reached from the test machines, so the
 * path browser ← push service is not exercised here (keyserver/test/push.test.ts checks what the
 * key server sends, against a local receiver).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, CDPSession, Page, Worker } from 'playwright-core';
import { expectCspClean, newWatchedUser, type CspWatch } from './csp-watch.ts';
import { launchChromium, startServer, type TestServer } from './harness.ts';

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
  server = await startServer();
  browser = await launchChromium();
  ({ context, page, csp } = await newWatchedUser(browser, server.url));
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

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

  const deliver = (data: string) =>
    cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId,
      data,
    });
  const notifications = () =>
    worker.evaluate(async () =>
      (await (self as unknown as WorkerScope).registration.getNotifications()).map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        data: n.data,
      })),
    );

  beforeAll(async () => {
    await context.grantPermissions(['notifications'], { origin: server.url });
    cdp = await context.newCDPSession(page);
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
    registrationId = await found;
    worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  });

  it('shows only "New message" while no window is visible, and nothing while one is', async () => {
    const group = (n: number) => `group:g${n}${'x'.repeat(20)}`;
    // Visible page: the page notifies by itself, the worker stays silent.
    await page.goto(`${server.url}/#/`);
    await expect.poll(() => activeWorker(page)).toBe(`${server.url}/sw.js`);
    await deliver(JSON.stringify({ v: 1, type: 'wake', conversation: group(1) }));
    // No window of the app any more: the worker notifies. Its notice is the marker that the
    // first push was handled before it (pushes reach one worker in order).
    await page.goto('about:blank');
    await deliver(JSON.stringify({ v: 1, type: 'wake', conversation: group(2) }));
    await expect.poll(notifications, { timeout: 20_000 }).toHaveLength(1);
    expect(await notifications()).toEqual([
      { title: 'Sotto', body: 'New message', tag: group(2), data: { conversation: group(2) } },
    ]);
    // A DM wake-up (no conversation) and a push that is not ours: the same generic notice.
    await deliver(JSON.stringify({ v: 1, type: 'wake' }));
    await deliver('{"from":"mallory","text":"pay me"}');
    await expect.poll(async () => (await notifications()).length, { timeout: 20_000 }).toBe(2);
    const generic = (await notifications()).find((n) => n.tag === 'sotto-new-message');
    expect(generic).toEqual({
      title: 'Sotto',
      body: 'New message',
      tag: 'sotto-new-message',
      data: { conversation: null },
    });
  });

  it('opens the conversation a notification names when it is clicked', async () => {
    await page.goto(`${server.url}/#/`);
    await page.locator('sotto-app').waitFor();
    await expect.poll(() => activeWorker(page)).toBe(`${server.url}/sw.js`);
    // Chromium has no CDP call to click a notification: the worker gets the click event its
    // notification would fire, for the notification it showed.
    await worker.evaluate(
      async (tag) => {
        const sw = self as unknown as WorkerScope;
        const [n] = await sw.registration.getNotifications({ tag });
        if (!n) throw new Error('no notification');
        sw.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
      },
      `group:g2${'x'.repeat(20)}`,
    );
    await expect
      .poll(() => page.evaluate(() => decodeURIComponent(location.hash)), { timeout: 20_000 })
      .toBe(`#/c/group:g2${'x'.repeat(20)}`);
    // The clicked notification is closed.
    await expect
      .poll(async () => (await notifications()).map((n) => n.tag))
      .toEqual(['sotto-new-message']);
  });
});
