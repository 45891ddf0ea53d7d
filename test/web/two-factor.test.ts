/**
 * Issue 19 in the browser: Alice turns on two-factor sign-in in Settings (the test reads the
 * secret the page shows and computes codes with `otpauth`), sees her recovery codes, logs out
 * and back in with the password and a code; she renames a device on the devices page, and a
 * device of hers removed from another device ends on the "This device was removed" screen.
 * Real embedded server, Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { Secret, TOTP } from 'otpauth';
import { createHttpClient } from '../../client/src/http.ts';
import {
  go,
  launchChromium,
  newUser,
  shot,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';

const PASSWORD = 'correct horse battery';
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const codeAt = (secret: string, at: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), period: 30, digits: 6 }).generate({
    timestamp: at,
  });

async function logIn(page: Page, username: string, code?: string): Promise<void> {
  await page.locator('auth-view').waitFor();
  await page.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
  await page.locator('auth-view input[name=username]').fill(username);
  await page.locator('auth-view input[name=password]').fill(PASSWORD);
  if (code !== undefined) await page.locator('auth-view input[name=totp]').fill(code);
  await page.locator('auth-view button[type=submit]').click();
}

describe('two-factor sign-in in the web client', () => {
  it('enrols TOTP with the QR code and secret, shows recovery codes, and asks for a code at login', async () => {
    const { page } = await newUser(browser, server.url);
    page.on('dialog', (d) => void d.accept());
    await signUp(page, 'alice');
    await go(page, '#/settings');
    const tfa = page.locator('two-factor-settings');
    await tfa.locator('button[data-totp-enable]').click();
    const secret = (
      await tfa.locator('[data-totp-secret]').textContent({ timeout: 20_000 })
    )?.trim();
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    await expect.poll(() => tfa.locator('img').getAttribute('src')).toMatch(/^data:image\/png/);
    expect(await tfa.locator('img').getAttribute('alt')).toBeTruthy();
    await shot(page, 'two-factor-setup');
    await tfa.locator('input[name=code]').fill(codeAt(secret ?? '', Date.now()));
    await tfa.locator('form[data-totp-setup] button[type=submit]').click();
    const codes = tfa.locator('[data-recovery-codes] li');
    await codes.first().waitFor({ timeout: 20_000 });
    expect(await codes.count()).toBe(10);
    await tfa.locator('[data-recovery-codes] button', { hasText: 'I saved them' }).click();
    await tfa.locator('[data-mfa-on]').waitFor();

    // Log out, then back in: the password alone brings up the code field.
    await page.locator('settings-view button.danger', { hasText: 'Log out' }).click();
    await logIn(page, 'alice');
    await page
      .locator('auth-view input[name=totp]')
      .waitFor({ timeout: 20_000 })
      .catch(async (err: unknown) => {
        const alert = await page
          .locator('auth-view [role=alert]')
          .textContent()
          .catch(() => null);
        throw new Error(`no code field; alert: ${alert ?? 'none'}`, { cause: err });
      });
    await logIn(page, 'alice', '000000');
    await expect
      .poll(() => page.locator('auth-view [role=alert]').textContent(), { timeout: 20_000 })
      .toMatch(/wrong, expired or already used/);
    // The next step's code (the confirmation used this step's, and each code works once).
    await logIn(page, 'alice', codeAt(secret ?? '', Date.now() + 30_000));
    await page.locator('conversation-list').waitFor({ timeout: 30_000 });
  });

  it('renames a device and ends a removed browser on the "removed" screen', async () => {
    const { page } = await newUser(browser, server.url);
    await signUp(page, 'carol');
    // Carol's second device: a client that logged in just now (a fresh password: step-up).
    const other = createHttpClient({ baseUrl: server.url });
    const tokens = await other.login('carol', PASSWORD, 'carol-laptop', { platform: 'cli' });
    const api = createHttpClient({
      baseUrl: server.url,
      getTokens: () => tokens,
    });

    await go(page, '#/settings');
    const list = page.locator('account-devices');
    const laptop = list.locator('li[data-device="carol-laptop"]');
    await laptop.waitFor({ timeout: 20_000 });
    await expect
      .poll(() => list.locator('li[data-current] [data-device-name]').textContent())
      .toMatch(/Chrome on Linux/);
    await laptop.locator('button[data-rename]').click();
    await laptop.locator('input[name=name]').fill('Work laptop');
    await laptop.locator('form[data-rename-form] button[type=submit]').click();
    await expect.poll(() => laptop.locator('[data-device-name]').textContent()).toBe('Work laptop');
    await shot(page, 'devices-page');
    const renamed = await api.call<{ devices: { deviceId: string; name: string }[] }>(
      'GET',
      '/v1/me/devices',
      { auth: true },
    );
    expect(renamed.devices.find((d) => d.deviceId === 'carol-laptop')?.name).toBe('Work laptop');

    // The laptop removes this browser.
    const mine = renamed.devices.find((d) => d.deviceId !== 'carol-laptop')?.deviceId ?? '';
    await api.call('DELETE', `/v1/me/devices/${mine}`, { auth: true });
    const removed = page.locator('[data-device-removed]');
    await removed.waitFor({ timeout: 30_000 });
    expect(await removed.locator('h1').textContent()).toBe('This device was removed');
  });
});
