/**
 * Browser test harness: a real embedded Sotto server (key server with SQLite, broker on
 * `/mqtt`, the built web client) on a random port, and Debian's Chromium driven by
 * playwright-core with fresh profiles. Shared by the web end-to-end tests and the web benchmark.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadEmbeddedConfig } from '../../scripts/start-config.ts';
import { startEmbedded, type EmbeddedServer } from '../../scripts/embedded.ts';
import { REPO_ROOT, staleReason } from '../../scripts/web-assets.ts';
import { freePort, retryOnPortClash, waitFor } from '../support/ports.ts';
import { createSqliteStore } from '@sotto/server-core/store';
import mqtt from 'mqtt';
import { createClient, createMemoryStore, type SottoClient } from '@sotto/client';

/** Chromium flags for headless runs in CI (no sandbox in containers, no background traffic). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
];

/** Build `web-client/dist` when it is missing or older than its sources. */
export function ensureWebBuild(): void {
  if (staleReason() === null) return;
  const r = spawnSync('npm', ['run', 'build', '-w', 'web-client'], {
    cwd: REPO_ROOT,
    stdio: 'pipe',
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`web-client build failed:\n${r.stdout}\n${r.stderr}`);
}

/** A running server with its data directory. */
export interface TestServer {
  url: string;
  server: EmbeddedServer;
  /** The server's data directory (its SQLite store is `keyserver.db` there). */
  dataDir: string;
  /** `mqtt://…` for Node-side engines, when started with `{ mqtt: true }`. */
  mqttUrl?: string;
  close(): Promise<void>;
}

/**
 * Start the embedded server on a random port with a temporary data directory. With `mqtt`, MQTT
 * over TCP is on too (another random port), for engines the test runs in Node beside the pages.
 * With `localhost`, the public URL and the pages' address are `http://localhost:PORT` instead of
 * `http://127.0.0.1:PORT`: WebAuthn refuses an IP address as relying-party id, so passkey tests
 * need a host name.
 */
export async function startServer(
  options: { mqtt?: boolean; localhost?: boolean } = {},
): Promise<TestServer> {
  ensureWebBuild();
  const dataDir = mkdtempSync(join(tmpdir(), 'sotto-web-e2e-'));
  const { port, mqttPort, server } = await retryOnPortClash(async () => {
    const port = await freePort();
    const mqttPort = options.mqtt === true ? await freePort() : 0;
    const config = loadEmbeddedConfig(
      [
        '--port',
        String(port),
        '--mqtt-port',
        String(mqttPort),
        '--data-dir',
        dataDir,
        '--web',
        'prebuilt',
        ...(options.localhost === true ? ['--public-url', `http://localhost:${port}`] : []),
      ],
      { LOG_LEVEL: 'error', RATE_LIMIT: 'false' },
    );
    return { port, mqttPort, server: await startEmbedded(config, () => undefined) };
  });
  return {
    url: `http://${options.localhost === true ? 'localhost' : '127.0.0.1'}:${port}`,
    server,
    dataDir,
    ...(mqttPort !== 0 ? { mqttUrl: `mqtt://127.0.0.1:${server.mqttPort}` } : {}),
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Chromium flags for fake media devices: a synthetic microphone (a beep) and camera, and
 * permission prompts answered "allow", for recording and calls without hardware.
 */
export const FAKE_MEDIA_ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Launch headless Chromium (with `extraArgs`, e.g. {@link FAKE_MEDIA_ARGS}). */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/**
 * An engine in Node beside the pages (memory store unless one is given), over MQTT on TCP: the
 * server must be started with `{ mqtt: true }`. The caller closes it.
 */
export function nodeEngine(
  server: Pick<TestServer, 'url' | 'mqttUrl'>,
  store = createMemoryStore(),
): SottoClient {
  const mqttUrl = server.mqttUrl;
  if (mqttUrl === undefined)
    throw new TypeError('nodeEngine: start the server with { mqtt: true }');
  return createClient({
    store,
    http: { baseUrl: server.url },
    mqttConnect: (o) => mqtt.connect(mqttUrl, { ...o, reconnectPeriod: 200 }),
  });
}

/** A fresh browser profile (context) and one page in it. */
export async function newUser(
  browser: Browser,
  url: string,
  viewport = { width: 1280, height: 800 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, baseURL: url });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  // DEBUG_WEB=1 echoes the page's console (engine errors, warnings) into the test output.
  if (process.env.DEBUG_WEB)
    page.on('console', (m) => console.log(`[console ${m.type()}] ${page.url()} ${m.text()}`));
  await page.goto(url);
  return { context, page };
}

/** Sign up through the UI and wait for the chat list. */
export async function signUp(
  page: Page,
  username: string,
  password = 'correct horse battery',
): Promise<void> {
  await page.locator('auth-view').waitFor();
  await page.locator('auth-view input[name=username]').fill(username);
  await page.locator('auth-view input[name=password]').fill(password);
  await page.locator('auth-view button[type=submit]').click();
  await page.locator('conversation-list').waitFor({ timeout: 30_000 });
}

/** Open (or start) a DM from the conversation list. */
export async function startDm(page: Page, username: string): Promise<void> {
  await page.locator('conversation-list button', { hasText: 'New chat' }).click();
  await page.locator('conversation-list input[name=username]').fill(username);
  await page.locator('conversation-list form button[type=submit]').click();
  await page.locator('conversation-view').waitFor();
}

/** Type and send a message in the open conversation. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.locator('conversation-view chat-composer textarea');
  await box.fill(text);
  await box.press('Enter');
}

/** Bubble locator for a message text in the open conversation. */
export function bubble(page: Page, text: string) {
  return page.locator('conversation-view message-bubble', { hasText: text });
}

/** `SCREENSHOTS=1` (re)writes `docs/screenshots/{name}.png` from the run; otherwise nothing. */
export async function shot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return;
  const dir = join(REPO_ROOT, 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  // Settled: web fonts loaded and two frames drawn; finite animations are run to their end.
  await page.evaluate(() =>
    document.fonts.ready.then(
      () =>
        new Promise<void>((resolve) =>
          requestAnimationFrame(() => requestAnimationFrame(() => resolve())),
        ),
    ),
  );
  await page.screenshot({ path: join(dir, `${name}.png`), animations: 'disabled' });
}

/**
 * Wait until the own-key monitor of `username`'s engine in `page` has judged every entry the
 * key server's log holds now: the positive marker before checking that no own-key alert came.
 * It reads Settings → Devices' key-log line (`<own-key-log-status>`), which shows the progress
 * the engine stored after a run (`trust.ownKeyLog()`); the web client tells a run's alerts
 * before its progress, so by then any alert is on screen. The page goes back to where it was.
 * Runs start on every connect, on device-removed notices and hourly: call this after the
 * entries to judge were logged with one of those to come (a reset, a removal, a reconnect).
 */
export async function ownKeyMonitorCaughtUp(
  page: Page,
  server: TestServer,
  username: string,
): Promise<void> {
  const store = createSqliteStore({ filename: join(server.dataDir, 'keyserver.db') });
  let size: number;
  try {
    size = await store.logSize();
  } finally {
    await store.close();
  }
  const back = await page.evaluate(() => location.hash);
  await go(page, '#/settings');
  const line = page.locator('settings-view own-key-log-status [role=status]');
  await line.waitFor({ timeout: 20_000 });
  await waitFor(async () => Number(await line.getAttribute('data-checked-entries')) >= size, {
    timeoutMs: 30_000,
    what: `${username}'s own-key monitor to judge the ${size} entries of the key log`,
  });
  await go(page, back === '' ? '#/' : back);
}

/** Navigate the single-page app to `hash` (e.g. `#/settings`). */
export async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
}

/** Open a conversation from the conversation list. */
export async function openConversation(page: Page, id: string): Promise<void> {
  const link = page.locator(`conversation-list a[data-conversation="${id}"]`);
  // A message that arrives as the row is clicked reorders the list, and the row under the
  // pointer can be another conversation by the time the click lands: check which one opened
  // and click again (a few times at most) rather than go on in the wrong one.
  for (let attempt = 1; attempt <= 3; attempt++) {
    await link.click({ timeout: 20_000 });
    const opened = await page
      .waitForFunction((want) => decodeURIComponent(location.hash) === want, `#/c/${id}`, {
        timeout: 5_000,
      })
      .then(
        () => true,
        () => false,
      );
    if (opened) break;
  }
  await page.locator('conversation-view').waitFor();
}

/**
 * Make `page` a tab that may notify and whose visibility the test controls: notifications
 * allowed, each Notification the page makes recorded as `{title}: {body}` (the real one is still
 * made; read them with {@link notifications}), and the tab hidden and unfocused while
 * {@link setHidden} says so. Takes effect from the next load (the caller reloads).
 */
export async function recordNotifications(page: Page): Promise<void> {
  await page.context().grantPermissions(['notifications']);
  await page.addInitScript(() => {
    const w = window as unknown as { __notes: string[]; __hidden: boolean };
    w.__notes = [];
    w.__hidden = false;
    window.Notification = new Proxy(window.Notification, {
      construct(target, args: [string, NotificationOptions?]) {
        w.__notes.push(`${args[0]}: ${args[1]?.body ?? ''}`);
        return Reflect.construct(target, args);
      },
    });
    Object.defineProperty(document, 'visibilityState', {
      get: () => (w.__hidden ? 'hidden' : 'visible'),
    });
    document.hasFocus = () => !w.__hidden;
  });
}

/** The notifications a page set up with {@link recordNotifications} made so far. */
export function notifications(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __notes: string[] }).__notes);
}

