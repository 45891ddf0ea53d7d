/**
 * Language and contrast. A German browser (playwright `locale: 'de-DE'`) reading a
 * conversation: day separators and times are written the German way by `Intl` ("Gestern",
 * "Heute", "Mo., 30. November 2026", "21:30"), while every word of the app stays English — only
 * an English catalogue exists (docs/WEB.md "Strings and locales"). Dave is an engine in Node
 * whose clock the test sets back, so his messages are dated yesterday and days ago. Then axe-core
 * checks, in the light and the dark theme, the views `conversation-ux.test.ts` does not: the
 * sign-up page, the chat list, an own message with a link, a group and device linking.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createClient, createMemoryStore, type SottoClient } from '@sotto/client';
import {
  bubble,
  go,
  launchChromium,
  openConversation,
  send,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';
import { seriousViolations } from './axe.ts';
import { waitFor } from '../support/ports.ts';

const PW = 'correct horse battery';
const ZONE = 'Europe/Berlin';
const DAY = 86_400_000;

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let alice: Page;
let dave: SottoClient;
/** Dave's clock offset (ms), to date his messages in the past. */
let daveSkew = 0;

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    baseURL: server.url,
    locale: 'de-DE',
    timezoneId: ZONE,
  });
  alice = await context.newPage();
  await alice.goto(server.url);
  dave = createClient({
    store: createMemoryStore(),
    http: { baseUrl: server.url },
    now: () => Date.now() + daveSkew,
    mqttConnect: (o) => mqtt.connect(server.mqttUrl!, { ...o, reconnectPeriod: 200 }),
  });
});

afterAll(async () => {
  await dave?.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

/** `at` as the German browser writes a day separator for a day before yesterday. */
const germanDay = (at: number): string =>
  new Intl.DateTimeFormat('de-DE', {
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: ZONE,
  }).format(at);

const SCHEMES = ['light', 'dark'] as const;

/** Serious axe findings of the view `open` shows, in each theme: `view, theme: finding`. */
async function inBothThemes(view: string, open: () => Promise<void>): Promise<string[]> {
  const found: string[] = [];
  for (const scheme of SCHEMES) {
    await alice.emulateMedia({ colorScheme: scheme });
    await open();
    for (const v of await seriousViolations(alice)) found.push(`${view}, ${scheme}: ${v}`);
  }
  await alice.emulateMedia({ colorScheme: 'light' });
  return found;
}

describe('a German browser', () => {
  it('shows the sign-up page with enough contrast, light and dark', async () => {
    const found = await inBothThemes('sign-up', () =>
      alice.locator('auth-view input[name=username]').waitFor({ timeout: 30_000 }),
    );
    expect(found).toEqual([]);
  });

  it('writes days and times in German while the words stay English', async () => {
    expect(await alice.evaluate(() => navigator.language)).toBe('de-DE');
    await signUp(alice, 'alice', PW);
    await dave.register('dave', PW);
    await dave.start();
    const threeDaysAgo = Date.now() - 3 * DAY;
    daveSkew = -3 * DAY;
    await dave.sendText('dm:alice', 'Three days ago');
    daveSkew = -DAY;
    await dave.sendText('dm:alice', 'Yesterday');
    daveSkew = 0;
    await dave.sendText('dm:alice', 'Now');
    await openConversation(alice, 'dm:dave');
    await bubble(alice, 'Now').waitFor({ timeout: 30_000 });
    await bubble(alice, 'Three days ago').waitFor({ timeout: 10_000 });

    const days = await alice
      .locator('conversation-view message-list [role=separator].day')
      .allTextContents();
    expect(days.map((d) => d.trim())).toEqual([germanDay(threeDaysAgo), 'Gestern', 'Heute']);
    // 24-hour German time in the bubble, not "02:02 PM".
    const time = await bubble(alice, 'Now').locator('time').textContent();
    expect(time?.trim()).toMatch(/^\d{2}:\d{2}$/);

    // Only English words exist: the app's own text is not translated.
    await expect
      .poll(() =>
        alice.locator('conversation-view chat-composer textarea').getAttribute('placeholder'),
      )
      .toBe('Message');
    expect(await alice.locator('sotto-app nav').getAttribute('aria-label')).toBe('Conversations');
  });

  it('has no serious axe-core violation on the list, an own link, a group and linking, light and dark', async () => {
    await send(alice, 'See https://example.com/plan before the call');
    await bubble(alice, 'See https://example.com/plan').locator('a').waitFor({ timeout: 20_000 });
    await alice.locator('conversation-list button', { hasText: 'New group' }).click();
    await alice.locator('conversation-list input[name=name]').fill('Leseclub');
    await alice.locator('conversation-list input[name=members]').fill('dave');
    await alice.locator('conversation-list form button[type=submit]').click();
    await alice
      .locator('conversation-view h2', { hasText: 'Leseclub' })
      .waitFor({ timeout: 20_000 });
    const group = decodeURIComponent(await alice.evaluate(() => location.hash)).replace('#/c/', '');
    // Dave's post puts his name, in his colour, on a bubble (AA in both themes).
    await waitFor(async () => !!(await dave.store.getGroup(group.slice('group:'.length))), {
      what: 'dave learns the group',
    });
    await dave.sendText(group, 'Dave was here');
    const found = [
      ...(await inBothThemes('chat list', async () => {
        await go(alice, '#/');
        await alice.locator('conversation-list a[data-conversation="dm:dave"]').waitFor();
      })),
      ...(await inBothThemes('conversation', async () => {
        await go(alice, `#/c/${encodeURIComponent('dm:dave')}`);
        await bubble(alice, 'See https://example.com/plan').waitFor({ timeout: 10_000 });
      })),
      ...(await inBothThemes('group', async () => {
        await go(alice, `#/c/${encodeURIComponent(group)}`);
        await alice.locator('conversation-view h2', { hasText: 'Leseclub' }).waitFor();
        await bubble(alice, 'Dave was here').locator('.sender').waitFor({ timeout: 20_000 });
      })),
      ...(await inBothThemes('link a device', async () => {
        await go(alice, '#/link');
        await alice.locator('link-device h2').waitFor();
      })),
    ];
    expect(found).toEqual([]);
  });

  it('lets the theme chosen in Settings win over the system setting, both ways', async () => {
    const background = () => alice.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const LIGHT_BG = 'rgb(255, 255, 255)';
    const DARK_BG = 'rgb(21, 23, 27)';
    const theme = (name: string) =>
      alice.locator('settings-view').getByRole('radio', { name, exact: true });
    await go(alice, '#/settings');
    try {
      await alice.emulateMedia({ colorScheme: 'light' });
      await theme('Dark').check();
      await expect.poll(background).toBe(DARK_BG);
      await alice.emulateMedia({ colorScheme: 'dark' });
      await theme('Light').check();
      await expect.poll(background).toBe(LIGHT_BG);
      await theme('System').check();
      await expect.poll(background).toBe(DARK_BG);
      await alice.emulateMedia({ colorScheme: 'light' });
      await expect.poll(background).toBe(LIGHT_BG);
      // The choice outlives a reload (theme.js applies it before the first paint).
      await theme('Dark').check();
      await alice.reload();
      await expect.poll(background).toBe(DARK_BG);
    } finally {
      await go(alice, '#/settings');
      await theme('System').check();
      await alice.emulateMedia({ colorScheme: 'light' });
    }
  });
});
