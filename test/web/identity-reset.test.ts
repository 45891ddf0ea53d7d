/**
 * Resetting the identity in the browser (real embedded server, Chromium): Bob has verified
 * Alice; Alice also has a linked second browser. In Settings → Reset identity a wrong password
 * changes nothing; the real reset signs the linked browser out, raises no own-key alert in the
 * resetting browser, and Bob is told that her safety number changed (blocking, as he had
 * verified her: her message under the new key is held until he accepts); once he accepts, his safety number for her is new, matches hers, and is no
 * longer verified, and DMs flow both ways. Then a fresh browser with no device to link from
 * uses "I lost my other devices — reset identity" on the log-in screen: the first browser is
 * signed out and the new one chats with Bob; logging in again on the first browser offers
 * linking instead of resuming its old key, and it links from the new one, history kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  bubble,
  go,
  launchChromium,
  newUser,
  openConversation,
  ownKeyMonitorCaughtUp,
  send,
  shot,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';

const PW = 'correct horse battery';

let server: TestServer;
let browser: Browser;
let alice1: Page;
let alice2: Page;
let alice3: Page;
let bob: Page;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
  alice1 = (await newUser(browser, server.url)).page;
  bob = (await newUser(browser, server.url)).page;
  alice2 = (await newUser(browser, server.url)).page;
  alice3 = (await newUser(browser, server.url)).page;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Back to the list, then open the conversation. */
async function openFromList(page: Page, id: string): Promise<void> {
  await go(page, '#/');
  await openConversation(page, id);
}

/** The safety number a page shows for `peer` in contact info (and whether it is verified). */
async function safety(page: Page, peer: string): Promise<{ digits: string; verified: boolean }> {
  await go(page, `#/c/${encodeURIComponent(`dm:${peer}`)}/info`);
  const digits = page.locator('contact-info [data-safety]');
  await digits.waitFor({ timeout: 20_000 });
  return {
    digits: (await digits.getAttribute('data-safety'))!,
    verified: (await page.locator('contact-info [data-verified]').count()) > 0,
  };
}

/** Log in on a fresh browser; the account's keys live elsewhere, so linking is offered. */
async function logInNeedingLink(page: Page): Promise<void> {
  await page.locator('auth-view').waitFor();
  await page.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
  await page.locator('auth-view input[name=username]').fill('alice');
  await page.locator('auth-view input[name=password]').fill(PW);
  await page.locator('auth-view button[type=submit]').click();
  await expect
    .poll(() => page.locator('auth-view [role=alert]').textContent(), { timeout: 20_000 })
    .toMatch(/another device/);
}

async function resetInSettings(page: Page, password: string): Promise<void> {
  const form = page.locator('settings-view identity-reset form[data-identity-reset]');
  await form.locator('input[name=reset-password]').fill(password);
  await form.locator('input[name=reset-confirm]').fill('alice');
  await form.locator('button[type=submit]').click();
}

const ownKeyAlert = (page: Page) => page.locator('own-key-alert-banner section[role=alert]');