/** Hide (and unfocus) or show a page set up with {@link recordNotifications}. */
export async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => ((window as unknown as { __hidden: boolean }).__hidden = h), hidden);
}

/**
 * Make `second` (a fresh profile) a linked device of `username`, whose keys are in `first`: the
 * password login is told the keys live on another device, shows a link code, and `first`
 * approves it in Settings → Link a device. Leaves `second` in the app (history step passed).
 */
export async function linkBrowser(
  first: Page,
  second: Page,
  username: string,
  password = 'correct horse battery',
): Promise<void> {
  await second.locator('auth-view').waitFor();
  await second.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
  await second.locator('auth-view input[name=username]').fill(username);
  await second.locator('auth-view input[name=password]').fill(password);
  await second.locator('auth-view button[type=submit]').click();
  await second.locator('auth-view button[data-link]').click({ timeout: 20_000 });
  const code = (await second
    .locator('link-offer [data-link-code]')
    .textContent({ timeout: 20_000 }))!.trim();
  await go(first, '#/settings');
  await first.locator('settings-view a[href="#/link"]').click();
  await first.locator('link-device textarea').fill(code);
  await first.locator('link-device button[type=submit]').click();
  await first.locator('link-device [data-linked]').waitFor({ timeout: 30_000 });
  const next = second.locator('auth-view button[data-link-continue]');
  const list = second.locator('conversation-list');
  await next.or(list).first().waitFor({ timeout: 30_000 });
  if (await next.isVisible()) await next.click();
  await list.waitFor({ timeout: 30_000 });
}

/**
 * An engine in Node (memory store) that signs up as `username` on `server` and connects: a
 * quick party for a browser test, free to send what a page would not.
 */
export async function nodeUser(
  server: Pick<TestServer, 'url' | 'mqttUrl'>,
  username: string,
  password = 'correct horse battery',
): Promise<SottoClient> {
  const c = nodeEngine(server);
  await c.register(username, password);
  await c.start();
  return c;
}
