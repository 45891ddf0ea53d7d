/**
 * Browser end-to-end test of device linking (PROTOCOL.md §13): Alice signs up in one browser
 * profile; a second profile logs in to her account, is told the keys live on another device,
 * shows a link code, and Alice's first browser approves it in Settings → Link a device. The
 * second browser shows the message history copied from the first (an old DM), then receives
 * Bob's DM and shows what the first one sent. Its own server and
 * browser, so it does not depend on the order of web.test.ts.
 *
 * Set `SCREENSHOTS=1` to (re)write `docs/screenshots/link-*.png` from the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
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

let server: TestServer;
let browser: Browser;
let alice1: Page;
let alice2: Page;
let bob: Page;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
  alice1 = (await newUser(browser, server.url)).page;
  bob = (await newUser(browser, server.url)).page;
  alice2 = (await newUser(browser, server.url)).page;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('linking a second browser', () => {
  it('links a second browser profile from the first and both receive Bob’s DM', async () => {
    await signUp(alice1, 'alice');
    await signUp(bob, 'bob');
    // History that the second browser should show after linking.
    await startDm(alice1, 'bob');
    await send(alice1, 'Written before linking');
    await bubble(alice1, 'Written before linking').waitFor({ timeout: 20_000 });

    // The second browser: the password is right, but the keys live in the first browser.
    await alice2.locator('auth-view').waitFor();
    await alice2.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
    await alice2.locator('auth-view input[name=username]').fill('alice');
    await alice2.locator('auth-view input[name=password]').fill('correct horse battery');
    await alice2.locator('auth-view button[type=submit]').click();
    await expect
      .poll(() => alice2.locator('auth-view [role=alert]').textContent(), { timeout: 20_000 })
      .toMatch(/another device/);
    await alice2.locator('auth-view button[data-link]').click();
    const codeEl = alice2.locator('link-offer [data-link-code]');
    await codeEl.waitFor({ timeout: 20_000 });
    await alice2.locator('link-offer img').waitFor();
    const code = (await codeEl.textContent())!.trim();
    expect(code).toMatch(/^[A-Za-z0-9_-]{60,}$/);
    await shot(alice2, 'link-code-desktop');

    // The first browser approves it from Settings → Link a device.
    await alice1.evaluate(() => (location.hash = '#/settings'));
    await alice1.locator('settings-view a[href="#/link"]').click();
    await alice1.locator('link-device textarea').fill(code);
    await alice1.locator('link-device button[type=submit]').click();
    await alice1.locator('link-device [data-linked]').waitFor({ timeout: 30_000 });
    expect(await alice1.locator('link-device [data-linked]').textContent()).toMatch(
      /history was included: 1 message\b/,
    );
    await shot(alice1, 'link-approve-desktop');

    // The second browser is now a device of Alice, with her history copied over.
    await alice2.locator('auth-view [data-link-history="imported"]').waitFor({ timeout: 30_000 });
    expect(await alice2.locator('auth-view [data-link-history]').textContent()).toMatch(
      /1 message copied/,
    );
    await shot(alice2, 'link-history-desktop');
    await alice2.locator('auth-view button[data-link-continue]').click();
    await alice2.locator('conversation-list').waitFor({ timeout: 30_000 });
    await openConversation(alice2, 'dm:bob');
    await bubble(alice2, 'Written before linking').waitFor({ timeout: 20_000 });

    // Bob writes to Alice: both browsers show it.
    await startDm(bob, 'alice');
    await send(bob, 'Hello to both of your browsers');
    await bubble(alice2, 'Hello to both of your browsers').waitFor({ timeout: 20_000 });
    await alice1.evaluate(() => (location.hash = '#/'));
    await openConversation(alice1, 'dm:bob');
    await bubble(alice1, 'Hello to both of your browsers').waitFor({ timeout: 20_000 });

    // What Alice sends from the first browser shows in the second one too.
    await send(alice1, 'Sent from my first browser');
    await bubble(bob, 'Sent from my first browser').waitFor({ timeout: 20_000 });
    await bubble(alice2, 'Sent from my first browser').waitFor({ timeout: 20_000 });
  });
});
