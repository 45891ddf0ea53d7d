/**
 * Browser end-to-end test of own-key monitoring in the web client (docs/SECURITY.md "Key
 * transparency and own-key monitoring"): Alice signs up, then the key server — compromised —
 * appends to its log a device certificate under Alice's name that her identity key never
 * signed. On the next connect her browser's engine finds the entry and the app shows the
 * own-key alert banner; it stays across a reload until Alice presses "I understand". Settings →
 * Devices counts the entries checked and the unexpected one. Its own server and browser, so it
 * does not depend on the order of web.test.ts.
 *
 * Set `SCREENSHOTS=1` to (re)write `docs/screenshots/own-key-alert-desktop.png` from the run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  encodeDeviceCertificate,
  generateDeviceKeys,
  generateUserIdentity,
  issueDeviceCertificate,
  keyLogLeaf,
  ready,
} from '@sotto/crypto';
import { createSqliteStore } from '@sotto/server-core/store';
import { go, launchChromium, newUser, signUp, startServer, type TestServer } from './harness.ts';
import { REPO_ROOT } from '../../scripts/web-assets.ts';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  await ready();
  server = await startServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * What a lying key server does to read a user's mail: log a device of its own under `username`,
 * claiming the user's identity key but signed by another key. Written to the server's own store.
 */
async function forgeDevice(username: string, deviceId: string): Promise<number> {
  const store = createSqliteStore({ filename: join(server.dataDir, 'keyserver.db') });
  try {
    const uik = (await store.getUser(username))?.uik;
    if (!uik) throw new Error(`${username} has no identity key yet`);
    const mallory = generateUserIdentity();
    const dev = generateDeviceKeys();
    const cert = issueDeviceCertificate(mallory, {
      username,
      deviceId,
      kind: 'user',
      signingKey: dev.signing.publicKey,
      identityKey: dev.identity.publicKey,
      issuedAt: Date.now(),
    });
    return await store.appendLogLeaf(
      keyLogLeaf(username, uik, encodeDeviceCertificate({ ...cert, uik })),
    );
  } finally {
    await store.close();
  }
}

describe('own-key alert in the web client', () => {
  it('shows a device the key server logged under our name until “I understand”, across reloads', async () => {
    const { page } = await newUser(browser, server.url);
    await signUp(page, 'alice');
    const banner = page.locator('own-key-alert-banner [role=alert]');
    const index = await forgeDevice('alice', 'not-alices-phone');

    // The next connect reads the new log entries and finds the forged one.
    await page.reload();
    await expect
      .poll(() => banner.textContent().then((t) => t?.replace(/\s+/g, ' ')), { timeout: 30_000 })
      .toContain('Device not-alices-phone');
    const text = (await banner.textContent())!.replace(/\s+/g, ' ');
    expect(text).toContain('your identity key never signed');
    expect(text).toContain(`Key log entry ${index}`);
    // What to do: Settings (devices) and Settings → Change password.
    expect(await banner.locator('a[href="#/settings"]', { hasText: 'Devices' }).count()).toBe(1);
    expect(await banner.locator('a[data-change-password]').count()).toBe(1);
    if (process.env.SCREENSHOTS === '1') {
      const dir = join(REPO_ROOT, 'docs', 'screenshots');
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'own-key-alert-desktop.png') });
    }
    // Settings → Devices: every entry of the log checked, the forged one unexpected.
    await go(page, '#/settings');
    const keyLog = page.locator('settings-view own-key-log-status [role=status]');
    const checked = (entries: number, rest: string): RegExp =>
      new RegExp(`^Key log: ${entries} entries checked, ${rest} · \\S`);
    await expect
      .poll(() => keyLog.getAttribute('aria-label'), { timeout: 20_000 })
      .toMatch(checked(index + 1, '1 unexpected — see the alert'));

    // The engine reports a log entry once; the banner still shows after a reload (kept in IndexedDB).
    await page.reload();
    await expect
      .poll(() => banner.textContent(), { timeout: 30_000 })
      .toContain('not-alices-phone');

    await banner.locator('button', { hasText: 'I understand' }).click();
    await banner.waitFor({ state: 'detached', timeout: 10_000 });
    // Still counted, with no alert left to point at.
    await expect
      .poll(() => keyLog.getAttribute('aria-label'), { timeout: 10_000 })
      .toMatch(checked(index + 1, '1 unexpected'));
    // An acknowledged alert stays gone after a reload. The marker: a device forged now is
    // reported after the page has read its kept alerts (both go through one queue per store),
    // so once it shows, the acknowledged one would show beside it had it been kept.
    const second = await forgeDevice('alice', 'second-forged-phone');
    await page.reload();
    await expect
      .poll(() => banner.textContent(), { timeout: 30_000 })
      .toContain('second-forged-phone');
    expect(await banner.textContent()).not.toContain('not-alices-phone');
    await expect
      .poll(() => keyLog.getAttribute('aria-label'), { timeout: 10_000 })
      .toMatch(checked(second + 1, '2 unexpected — see the alert'));
  });
});
