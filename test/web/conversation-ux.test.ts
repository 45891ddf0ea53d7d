/**
 * The conversation as people who use Signal Desktop or WhatsApp Web expect it (issue 22, "Found
 * on the way"): each scenario is a bug a black-box run found, checked in Chromium against a real
 * embedded server. Alice, Bob and Carol are browser profiles; Dave is an engine in Node whose
 * clock the test moves, to deliver a "typing" that was sent before his message after it. Every
 * page's failed HTTP responses are collected (a 404 favicon, a removed member's group fetch)
 * and must be none; axe-core checks the main views in the light and the dark theme.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { createClient, createMemoryStore, type SottoClient } from '@sotto/client';
import {
  bubble,
  go,
  launchChromium,
  newUser,
  openConversation,
  send,
  shot,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';
import { seriousViolations } from './axe.ts';

const PW = 'correct horse battery';

let server: TestServer;
let browser: Browser;
let alice: Page;
let bob: Page;
let carol: Page;
let dave: SottoClient;
/** Dave's clock offset (ms): negative to date a payload before one he already sent. */
let daveSkew = 0;
let groupId = '';
/** Every HTTP response with status ≥ 400 any page got: `{user} {status} {url}`. */
const failed: string[] = [];

async function page(user: string): Promise<Page> {
  const p = (await newUser(browser, server.url)).page;
  p.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${user} ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  p.on('dialog', (d) => void d.accept());
  return p;
}

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  alice = await page('alice');
  bob = await page('bob');
  carol = await page('carol');
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

