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
 *    arrived. When no window of the app is visible, the worker fetches and decrypts it with the
 *    engine (`wake.ts`, under the engine lock, without the app lock only) and shows one
 *    notification per conversation — its name and the text, or "New message" under "hide
 *    message content", none for a muted one. When it cannot open the store (app lock) or reach
 *    the server, it shows the generic "Sotto — New message". Nothing shown ever comes from the
 *    push body (docs/SECURITY.md "Web Push"). A click opens the app at the conversation.
 */
/// <reference lib="webworker" />
import { decodePushMessage } from '@sotto/crypto/wire';
import { coalesced } from './coalesce.ts';
import { wake, type WakeOutcome } from './wake.ts';

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

/** Whether a window of the app is visible (its page notifies by itself). */
const visibleWindow = async () => (await windows()).some((w) => w.visibilityState === 'visible');

const ICON = '/icons/icon-192.png';

/** The generic notice: all that can be said without reading the store. */
function genericNotice(conversation: string | undefined): Promise<void> {
  return self.registration.showNotification('Sotto', {
    body: 'New message',
    tag: conversation ?? 'sotto-new-message',
    icon: ICON,
    data: { conversation: conversation ?? null },
  });
}

/**
 * Show what a wake-up came to. `conversations` are what its pushes named (undefined: none),
 * used only as the tags of the generic notice.
 */
async function show(outcome: WakeOutcome, conversations: (string | undefined)[]): Promise<void> {
  switch (outcome.kind) {
    case 'page':
      return;
    case 'generic':
      for (const c of new Set(conversations)) await genericNotice(c);
      return;
    case 'fetched':
      // A page opened meanwhile (it waited for the lock): it shows what was fetched.
      if (outcome.notices.length > 0 && (await visibleWindow())) {
        console.info('wake-up: a window became visible; it shows what was fetched');
        return;
      }
      // [PUSH-1] Only what the engine decrypted in this run; nothing new, nothing shown.
      for (const n of outcome.notices)
        await self.registration.showNotification(n.title, {
          body: n.body,
          tag: n.conversation,
          icon: ICON,
          data: { conversation: n.conversation },
        });
      if (outcome.notices.length > 0)
        console.info(`wake-up: showed ${outcome.notices.length} notification(s)`);
  }
}

/**
 * One wake-up for the pushes that requested it (`coalesce.ts`: a burst of pushes during a run
 * shares the next run, which starts after all of them).
 */
const wakeUp = coalesced(async (conversations: (string | undefined)[]) => {
  // A visible page notifies by itself (with names, respecting mute); no second notice.
  if (await visibleWindow()) {
    console.info(`wake-up for ${conversations.length} push(es): a window is visible`);
    return;
  }
  let outcome: WakeOutcome;
  try {
    outcome = await wake(self.location.origin);
  } catch (err) {
    console.warn('wake-up failed', err);
    outcome = { kind: 'generic', reason: 'failed' };
  }
  // What it came to, never what it fetched (DevTools → Application → Service workers).
  console.info(
    `wake-up for ${conversations.length} push(es): ${outcome.kind}`,
    outcome.kind === 'generic' ? outcome.reason : '',
    outcome.kind === 'fetched' ? `${outcome.notices.length} notification(s)` : '',
  );
  await show(outcome, conversations);
});

self.addEventListener('push', (event) => {
  let conversation: string | undefined;
  try {
    conversation = event.data ? decodePushMessage(event.data.text()).conversation : undefined;
  } catch {
    // Not a push of ours: a wake-up like any other; its content is never shown.
  }
  event.waitUntil(wakeUp(conversation));
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
