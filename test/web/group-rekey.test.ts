/**
 * A group member's identity reset in the browser (real embedded server, Chromium). Alice has
 * verified Bob and is the admin of a group with Bob and Carol. Bob resets his identity in
 * Settings: his group conversation says the reset removed him from the group's keys and that he
 * waits for an admin, and sending there is refused. Alice's group conversation shows the blocking
 * key change; only after she accepts it does "Re-add with new key" appear, and pressing it takes
 * Bob back in: his banner goes away, he reads Alice's next message and Carol reads his.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  bubble,
  go,
  launchChromium,
  newUser,
  send,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';

const PW = 'correct horse battery';
let server: TestServer;
let browser: Browser;
let alice: Page;
let bob: Page;
let carol: Page;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  bob = (await newUser(browser, server.url)).page;
  carol = (await newUser(browser, server.url)).page;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function openGroup(page: Page, name: string): Promise<void> {
  await go(page, '#/');
  await page.locator('conversation-list a', { hasText: name }).click({ timeout: 30_000 });
  await page.locator('conversation-view h2', { hasText: name }).waitFor({ timeout: 20_000 });
}

describe('a group member resets their identity (web)', () => {
  it('shows the waiting member a banner and lets the admin re-add them after accepting the key', async () => {
    await signUp(alice, 'alice', PW);
    await signUp(bob, 'bob', PW);
    await signUp(carol, 'carol', PW);
    await startDm(alice, 'bob');
    await send(alice, 'hi bob');
    // Alice verifies Bob.
    await go(alice, `#/c/${encodeURIComponent('dm:bob')}/info`);
    await alice.locator('contact-info [data-safety]').waitFor({ timeout: 20_000 });
    await alice.locator('contact-info button', { hasText: 'Mark as verified' }).click();
    await alice.locator('contact-info [data-verified]').waitFor({ timeout: 20_000 });

    await go(alice, '#/');
    await alice.locator('conversation-list button', { hasText: 'New group' }).click();
    await alice.locator('conversation-list input[name=name]').fill('Trip');
    await alice.locator('conversation-list input[name=members]').fill('bob, carol');
    await alice.locator('conversation-list form button[type=submit]').click();
    await alice.locator('conversation-view h2', { hasText: 'Trip' }).waitFor({ timeout: 20_000 });
    await send(alice, 'welcome');
    for (const p of [bob, carol]) {
      await openGroup(p, 'Trip');
      await bubble(p, 'welcome').waitFor({ timeout: 30_000 });
    }

    // Bob resets his identity in Settings.
    await go(bob, '#/settings');
    const form = bob.locator('settings-view identity-reset form[data-identity-reset]');
    await form.locator('input[name=reset-password]').fill(PW);
    await form.locator('input[name=reset-confirm]').fill('bob');
    await form.locator('button[type=submit]').click();
    await bob.locator('settings-view [data-reset-done]').waitFor({ timeout: 30_000 });
    await openGroup(bob, 'Trip');
    const waiting = bob.locator('conversation-view group-key-banner [data-self-stale]');
    await waiting.waitFor({ timeout: 30_000 });
    expect(await waiting.textContent()).toMatch(/until an admin re-adds you/);

    // Alice: the key change blocks; no re-add until she accepts the new key.
    await openGroup(alice, 'Trip');
    const keyBanner = alice.locator('conversation-view key-change-banner [role=alert]');
    await keyBanner.waitFor({ timeout: 30_000 });
    const changed = alice.locator('conversation-view group-key-banner [data-changed=bob]');
    await changed.waitFor({ timeout: 30_000 });
    expect(await changed.textContent()).toMatch(/review the new safety number/);
    expect(await changed.locator('button').count()).toBe(0);
    await keyBanner.locator('button', { hasText: 'Accept new key' }).click();
    const readd = changed.locator('button', { hasText: 'Re-add with new key' });
    await readd.waitFor({ timeout: 20_000 });
    await readd.click();
    await expect.poll(() => changed.count(), { timeout: 30_000 }).toBe(0);

    // Bob is back: the banner goes, he reads and is read.
    await expect.poll(() => waiting.count(), { timeout: 30_000 }).toBe(0);
    await send(alice, 'welcome back');
    await bubble(bob, 'welcome back').waitFor({ timeout: 30_000 });
    await send(bob, 'good to be back');
    await bubble(carol, 'good to be back').waitFor({ timeout: 30_000 });
    await bubble(alice, 'good to be back').waitFor({ timeout: 30_000 });
  });
});
