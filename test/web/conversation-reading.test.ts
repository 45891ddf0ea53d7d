/**
 * Reading a conversation as people who use Signal Desktop or WhatsApp Web expect it (issue 22):
 * the "N unread messages" divider a conversation opens at and "Jump to latest" with the count of
 * new messages while the reader is scrolled up. Alice is a browser profile against a real
 * embedded server; Bob is an engine in Node, quick to send.
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
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';

const PW = 'correct horse battery';

let server: TestServer;
let browser: Browser;
let alice: Page;
let bob: SottoClient;

/** An engine in Node that signs up as `username` and connects. */
async function nodeUser(username: string): Promise<SottoClient> {
  const c = createClient({
    store: createMemoryStore(),
    http: { baseUrl: server.url },
    mqttConnect: (o) => mqtt.connect(server.mqttUrl!, { ...o, reconnectPeriod: 200 }),
  });
  await c.register(username, PW);
  await c.start();
  return c;
}

/** The unread badge of a conversation in Alice's list (0 when there is none). */
async function listUnread(id: string): Promise<number> {
  const badge = alice.locator(`conversation-list a[data-conversation="${id}"] [data-unread]`);
  return (await badge.count()) === 0 ? 0 : Number(await badge.getAttribute('data-unread'));
}

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  await signUp(alice, 'alice', PW);
  bob = await nodeUser('bob');
});

afterAll(async () => {
  await bob?.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

describe('reading a conversation', () => {
  it('opens at an “N unread messages” divider above the first unread message', async () => {
    await bob.sendText('dm:alice', 'read before');
    await openConversation(alice, 'dm:bob');
    await bubble(alice, 'read before').waitFor({ timeout: 20_000 });
    await expect.poll(() => listUnread('dm:bob'), { timeout: 10_000 }).toBe(0);
    // Away from the conversation, twenty messages arrive: more than the window holds.
    await go(alice, '#/');
    await alice.locator('conversation-view').waitFor({ state: 'detached' });
    for (let i = 1; i <= 20; i++) await bob.sendText('dm:alice', `burst ${i}`);
    await expect.poll(() => listUnread('dm:bob'), { timeout: 90_000 }).toBe(20);

    await openConversation(alice, 'dm:bob');
    const divider = alice.locator('conversation-view message-list [data-unread-divider]');
    await divider.waitFor({ timeout: 10_000 });
    expect((await divider.textContent())?.trim()).toBe('20 unread messages');
    expect(await divider.getAttribute('role')).toBe('separator');
    // Right above the first unread message, and the list opened there, not at the end.
    const next = await divider.evaluate(
      (d) => `${d.nextElementSibling?.localName} ${d.nextElementSibling?.shadowRoot?.textContent}`,
    );
    expect(next).toMatch(/^message-bubble .*burst 1\b/s);
    await expect.poll(() => divider.isVisible()).toBe(true);
    const list = (await alice.locator('conversation-view message-list .scroller').boundingBox())!;
    const box = (await divider.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(list.y);
    expect(box.y + box.height).toBeLessThanOrEqual(list.y + list.height);
    // Not read yet: the reader has not seen the end.
    expect(await listUnread('dm:bob')).toBe(20);
  });

  it('counts new messages on “Jump to latest” while scrolled up, and reads them there', async () => {
    const jump = alice.locator('conversation-view message-list button.jump');
    await expect
      .poll(() => jump.getAttribute('aria-label'), { timeout: 10_000 })
      .toBe('Jump to latest, 20 new');
    await bob.sendText('dm:alice', 'while scrolled up');
    await expect
      .poll(() => jump.locator('[data-new]').textContent(), { timeout: 20_000 })
      .toBe('21');
    expect(await jump.getAttribute('aria-label')).toBe('Jump to latest, 21 new');

    await jump.click();
    await expect.poll(() => bubble(alice, 'while scrolled up').isVisible()).toBe(true);
    await jump.waitFor({ state: 'detached', timeout: 10_000 });
    await expect.poll(() => listUnread('dm:bob'), { timeout: 20_000 }).toBe(0);
    // The divider stays where the unread messages began while the conversation is open.
    expect(
      await alice.locator('conversation-view message-list [data-unread-divider]').count(),
    ).toBeLessThanOrEqual(1);

    // Scrolled up again, one new message: the count starts from what is unread now.
    await alice
      .locator('conversation-view message-list .scroller')
      .evaluate((el) => (el.scrollTop = 0));
    await jump.waitFor({ timeout: 10_000 });
    expect(await jump.getAttribute('aria-label')).toBe('Jump to latest');
    await bob.sendText('dm:alice', 'one more');
    await expect
      .poll(() => jump.getAttribute('aria-label'), { timeout: 20_000 })
      .toBe('Jump to latest, 1 new');
  });
});