describe('resetting the identity in the web client', () => {
  it('resets from Settings and from the log-in screen; Bob sees the key change', async () => {
    await signUp(alice1, 'alice', PW);
    await signUp(bob, 'bob');
    await startDm(alice1, 'bob');
    await send(alice1, 'before the reset');
    await startDm(bob, 'alice');
    await bubble(bob, 'before the reset').waitFor({ timeout: 20_000 });
    await send(bob, 'reply before the reset');
    await bubble(alice1, 'reply before the reset').waitFor({ timeout: 20_000 });

    // Bob verifies Alice.
    const before = await safety(bob, 'alice');
    await bob.locator('contact-info button', { hasText: 'Mark as verified' }).click();
    await bob.locator('contact-info [data-verified]').waitFor({ timeout: 20_000 });
    expect((await safety(alice1, 'bob')).digits).toBe(before.digits);

    // Alice links a second browser.
    await logInNeedingLink(alice2);
    await alice2.locator('auth-view button[data-link]').click();
    const codeEl = alice2.locator('link-offer [data-link-code]');
    await codeEl.waitFor({ timeout: 20_000 });
    const code = (await codeEl.textContent())!.trim();
    await go(alice1, '#/link');
    await alice1.locator('link-device textarea').fill(code);
    await alice1.locator('link-device button[type=submit]').click();
    await alice1.locator('link-device [data-linked]').waitFor({ timeout: 30_000 });
    // The copied history is reported before the app opens.
    await alice2.locator('auth-view button[data-link-continue]').click({ timeout: 30_000 });
    await alice2.locator('conversation-list').waitFor({ timeout: 30_000 });

    // Settings → Reset identity: a wrong password changes nothing.
    await go(alice1, '#/settings');
    const deviceBefore = (await alice1.locator('settings-view code').first().textContent())!;
    await resetInSettings(alice1, 'not my password');
    await expect
      .poll(() => alice1.locator('settings-view identity-reset [role=alert]').textContent(), {
        timeout: 20_000,
      })
      .toContain('password is wrong');
    expect(await alice2.locator('[data-signed-out]').count()).toBe(0);

    await alice1.locator('settings-view [data-reset]').scrollIntoViewIfNeeded();
    await shot(alice1, 'identity-reset-desktop');
    await resetInSettings(alice1, PW);
    const done = alice1.locator('settings-view [data-reset-done]');
    await done.waitFor({ timeout: 30_000 });
    const deviceAfter = (await done.locator('code').textContent())!;
    expect(deviceAfter).not.toBe(deviceBefore);
    await expect
      .poll(() => alice1.locator('settings-view ul[aria-label=Devices] li').allTextContents(), {
        timeout: 20_000,
      })
      .toEqual([expect.stringContaining(deviceAfter)]);
    // The linked browser was removed and signed out.
    await alice2.locator('[data-signed-out]').waitFor({ timeout: 30_000 });

    // Bob is told the safety number changed; as he had verified her, her message under the new
    // key is held until he accepts it, then shown.
    await openFromList(alice1, 'dm:bob');
    await send(alice1, 'after the reset');
    await openFromList(bob, 'dm:alice');
    const banner = bob.locator('conversation-view key-change-banner [role=alert]');
    await expect.poll(() => banner.getAttribute('data-held'), { timeout: 30_000 }).toBe('1');
    expect(await banner.textContent()).toContain('alice’s safety number changed');
    expect(await bubble(bob, 'after the reset').count()).toBe(0);
    await banner
      .getByRole('button', { name: 'Accept alice’s new safety number and show the held messages' })
      .click();
    await bubble(bob, 'after the reset').waitFor({ timeout: 30_000 });
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
    const after = await safety(bob, 'alice');
    expect(after.digits).not.toBe(before.digits);
    expect(after.verified).toBe(false);
    const alicesView = await safety(alice1, 'bob');
    expect(alicesView).toEqual({ digits: after.digits, verified: false });
    await openFromList(bob, 'dm:alice');
    await send(bob, 'welcome back');
    await openFromList(alice1, 'dm:bob');
    await bubble(alice1, 'welcome back').waitFor({ timeout: 30_000 });
    // Her own deliberate reset is no alert in her browser, once her monitor has judged it.
    await ownKeyMonitorCaughtUp(alice1, server, 'alice');
    expect(await ownKeyAlert(alice1).count()).toBe(0);

    // A fresh browser with nothing to link from: reset on the log-in screen.
    await logInNeedingLink(alice3);
    await alice3.locator('auth-view button[data-lost-devices]').click();
    const form = alice3.locator('auth-view identity-reset form[data-identity-reset]');
    await form.locator('input[name=reset-confirm]').fill('alice');
    await shot(alice3, 'identity-reset-login-desktop');
    await form.locator('button[type=submit]').click();
    await alice3.locator('conversation-list').waitFor({ timeout: 30_000 });
    await alice1.locator('[data-signed-out]').waitFor({ timeout: 30_000 });
    await openFromList(bob, 'dm:alice');
    await startDm(alice3, 'bob');
    await send(alice3, 'from my new browser');
    await bubble(bob, 'from my new browser').waitFor({ timeout: 30_000 });
    await send(bob, 'hello new browser');
    await bubble(alice3, 'hello new browser').waitFor({ timeout: 30_000 });
    const third = await safety(bob, 'alice');
    expect(third.digits).not.toBe(after.digits);
    expect((await safety(alice3, 'bob')).digits).toBe(third.digits);
    expect(await ownKeyAlert(alice3).count()).toBe(0);

    // The first browser, removed by that reset, is not resumed with its old key on logging in
    // again: it is offered linking (or another reset), links from the new browser and keeps the
    // messages it had.
    await alice1.locator('[data-signed-out] button', { hasText: 'Log in again' }).click();
    await logInNeedingLink(alice1);
    expect(await alice1.locator('auth-view button[data-lost-devices]').count()).toBe(1);
    await alice1.locator('auth-view button[data-link]').click();
    const code1 = alice1.locator('link-offer [data-link-code]');
    await code1.waitFor({ timeout: 20_000 });
    const relink = (await code1.textContent())!.trim();
    await go(alice3, '#/link');
    await alice3.locator('link-device textarea').fill(relink);
    await alice3.locator('link-device button[type=submit]').click();
    await alice3.locator('link-device [data-linked]').waitFor({ timeout: 30_000 });
    await alice1.locator('auth-view button[data-link-continue]').click({ timeout: 30_000 });
    await alice1.locator('conversation-list').waitFor({ timeout: 30_000 });
    await openFromList(alice1, 'dm:bob');
    await bubble(alice1, 'welcome back').waitFor({ timeout: 20_000 });
    expect((await safety(alice1, 'bob')).digits).toBe(third.digits);
    expect(await ownKeyAlert(alice1).count()).toBe(0);
  });
});
