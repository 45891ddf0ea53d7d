/**
 * The Administration page in Chromium (issue 17; real embedded server): Olga is an operator;
 * Carol (an engine in Node) reports a message Mallory sent her. The report reaches Olga's
 * browser end-to-end encrypted and the page shows the reported message with its sender, paired
 * with the server's record; Olga bans Mallory from the page: Mallory's engine is signed out,
 * her login is refused, and the moderation log says who did it. A non-operator's page says it
 * is for operators only. Screenshot: docs/screenshots/admin.png (SCREENSHOTS=1).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser } from 'playwright-core';
import { createClient, createMemoryStore, type SottoClient } from '@sotto/client';
import { createSqliteStore } from '@sotto/server-core/store';
import { waitFor } from '../support/ports.ts';
import {
  go,
  launchChromium,
  newUser,
  shot,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';

const PW = 'correct horse battery';
let server: TestServer;
let browser: Browser;
const engines: SottoClient[] = [];

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
}, 600_000); // builds the web client first when its sources changed
afterAll(async () => {
  for (const e of engines) await e.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

function engine(): SottoClient {
  const e = createClient({
    store: createMemoryStore(),
    http: { baseUrl: server.url },
    mqttConnect: (o) => mqtt.connect(server.mqttUrl!, { ...o, reconnectPeriod: 200 }),
  });
  engines.push(e);
  return e;
}

/** What `npm run admin`/`--create-operator` does for an existing account, on the server's store. */
async function makeOperator(username: string): Promise<void> {
  const store = createSqliteStore({ filename: join(server.dataDir, 'keyserver.db') });
  try {
    expect(await store.setOperator(username, true)).toBe(true);
  } finally {
    await store.close();
  }
}

describe('Administration page', () => {
  it('shows an end-to-end encrypted report to the operator, who bans the reported user from it', async () => {
    const { page } = await newUser(browser, server.url);
    await signUp(page, 'olga', PW);
    await makeOperator('olga');

    const carol = engine();
    const mallory = engine();
    await carol.register('carol', PW);
    await mallory.register('mallory', PW);
    await carol.start();
    await mallory.start();
    const got: string[] = [];
    carol.on('message', (m) => got.push(m.id));
    const spam = await mallory.sendText('dm:carol', 'send me your password');
    await waitFor(() => got.includes(spam.id), { what: 'carol receives the message' });
    const sent = await carol.safety.report('dm:mallory', [spam.id], 'phishing');
    expect(sent.operators).toEqual(['olga']);

    await go(page, '#/admin');
    const report = page.locator(`admin-view li[data-report="${sent.reportId}"]`);
    // The page reads the reports when opened; the encrypted copy may arrive a moment later.
    await waitFor(
      async () => {
        if ((await report.locator('blockquote').count()) > 0) return true;
        await page
          .locator('admin-view')
          .evaluate((el) => (el as unknown as { reload(): Promise<void> }).reload());
        return false;
      },
      { timeoutMs: 30_000, what: 'the reported message on the Administration page' },
    );
    await expect(
      report.locator(`blockquote[data-reported-message="${spam.id}"]`).textContent(),
    ).resolves.toContain('send me your password');
    expect(await report.textContent()).toContain('carol reported mallory in a direct message');
    expect(await report.textContent()).toContain('phishing');
    await shot(page, 'admin');

    const signedOut = new Promise<void>((resolve) =>
      mallory.on('connection', (c) => {
        if (c.state !== 'online' && c.state !== 'connecting') resolve();
      }),
    );
    await report.getByRole('button', { name: 'Ban mallory' }).click();
    await page.locator('admin-view li[data-ban="mallory"]').waitFor({ timeout: 20_000 });
    await page.locator('admin-view ol[data-log] li', { hasText: 'olga · ban · mallory' }).waitFor();
    await page
      .locator('admin-view ol[data-log] li', { hasText: 'olga · report-actioned' })
      .waitFor();
    await Promise.race([
      signedOut,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('mallory stayed online')), 10_000),
      ),
    ]);
    const login = await fetch(`${server.url}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'mallory', password: PW }),
    });
    expect(login.status).toBe(403);
    expect(((await login.json()) as { error: string }).error).toBe('ACCOUNT_BANNED');
  });

  it('tells a user who is not an operator that the page is not for them', async () => {
    const { page } = await newUser(browser, server.url);
    await signUp(page, 'dave', PW);
    await go(page, '#/admin');
    await page
      .locator('admin-view [role=status]', {
        hasText: 'Only server operators can open Administration.',
      })
      .waitFor({ timeout: 20_000 });
    expect(await page.locator('admin-view form').count()).toBe(0);
  });
});
