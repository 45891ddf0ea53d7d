/**
 * Sotto's service worker (docs/WEB.md "Installable app and notifications"), hand-written rather
 * than Workbox: it does two small things and must stay auditable, since it sits between the
 * page and every script it runs.
 *
 * 1. **App shell offline.** At install it stores every file of this build (the list and the
 *    version are written in by the build, `vite.config.ts`) in a cache named after the version,
 *    and answers requests for them from there: the app starts with no network. A new build is a
 *    new worker with a new cache; it waits until no page runs the old one (the browser's default
 *    lifecycle, no `skipWaiting`: an open page keeps loading its own lazy chunks), then deletes the
 *    old caches. Nothing else is cached: not `/v1`, not `/mqtt`, not attachments.
 * 2. **Wake-up pushes.** A push (docs/PROTOCOL.md §7 "Wake-up pushes") says only that something
 *    arrived. When no window of the app is visible, the worker shows a generic "New message"
 *    notification — never a sender or text: the worker cannot read the sealed local store and
 *    does not touch the ratchet state the page owns (docs/SECURITY.md "Web Push"). A click
 *    opens the app, at the group's conversation when the push named one.
 */
/// <reference lib="webworker" />
import { decodePushMessage } from '@sotto/crypto/wire';

declare const self: ServiceWorkerGlobalScope;
/** Files of this build, written in by the build. */
declare const __SOTTO_SHELL__: string[];
/** This build's version (hash of the shell), written in by the build. */
declare const __SOTTO_VERSION__: string;

const CACHE = `sotto-shell-${__SOTTO_VERSION__}`;
const SHELL = new Set(__SOTTO_SHELL__);
/** Client-side routes all answer with the shell's page. */
const PAGE = '/';
/** Server paths a navigation may open that are not the app (Swagger UI, health, discovery). */
const SERVER_PATHS = /^\/(v1|docs|healthz|metrics|mqtt|\.well-known)(\/|$)/;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll([...SHELL])));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys())
        if (name.startsWith('sotto-shell-') && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || SERVER_PATHS.test(url.pathname)) return;
  const key = req.mode === 'navigate' ? PAGE : url.pathname;
  // Anything not of the shell (the API, the broker, attachments) goes to the network untouched.
  if (!SHELL.has(key)) return;
  event.respondWith((async () => (await (await caches.open(CACHE)).match(key)) ?? fetch(req))());
});

/** The app's windows, visible or not. */
const windows = () => self.clients.matchAll({ type: 'window', includeUncontrolled: true });

self.addEventListener('push', (event) => {
  event.waitUntil(
    (async () => {
      let conversation: string | undefined;
      try {
        conversation = event.data ? decodePushMessage(event.data.text()).conversation : undefined;
      } catch {
        // Not a push of ours: still only the generic notice, never its content.
      }
      // A visible page notifies by itself (with names, respecting mute); no second notice.
      if ((await windows()).some((w) => w.visibilityState === 'visible')) return;
      await self.registration.showNotification('Sotto', {
        body: 'New message',
        tag: conversation ?? 'sotto-new-message',
        icon: '/icons/icon-192.png',
        data: { conversation: conversation ?? null },
      });
    })(),
  );
});

/** The page to open for a notification: the conversation it names, else the list. */
function targetUrl(data: unknown): string {
  const c = (data as { conversation?: unknown } | null)?.conversation;
  return typeof c === 'string' ? `/#/c/${encodeURIComponent(c)}` : '/#/';
}

async function open(url: string): Promise<void> {
  const [win] = await windows();
  if (!win) {
    await self.clients.openWindow(url);
    return;
  }
  await win.navigate(url);
  await win.focus();
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  // Started before waitUntil, which keeps the worker alive until the window is shown.
  const done = open(targetUrl(event.notification.data));
  event.waitUntil(done);
});