describe('the conversation, as a new user expects it', () => {
  it('puts the empty chat list hint at the top of the column', async () => {
    await signUp(alice, 'alice', PW);
    const hint = alice.locator('conversation-list [data-empty-hint]');
    await hint.waitFor({ timeout: 20_000 });
    const box = (await hint.boundingBox())!;
    const column = (await alice.locator('conversation-list').boundingBox())!;
    const tools = (await alice.locator('conversation-list .tools').boundingBox())!;
    // Right under the tools, not at the bottom of the column.
    expect(box.y - (tools.y + tools.height)).toBeLessThan(24);
    expect(box.y + box.height).toBeLessThan(column.y + column.height / 2);
  });

  it('focuses the message box after “New chat”, so the first words are not lost', async () => {
    await signUp(bob, 'bob', PW);
    await signUp(carol, 'carol', PW);
    await alice.locator('conversation-list button', { hasText: 'New chat' }).click();
    await alice.locator('conversation-list input[name=username]').fill('bob');
    await alice.locator('conversation-list input[name=username]').press('Enter');
    const box = alice.locator('conversation-view chat-composer textarea');
    await box.waitFor();
    await expect
      .poll(() => box.evaluate((t) => t.matches(':focus')), { timeout: 10_000 })
      .toBe(true);
    await alice.keyboard.type('ok');
    expect(await box.inputValue()).toBe('ok');
    await box.press('Enter');
    await bubble(alice, 'ok').waitFor({ timeout: 20_000 });
  });

  it('keeps the toolbar of a short own message inside the list, off its text, and Edit does not scroll sideways', async () => {
    const mine = bubble(alice, 'ok');
    await mine.locator('.bubble').hover();
    const toolbar = mine.locator('[role=toolbar]');
    await toolbar.waitFor();
    const bar = (await toolbar.boundingBox())!;
    const text = (await mine.locator('.text').boundingBox())!;
    const list = (await alice.locator('conversation-view message-list .scroller').boundingBox())!;
    expect(bar.x).toBeGreaterThanOrEqual(list.x);
    expect(bar.x + bar.width).toBeLessThanOrEqual(list.x + list.width);
    const overlaps =
      bar.x < text.x + text.width &&
      text.x < bar.x + bar.width &&
      bar.y < text.y + text.height &&
      text.y < bar.y + bar.height;
    expect(overlaps).toBe(false);
    // The way from the bubble to Edit keeps the toolbar up: a mouse reaches it.
    await mine.getByRole('button', { name: 'Edit' }).hover();
    await mine.getByRole('button', { name: 'Edit' }).click();
    const box = alice.locator('conversation-view chat-composer textarea');
    await expect.poll(() => box.inputValue(), { timeout: 10_000 }).toBe('ok');
    const sideways = await alice
      .locator('conversation-view message-list .scroller')
      .evaluate((el) => ({ left: el.scrollLeft, wider: el.scrollWidth > el.clientWidth }));
    expect(sideways).toEqual({ left: 0, wider: false });
    expect(await alice.evaluate(() => document.scrollingElement?.scrollLeft ?? 0)).toBe(0);
    await box.press('Escape');
    await expect.poll(() => box.inputValue()).toBe('');
  });

  it('grows the message box with its lines up to its limit, and shrinks it when the message is sent', async () => {
    const box = alice.locator('conversation-view chat-composer textarea');
    const height = () => box.evaluate((t) => t.getBoundingClientRect().height);
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}`).join('\n');
    const one = await height();
    await box.fill(lines(3));
    await expect.poll(height).toBeGreaterThan(one + 20);
    await box.fill(lines(30));
    await expect.poll(height).toBeGreaterThan(120);
    const full = await height();
    expect(full).toBeLessThanOrEqual(200);
    await box.fill(lines(60));
    await expect.poll(height).toBe(full);
    await box.press('Enter');
    await bubble(alice, 'line 59').waitFor({ timeout: 20_000 });
    await expect.poll(height).toBe(one);
  });

  it('shows a verified contact in the chat header and the chat list', async () => {
    const header = alice.locator('conversation-view conversation-header [data-verified]');
    const row = alice.locator('conversation-list a[data-conversation="dm:bob"] [data-verified]');
    expect(await header.count()).toBe(0);
    expect(await row.count()).toBe(0);
    await go(alice, `#/c/${encodeURIComponent('dm:bob')}/info`);
    await alice.locator('contact-info button', { hasText: 'Mark as verified' }).click();
    await alice.locator('contact-info [data-verified]').waitFor({ timeout: 20_000 });
    await go(alice, `#/c/${encodeURIComponent('dm:bob')}`);
    await header.waitFor({ timeout: 10_000 });
    await shot(alice, 'verified-header-desktop');
    expect(await header.textContent()).toContain('Verified');
    await row.waitFor({ timeout: 10_000 });
  });

  it('names the sender once in a search result and marks the match', async () => {
    await openConversation(bob, 'dm:alice');
    await send(bob, 'Pizza tonight at eight?');
    await bubble(alice, 'Pizza tonight at eight?').waitFor({ timeout: 20_000 });
    await go(alice, '#/search');
    await alice.locator('search-view input[type=search]').fill('pizza');
    const hit = alice.locator('search-view a[data-result]', { hasText: 'tonight at eight' });
    await hit.waitFor({ timeout: 10_000 });
    const where = (await hit.locator('[data-where]').textContent())!.replace(/\s+/g, ' ').trim();
    expect(where.match(/bob/g)).toHaveLength(1);
    expect(await hit.locator('mark').allTextContents()).toEqual(['Pizza']);
    await shot(alice, 'search-match-desktop');
    await go(alice, '#/');
  });

  it('has no serious axe-core violation on the main views, light and dark', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      await alice.emulateMedia({ colorScheme: scheme });
      await go(alice, `#/c/${encodeURIComponent('dm:bob')}`);
      await bubble(alice, 'Pizza tonight at eight?').waitFor({ timeout: 20_000 });
      expect(await seriousViolations(alice), `conversation, ${scheme}`).toEqual([]);
      await go(alice, '#/search');
      await alice.locator('search-view input[type=search]').fill('pizza');
      await alice.locator('search-view a[data-result]').first().waitFor({ timeout: 10_000 });
      expect(await seriousViolations(alice), `search, ${scheme}`).toEqual([]);
      await go(alice, '#/settings');
      await alice.locator('settings-view').waitFor();
      expect(await seriousViolations(alice), `settings, ${scheme}`).toEqual([]);
      await go(alice, `#/c/${encodeURIComponent('dm:bob')}/info`);
      await alice.locator('contact-info [data-verified]').waitFor({ timeout: 20_000 });
      expect(await seriousViolations(alice), `contact info, ${scheme}`).toEqual([]);
    }
    await alice.emulateMedia({ colorScheme: 'light' });
    await go(alice, '#/');
  });

  it('does not bring back a group member’s “typing…” that was sent before their message', async () => {
    await dave.register('dave', PW);
    await dave.start();
    await alice.locator('conversation-list button', { hasText: 'New group' }).click();
    await alice.locator('conversation-list input[name=name]').fill('Book club');
    await alice.locator('conversation-list input[name=members]').fill('bob, carol, dave');
    await alice.locator('conversation-list form button[type=submit]').click();
    await alice
      .locator('conversation-view h2', { hasText: 'Book club' })
      .waitFor({ timeout: 20_000 });
    groupId = decodeURIComponent(await alice.evaluate(() => location.hash)).replace('#/c/', '');
    expect(groupId).toMatch(/^group:/);
    await send(alice, 'Welcome to the book club');
    // Dave's engine learns the group from the key server's notice; his message needs it.
    await expect.poll(async () => (await dave.groups.list()).length, { timeout: 30_000 }).toBe(1);
    const sent = await dave.sendText(groupId, 'Dave read chapter one');
    await bubble(alice, 'Dave read chapter one').waitFor({ timeout: 30_000 });
    // A "typing" dated before that message, delivered after it (group sends can overtake).
    daveSkew = -5_000;
    await dave.setTyping(groupId, true);
    daveSkew = 0;
    // The marker: Dave's reaction, published after the typing on the same group topic.
    await dave.react(groupId, sent.id, '👍');
    await expect
      .poll(() => bubble(alice, 'Dave read chapter one').locator('.reactions').textContent(), {
        timeout: 20_000,
      })
      .toContain('1');
    expect(await alice.locator('conversation-view .typing').textContent()).not.toMatch(/typing/);
    expect(await alice.locator('conversation-view [data-subtitle]').textContent()).not.toMatch(
      /typing/,
    );
    // Typing after the message is shown.
    await dave.setTyping(groupId, true);
    await expect
      .poll(() => alice.locator('conversation-view .typing').textContent(), { timeout: 20_000 })
      .toMatch(/dave is typing/);
    await dave.setTyping(groupId, false);
  });

  it('does not ask the key server for a group its member was removed from', async () => {
    await openConversation(carol, groupId);
    await bubble(carol, 'Welcome to the book club').waitFor({ timeout: 30_000 });
    const groupPath = `/v1/groups/${encodeURIComponent(groupId.slice('group:'.length))}`;
    const fetches: string[] = [];
    let removed = false;
    carol.on('request', (r) => {
      if (removed && new URL(r.url()).pathname === groupPath) fetches.push(r.method());
    });
    await alice.locator('conversation-view a[aria-label="Group settings"]').click();
    await alice.locator('group-settings [data-member="carol"]').waitFor({ timeout: 20_000 });
    removed = true;
    await alice.locator('group-settings button[aria-label="Remove carol"]').click();
    await alice
      .getByRole('dialog', { name: 'Remove carol from “Book club”?' })
      .getByRole('button', { name: 'Remove carol' })
      .click();
    await carol
      .locator('conversation-view chat-composer [role=status]', {
        hasText: 'You are no longer a member',
      })
      .waitFor({ timeout: 30_000 });
    // The marker: a DM Alice sends after the removal (the key server's notice went before it).
    await go(alice, `#/c/${encodeURIComponent('dm:carol')}`);
    await alice.locator('conversation-view chat-composer textarea').waitFor();
    await send(alice, 'Sorry Carol, the club is full');
    await carol
      .locator('conversation-list a[data-conversation="dm:alice"]', { hasText: 'the club is full' })
      .waitFor({ timeout: 30_000 });
    expect(fetches).toEqual([]);
  });

  it('got no failed HTTP response on any page (favicon included)', async () => {
    for (const p of [alice, bob, carol]) {
      const icon = await p.evaluate(() =>
        document.querySelector('link[rel=icon]')?.getAttribute('href'),
      );
      expect(icon).toBeTruthy();
      const r = await p.request.get(new URL(icon!, server.url).href);
      expect(r.status()).toBe(200);
    }
    expect(failed).toEqual([]);
  });
});
