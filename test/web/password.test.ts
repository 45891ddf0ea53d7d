/**
 * Changing the password in the browser: Alice's Settings → Change password refuses a wrong
 * current password, then changes it; only the new password logs in afterwards, and her browser,
 * kicked off the broker by the change, comes back with its new token and keeps chatting with Bob.
 * Real embedded server, Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createHttpClient, isApiError } from '../../client/src/http.ts';
import {
  bubble,
  launchChromium,
  newUser,
  send,
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

async function logsIn(username: string, password: string): Promise<boolean> {
  try {
    await createHttpClient({ baseUrl: server.url }).login(username, password);
    return true;
  } catch (err) {
    if (isApiError(err, 'INVALID_CREDENTIALS')) return false;
    throw err;
  }
}

async function submit(page: Page, current: string, next: string): Promise<void> {
  const form = page.locator('settings-view form[data-password]');
  await form.locator('input[name=current-password]').fill(current);
  await form.locator('input[name=new-password]').fill(next);
  await form.locator('input[name=confirm-password]').fill(next);
  await form.locator('button[type=submit]').click();
}

describe('changing the password in the web client', () => {
  it('refuses a wrong current password, changes it, and the browser keeps chatting', async () => {
    await signUp(alice, 'alice', 'first password');
    await signUp(bob, 'bob');
    await startDm(alice, 'bob');
    await startDm(bob, 'alice');
    await send(alice, 'before the change');
    await bubble(bob, 'before the change').waitFor({ timeout: 20_000 });

    await alice.goto(`${server.url}/#/settings`);
    await submit(alice, 'not my password', 'second password');
    const error = alice.locator('settings-view form[data-password] [role=alert]');
    await expect
      .poll(() => error.textContent(), { timeout: 20_000 })
      .toContain('current password is wrong');
    expect(await logsIn('alice', 'first password')).toBe(true);

    await submit(alice, 'first password', 'second password');
    await alice.locator('settings-view [data-password-done]').waitFor({ timeout: 20_000 });
    expect(await alice.locator('settings-view [data-password-done]').textContent()).toContain(
      'must log in again',
    );
    expect(await logsIn('alice', 'first password')).toBe(false);
    expect(await logsIn('alice', 'second password')).toBe(true);

    // The broker dropped Alice's connection; the browser reconnects with its new token.
    await alice.goto(`${server.url}/#/`);
    await alice.locator('conversation-list').getByText('bob').first().click();
    await alice.locator('conversation-view').waitFor();
    await send(alice, 'after the change');
    await bubble(bob, 'after the change').waitFor({ timeout: 20_000 });
    await send(bob, 'reply after the change');
    await bubble(alice, 'reply after the change').waitFor({ timeout: 20_000 });

    // And after a reload the stored new tokens still work.
    await alice.reload();
    await alice.locator('conversation-list').waitFor({ timeout: 20_000 });
    await send(bob, 'after the reload');
    await alice.locator('conversation-list').getByText('bob').first().click();
    await bubble(alice, 'after the reload').waitFor({ timeout: 20_000 });
  });
});
