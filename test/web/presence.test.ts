/**
 * Presence visibility in the browser: Bob sees Alice online in their DM; when Alice turns off
 * "Show when I'm online and last seen" in her settings the dot and the subtitle go away on
 * Bob's side, and they come back when she turns it on again. Real embedded server, Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  launchChromium,
  newUser,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';

let server: TestServer;
let browser: Browser;
let alice: Page;
let bob: Page;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  bob = (await newUser(browser, server.url)).page;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const subtitle = (page: Page) => page.locator('conversation-view [data-subtitle]').textContent();
const dots = (page: Page) => page.locator('conversation-view header .avatar .dot').count();
const toggle = (page: Page) => page.locator('settings-view input[data-presence]');

describe('hiding presence in the web client', () => {
  it('takes Alice off Bob’s screen while hidden and puts her back when shown', async () => {
    await signUp(alice, 'alice');
    await signUp(bob, 'bob');
    await startDm(bob, 'alice');
    await expect.poll(() => subtitle(bob), { timeout: 20_000 }).toBe('online');
    expect(await dots(bob)).toBe(1);

    await alice.goto(`${server.url}/#/settings`);
    await expect.poll(() => toggle(alice).isChecked(), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => toggle(alice).isEnabled()).toBe(true);
    await toggle(alice).uncheck();
    await expect.poll(() => subtitle(bob), { timeout: 20_000 }).toBe('');
    expect(await dots(bob)).toBe(0);

    // The setting is the account's, held by the server: a reload reads it back.
    await alice.reload();
    await expect.poll(() => toggle(alice).isChecked(), { timeout: 20_000 }).toBe(false);

    await toggle(alice).check();
    await expect.poll(() => subtitle(bob), { timeout: 20_000 }).toBe('online');
    expect(await dots(bob)).toBe(1);
  });
});
