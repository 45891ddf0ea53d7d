/**
 * Browser end-to-end tests of the web client: a real embedded server (key server + broker +
 * built web client) and Debian's Chromium via playwright-core, with one fresh profile per user.
 * The scenarios run in order and build on each other (Alice and Bob sign up once).
 *
 * Set `SCREENSHOTS=1` to (re)write `docs/screenshots/*.png` from the run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import {
  bubble,
  launchChromium,
  newUser,
  openConversation,
  send,
  shot,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';
import { REPO_ROOT } from '../../scripts/web-assets.ts';

/** A 16×16 red PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR42mP4r6BAEmIY1TCqYfhqAAB2tz8QTpo+mwAAAABJRU5ErkJggg==',
  'base64',
);

let server: TestServer;
let browser: Browser;
let alice: Page;
let bob: Page;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  bob = (await newUser(browser, server.url)).page;
  for (const p of [alice, bob]) p.on('dialog', (d) => void d.accept());
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('web client in Chromium', () => {
  it('signs up Alice and Bob, and explains a taken name and a wrong password', async () => {
    await shot(alice, 'auth-desktop');
    await signUp(alice, 'alice');
    await signUp(bob, 'bob');
    const { context, page } = await newUser(browser, server.url);
    await page.locator('auth-view input[name=username]').fill('alice');
    await page.locator('auth-view input[name=password]').fill('another password');
    await page.locator('auth-view button[type=submit]').click();
    await expect
      .poll(() => page.locator('auth-view [role=alert]').textContent(), { timeout: 20_000 })
      .toMatch(/taken/);
    await page.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
    await page.locator('auth-view input[name=username]').fill('bob');
    await page.locator('auth-view input[name=password]').fill('not bobs password');
    await page.locator('auth-view button[type=submit]').click();
    await expect
      .poll(() => page.locator('auth-view [role=alert]').textContent(), { timeout: 20_000 })
      .toMatch(/Wrong username or password/);
    await context.close();
  });

  it('delivers a DM live both ways', async () => {
    await startDm(alice, 'bob');
    await send(alice, 'Hi Bob, it is Alice');
    await openConversation(bob, 'dm:alice');
    await bubble(bob, 'Hi Bob, it is Alice').waitFor({ timeout: 20_000 });
    await send(bob, 'Hello Alice!');
    await bubble(alice, 'Hello Alice!').waitFor({ timeout: 20_000 });
  });

  it('moves the ticks of a message Bob has open to read', async () => {
    await send(alice, 'Did you read this?');
    await bubble(bob, 'Did you read this?').waitFor({ timeout: 20_000 });
    await expect
      .poll(
        () =>
          bubble(alice, 'Did you read this?').locator('[data-status]').getAttribute('data-status'),
        { timeout: 20_000 },
      )
      .toBe('read');
  });

  it('shows that Alice is typing on Bob’s screen', async () => {
    const box = alice.locator('conversation-view chat-composer textarea');
    await box.pressSequentially('I am typ', { delay: 20 });
    await expect
      .poll(() => bob.locator('conversation-view [data-subtitle]').textContent(), {
        timeout: 15_000,
      })
      .toMatch(/typing/);
    await box.fill('');
  });

  it('carries a reaction and an edit to the other side', async () => {
    const mine = bubble(bob, 'Hi Bob, it is Alice');
    await mine.locator('.bubble').hover();
    await mine.locator('button[aria-label="React 👍"]').click();
    await expect
      .poll(() => bubble(alice, 'Hi Bob, it is Alice').locator('.reactions').textContent(), {
        timeout: 20_000,
      })
      .toContain('1');

    const target = bubble(alice, 'Did you read this?');
    await target.locator('.bubble').hover();
    await target.locator('button[aria-label="Edit"]').click();
    const box = alice.locator('conversation-view chat-composer textarea');
    // Edit mode shows the message's text in the composer (the view applies it on its next
    // frame); typing before that, as a slow frame under load allowed, had the prefill overwrite
    // the new text, and the edit went out with the old one.
    await expect.poll(() => box.inputValue(), { timeout: 10_000 }).toBe('Did you read this?');
    await box.fill('Did you read this edited message?');
    await box.press('Enter');
    const edited = bubble(bob, 'Did you read this edited message?');
    await edited.waitFor({ timeout: 20_000 });
    expect(await edited.locator('.meta').textContent()).toContain('edited');
  });

  it('sends an image whose thumbnail shows at once, then the decrypted full image', async () => {
    // Hold Bob's blob downloads so the thumbnail phase can be seen whatever the timing.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = async (route: Route): Promise<void> => {
      await gate;
      await route.continue();
    };
    await bob.route('**/v1/blobs/**', held);
    try {
      await alice
        .locator('conversation-view chat-composer input[type=file]')
        .setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: PNG });
      const preview = bob.locator('conversation-view message-bubble img.image[data-full="no"]');
      await preview.waitFor({ timeout: 30_000 });
      expect(await preview.getAttribute('src')).toMatch(/^data:image\/(webp|jpeg);base64,/);
      // The sender shows its own copy without downloading it back.
      await alice
        .locator('conversation-view message-bubble img.image[data-full="yes"]')
        .waitFor({ timeout: 10_000 });
    } finally {
      release();
    }
    const img = bob.locator('conversation-view message-bubble img.image[data-full="yes"]');
    await img.waitFor({ timeout: 30_000 });
    await bob.unroute('**/v1/blobs/**', held);
    const natural = await img.evaluate(
      (el) => (el as unknown as { naturalWidth: number }).naturalWidth,
    );
    expect(natural).toBe(16);
    await shot(alice, 'conversation-desktop');
    await shot(bob, 'conversation-desktop-bob');
  });

  it('shows equal safety numbers on both sides and marks Bob verified', async () => {
    await alice.goto(`${server.url}/#/c/${encodeURIComponent('dm:bob')}/info`);
    await bob.goto(`${server.url}/#/c/${encodeURIComponent('dm:alice')}/info`);
    const a = alice.locator('contact-info [data-safety]');
    const b = bob.locator('contact-info [data-safety]');
    await a.waitFor({ timeout: 20_000 });
    await b.waitFor({ timeout: 20_000 });
    const digits = await a.getAttribute('data-safety');
    expect(digits).toMatch(/^\d{60}$/);
    expect(await b.getAttribute('data-safety')).toBe(digits);
    expect(await a.locator('span').count()).toBe(12);
    // Scan (here: paste) Bob's code on Alice's side: it must match and mark Bob verified.
    const bobsCode = await bob.locator('contact-info [data-qr-payload]').textContent();
    await alice.locator('contact-info button', { hasText: 'Paste their code' }).click();
    await alice.locator('contact-info textarea[name=code]').fill(bobsCode ?? '');
    await alice.locator('contact-info button', { hasText: 'Compare' }).click();
    await alice.locator('contact-info [data-verified]').waitFor({ timeout: 10_000 });
    await shot(alice, 'safety-number-desktop');
    await bob.locator('contact-info button', { hasText: 'Mark as verified' }).click();
    await bob.locator('contact-info [data-verified]').waitFor({ timeout: 10_000 });
  });

  it('keeps the history across a reload', async () => {
    await bob.goto(server.url);
    await bob.reload();
    await openConversation(bob, 'dm:alice');
    await bubble(bob, 'Hello Alice!').waitFor({ timeout: 20_000 });
    await bubble(bob, 'Did you read this edited message?').waitFor();
    await alice.goto(`${server.url}/#/c/${encodeURIComponent('dm:bob')}`);
    await bubble(alice, 'Hello Alice!').waitFor({ timeout: 20_000 });
  });

  it('runs a three-person group, and a removed member stops receiving', async () => {
    const { page: carol } = await newUser(browser, server.url);
    await signUp(carol, 'carol');
    await alice.locator('conversation-list button', { hasText: 'New group' }).click();
    await alice.locator('conversation-list input[name=name]').fill('Weekend trip');
    await alice.locator('conversation-list input[name=members]').fill('bob, carol');
    await alice.locator('conversation-list form button[type=submit]').click();
    // The DM with Bob was open before: wait for the group's own view, or the text goes to Bob's DM.
    await alice
      .locator('conversation-view h2', { hasText: 'Weekend trip' })
      .waitFor({ timeout: 20_000 });
    await send(alice, 'Welcome to the group');
    for (const p of [bob, carol]) {
      await p.goto(server.url);
      await p
        .locator('conversation-list a', { hasText: 'Weekend trip' })
        .click({ timeout: 30_000 });
      await bubble(p, 'Welcome to the group').waitFor({ timeout: 30_000 });
    }
    await send(carol, 'Carol here');
    await bubble(alice, 'Carol here').waitFor({ timeout: 30_000 });
    await bubble(bob, 'Carol here').waitFor({ timeout: 30_000 });
    await shot(bob, 'group-desktop');

    // Alice (admin) removes Carol in the group settings.
    await alice.locator('conversation-view a[aria-label="Group settings"]').click();
    await alice.locator('group-settings [data-member="carol"]').waitFor({ timeout: 20_000 });
    await shot(alice, 'group-settings-desktop');
    await alice.locator('group-settings button[aria-label="Remove carol"]').click();
    await alice
      .getByRole('dialog', { name: 'Remove carol from “Weekend trip”?' })
      .getByRole('button', { name: 'Remove carol' })
      .click();
    await expect
      .poll(() => alice.locator('group-settings [data-member="carol"]').count(), {
        timeout: 20_000,
      })
      .toBe(0);
    await alice.locator('group-settings a[aria-label="Back to the conversation"]').click();
    await send(alice, 'Only Bob should read this');
    await bubble(bob, 'Only Bob should read this').waitFor({ timeout: 30_000 });
    // The marker: a DM Alice sends Carol after the group message. Once it is in Carol's list,
    // the group message (published before it by the same engine) would have reached her too.
    await startDm(alice, 'carol');
    // The group was open before: wait for the DM's own view, or the text goes to the group.
    await expect
      .poll(() => alice.evaluate(() => decodeURIComponent(location.hash)), { timeout: 20_000 })
      .toBe('#/c/dm:carol');
    await send(alice, 'Carol, you were removed from the group');
    await carol
      .locator('conversation-list a[data-conversation="dm:alice"]', {
        hasText: 'Carol, you were removed from the group',
      })
      .waitFor({ timeout: 30_000 });
    expect(await bubble(carol, 'Only Bob should read this').count()).toBe(0);
  });

  it('finds messages with local search and jumps to them', async () => {
    await alice.goto(`${server.url}/#/search`);
    await alice.locator('search-view input[type=search]').fill('welcome');
    const hit = alice.locator('search-view a[data-result]');
    await hit.first().waitFor({ timeout: 10_000 });
    await shot(alice, 'search-desktop');
    await hit.first().click();
    await bubble(alice, 'Welcome to the group').waitFor({ timeout: 10_000 });
  });

  it('talks with a bot run from the sotto CLI', async () => {
    const state = mkdtempSync(join(tmpdir(), 'sotto-cli-'));
    const base = [
      join(REPO_ROOT, 'client', 'bin', 'sotto.js'),
      '--state',
      state,
      '--server',
      server.url,
      '--mqtt',
      `${server.url.replace('http', 'ws')}/mqtt`,
    ];
    // Asynchronous on purpose: the server runs in this process, so a blocking spawn would
    // stop it from answering the CLI.
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn('node', [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stderr });
        });
      });
    try {
      const reg = await cli('register', 'robo', '--password', 'bot password 123', '--kind', 'bot');
      expect(reg.status, reg.stderr).toBe(0);
      const sent = await cli('send', 'alice', 'Beep from the bot', '--wait', '15');
      expect(sent.status, sent.stderr).toBe(0);
      await alice.goto(server.url);
      await openConversation(alice, 'dm:robo');
      await bubble(alice, 'Beep from the bot').waitFor({ timeout: 30_000 });
      // Bots are first-class encrypted members with a visible badge.
      expect(await alice.locator('conversation-view [data-badge]').textContent()).toBe('bot');

      const listener = spawn('node', [...base, 'listen'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let status = '';
      listener.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // `listen` reports its connection on stderr: send once it is subscribed.
      listener.stderr.on('data', (d: Buffer) => (status += d.toString()));
      try {
        await expect.poll(() => status, { timeout: 30_000 }).toContain('connection: online');
        await send(alice, 'Hello bot, this is Alice');
        await expect.poll(() => out, { timeout: 30_000 }).toContain('Hello bot, this is Alice');
      } finally {
        listener.kill('SIGTERM');
      }
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('renders the main screens at 360 px width', async () => {
    await alice.setViewportSize({ width: 360, height: 740 });
    await alice.goto(`${server.url}/#/`);
    await alice.locator('conversation-list a[data-conversation]').first().waitFor();
    // One pane on a phone: the list fills the screen and the conversation is hidden.
    const listWidth = await alice.locator('conversation-list').evaluate((el) => el.clientWidth);
    expect(listWidth).toBeGreaterThan(340);
    await shot(alice, 'list-phone');
    await alice.goto(`${server.url}/#/c/${encodeURIComponent('dm:bob')}`);
    await bubble(alice, 'Hello Alice!').waitFor({ timeout: 20_000 });
    expect(await alice.locator('conversation-list').isVisible()).toBe(false);
    await shot(alice, 'conversation-phone');
    await alice.goto(`${server.url}/#/settings`);
    await alice.locator('settings-view h2').waitFor();
    await shot(alice, 'settings-phone');
    await alice.goto(`${server.url}/#/c/${encodeURIComponent('dm:bob')}/info`);
    await alice.locator('contact-info [data-safety]').waitFor({ timeout: 20_000 });
    await shot(alice, 'safety-number-phone');
    await alice.setViewportSize({ width: 1280, height: 800 });
    await alice.goto(`${server.url}/#/settings`);
    await alice.locator('settings-view h2').waitFor();
    await shot(alice, 'settings-desktop');
    // Dark mode follows prefers-color-scheme through CSS custom properties.
    await alice.emulateMedia({ colorScheme: 'dark' });
    await alice.goto(`${server.url}/#/c/${encodeURIComponent('dm:bob')}`);
    await bubble(alice, 'Hello Alice!').waitFor({ timeout: 20_000 });
    const bg = await alice.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(21, 23, 27)');
    await shot(alice, 'conversation-dark-desktop');
    await alice.emulateMedia({ colorScheme: 'light' });
  });
});
