/**
 * Issue 19 in the browser, part two: passkeys with Chromium's virtual authenticator (CDP
 * `WebAuthn.*`: CTAP2, internal transport, resident keys, user verification) — register one in
 * Settings and rename it, sign out and back in with the passkey alone, use it as the second
 * factor after the password once TOTP is on, a cancelled ceremony and an unknown passkey shown
 * as text, removal — and a linked browser removed from another browser's devices page.
 * The server's public URL and the pages are on `localhost`: WebAuthn refuses 127.0.0.1. The
 * page is watched for CSP, Trusted Types and Permissions-Policy reports throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { Secret, TOTP } from 'otpauth';
import {
  go,
  launchChromium,
  linkBrowser,
  newUser,
  shot,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';
import { expectCspClean, newWatchedUser } from './csp-watch.ts';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ localhost: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A virtual platform authenticator on `page` (passkeys, user verification on). */
async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; id: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, id: authenticatorId };
}

async function logOut(page: Page): Promise<void> {
  await go(page, '#/settings');
  await page.locator('settings-view button.danger', { hasText: 'Log out' }).click();
  await page.locator('auth-view').waitFor({ timeout: 20_000 });
  await page.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
}

const alertText = (page: Page) =>
  page
    .locator('auth-view [role=alert]')
    .textContent({ timeout: 1_000 })
    .catch(() => '');

describe('passkeys in the web client', () => {
  it('registers, signs in alone and as the second factor, reports failures as text, and removes', async () => {
    const { page, csp } = await newWatchedUser(browser, server.url);
    page.on('dialog', (d) => void d.accept());
    const auth = await virtualAuthenticator(page);
    await signUp(page, 'alice');

    // Register, named, and rename it.
    await go(page, '#/settings');
    const pk = page.locator('passkey-settings');
    await pk.getByRole('textbox', { name: 'Name of the new passkey' }).fill('Laptop');
    await pk.getByRole('button', { name: 'Add a passkey' }).click();
    const item = pk.locator('li[data-passkey]');
    await expect.poll(() => item.locator('[data-passkey-name]').textContent()).toBe('Laptop');
    const { credentials } = await auth.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: auth.id,
    });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]?.isResidentCredential).toBe(true);
    await pk.getByRole('button', { name: 'Rename passkey Laptop' }).click();
    await pk.getByRole('textbox', { name: 'New name for passkey Laptop' }).fill('My laptop');
    await pk.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => item.locator('[data-passkey-name]').textContent()).toBe('My laptop');
    expect(await item.textContent()).toMatch(/last used never/);
    await pk.locator('form[data-passkey-add]').scrollIntoViewIfNeeded();
    await shot(page, 'passkeys-settings');

    // Signed out: the passkey alone signs in (it names the account; no username typed).
    await logOut(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.locator('conversation-list').waitFor({ timeout: 30_000 });
    await go(page, '#/settings');
    await expect.poll(() => item.textContent()).not.toMatch(/last used never/);

    // Two-factor on: after the password, the passkey instead of a code.
    const tfa = page.locator('two-factor-settings');
    await tfa.locator('button[data-totp-enable]').click();
    const secret = (await tfa.locator('[data-totp-secret]').textContent({ timeout: 20_000 }))!;
    const totp = new TOTP({ secret: Secret.fromBase32(secret.trim()) });
    await tfa.locator('input[name=code]').fill(totp.generate());
    await tfa.locator('form[data-totp-setup] button[type=submit]').click();
    await tfa.locator('[data-recovery-codes] button', { hasText: 'I saved them' }).click();
    await tfa.locator('[data-mfa-on]').waitFor();
    await logOut(page);
    await page.locator('auth-view input[name=username]').fill('alice');
    await page.locator('auth-view input[name=password]').fill(PASSWORD);
    await page.locator('auth-view button[type=submit]').click();
    await page.locator('auth-view input[name=totp]').waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Use a passkey instead of a code' }).click();
    await page.locator('conversation-list').waitFor({ timeout: 30_000 });

    // The user refuses verification: a sentence, and the form stays usable.
    await logOut(page);
    await auth.cdp.send('WebAuthn.setUserVerified', {
      authenticatorId: auth.id,
      isUserVerified: false,
    });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect.poll(() => alertText(page), { timeout: 20_000 }).toMatch(/cancelled or timed out/);
    await auth.cdp.send('WebAuthn.setUserVerified', {
      authenticatorId: auth.id,
      isUserVerified: true,
    });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.locator('conversation-list').waitFor({ timeout: 30_000 });

    // Removed on the server, still on the authenticator: "not registered".
    await go(page, '#/settings');
    await pk.getByRole('button', { name: 'Remove passkey My laptop' }).click();
    await pk.locator('[data-no-passkeys]').waitFor({ timeout: 20_000 });
    await logOut(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect
      .poll(() => alertText(page), { timeout: 20_000 })
      .toMatch(/not registered on this server/);
    // Every ceremony ran under the strict CSP and a Permissions-Policy that allows WebAuthn.
    await expectCspClean(csp, page, 'the passkey ceremonies');
  });

  it('removes a linked browser from another browser’s devices page; the removed one says so and its tokens stop working', async () => {
    const a = (await newUser(browser, server.url)).page;
    const b = (await newUser(browser, server.url)).page;
    let bTokens: { accessToken: string; refreshToken: string } | null = null;
    b.on('response', (r) => {
      if (!/\/v1\/sessions(\/refresh)?$/.test(new URL(r.url()).pathname)) return;
      void r.json().then(
        (j: { accessToken?: string; refreshToken?: string }) => {
          if (j.accessToken && j.refreshToken)
            bTokens = { accessToken: j.accessToken, refreshToken: j.refreshToken };
        },
        () => undefined,
      );
    });
    await signUp(a, 'carol');
    await linkBrowser(a, b, 'carol');
    expect(bTokens).not.toBeNull();
    const { accessToken, refreshToken } = bTokens!;

    await go(a, '#/settings');
    const devices = a.locator('account-devices li[data-device]');
    await expect.poll(() => devices.count(), { timeout: 20_000 }).toBe(2);
    const other = a.locator('account-devices li[data-device]:not([data-current])');
    const name = (await other.locator('[data-device-name]').textContent())!;
    await a.getByRole('button', { name: `Remove ${name}` }).click();

    const removed = b.locator('[data-device-removed]');
    await removed.waitFor({ timeout: 30_000 });
    expect(await removed.locator('h1').textContent()).toBe('This device was removed');
    await expect.poll(() => devices.count(), { timeout: 20_000 }).toBe(1);

    const me = await fetch(`${server.url}/v1/me/devices`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(me.status).toBe(401);
    const refresh = await fetch(`${server.url}/v1/sessions/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
    });
    expect(refresh.status).toBe(401);
  });
});
