/**
 * Encryption at rest in the browser (issue 15), in Chromium against a real embedded server:
 * after a conversation, every object store of Alice's IndexedDB, read with the raw IndexedDB
 * API as a thief of the profile would, holds no message text, no contact name, no token and
 * no key that went over the wire; and the app lock: turned on in Settings, asked for on reload,
 * a wrong passphrase refused with nothing lost, the right one opening the history, the idle
 * lock firing by itself, and turning the lock off only with the passphrase.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { secretsIn } from '../../client/test/support/raw-scan.ts';
import {
  bubble,
  launchChromium,
  newUser,
  openConversation,
  send,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';

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

/** Every token and key string this page's HTTP traffic carried (login responses, key uploads). */
function recordWireSecrets(page: Page): Set<string> {
  const seen = new Set<string>();
  const collect = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= 32) seen.add(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
  };
  page.on('request', (req) => {
    if (req.method() === 'PUT' && /\/v1\/devices\/[^/]+\/keys$/.test(req.url())) {
      try {
        collect(req.postDataJSON());
      } catch {
        // Not JSON: nothing to collect.
      }
    }
  });
  page.on('response', (res) => {
    if (!/\/v1\/sessions(\/refresh)?$/.test(res.url()) || !res.ok()) return;
    res.json().then(collect, () => undefined);
  });
  return seen;
}

/** Every object store of IndexedDB database `name` in `page`, keys and values, flattened to bytes. */
async function dumpDatabase(page: Page, name: string): Promise<Record<string, Uint8Array>> {
  const dump = await page.evaluate(async (db) => {
    const open = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(db);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('cannot open'));
    });
    const enc = new TextEncoder();
    const out: Record<string, number[]> = {};
    for (const store of Array.from(open.objectStoreNames)) {
      const os = open.transaction(store, 'readonly').objectStore(store);
      const read = <T>(req: IDBRequest<T[]>) =>
        new Promise<T[]>((resolve, reject) => {
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error ?? new Error('cannot read'));
        });
      const bytes: number[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string') bytes.push(...enc.encode(v), 0);
        else if (v instanceof Uint8Array) bytes.push(...v, 0);
        else if (v instanceof ArrayBuffer) bytes.push(...new Uint8Array(v), 0);
        else if (typeof v === 'number' || typeof v === 'boolean')
          bytes.push(...enc.encode(String(v)), 0);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v instanceof Map || v instanceof Set) [...v].forEach(walk);
        else if (v !== null && typeof v === 'object') {
          for (const [k, x] of Object.entries(v)) {
            bytes.push(...enc.encode(k), 0);
            walk(x);
          }
        }
      };
      walk(await read(os.getAllKeys()));
      walk(await read(os.getAll()));
      out[store] = bytes;
    }
    open.close();
    return out;
  }, name);
  return Object.fromEntries(Object.entries(dump).map(([k, v]) => [k, Uint8Array.from(v)]));
}

describe('encryption at rest in the browser', () => {
  it('leaves no message text, contact name, token or key in any IndexedDB record', async () => {
    const alice = (await newUser(browser, server.url)).page;
    const wire = recordWireSecrets(alice);
    const bob = (await newUser(browser, server.url)).page;
    await signUp(alice, 'quintessa');
    await signUp(bob, 'bartholomew');
    await startDm(alice, 'bartholomew');
    await send(alice, 'the vault code is marmalade-4471');
    await startDm(bob, 'quintessa');
    await bubble(bob, 'the vault code is marmalade-4471').waitFor({ timeout: 30_000 });
    await send(bob, 'understood, burning this note');
    await bubble(alice, 'burning this note').waitFor({ timeout: 30_000 });
    // The search index works on the sealed rows.
    await alice.goto(`${server.url}/#/search`);
    await alice.locator('search-view input').fill('marmal');
    await alice.locator('search-view', { hasText: 'marmalade-4471' }).waitFor({ timeout: 20_000 });

    const dump = await dumpDatabase(alice, 'sotto-quintessa');
    expect(wire.size, 'tokens and keys seen on the wire').toBeGreaterThan(2);
    const texts = ['marmalade-4471', 'burning this note', 'bartholomew', ...wire];
    const found = Object.entries(dump).flatMap(([store, bytes]) =>
      secretsIn(bytes, { texts, keys: [] }).map((what) => `${store}: ${what}`),
    );
    expect(found).toEqual([]);
    // The scan read the history itself (a scan of nothing proves nothing).
    expect(dump.sealedMessages?.length ?? 0).toBeGreaterThan(0);
    expect(dump.postings?.length ?? 0, 'the search index was scanned').toBeGreaterThan(0);
  });

  it('asks for the passphrase on open and when idle, keeps the history, and turns off only with it', async () => {
    const { page: alice } = await newUser(browser, server.url);
    const bob = (await newUser(browser, server.url)).page;
    await signUp(alice, 'lockeduser');
    await signUp(bob, 'lockpeer');
    await startDm(alice, 'lockpeer');
    await send(alice, 'remember the lighthouse');
    await bubble(alice, 'remember the lighthouse').waitFor({ timeout: 30_000 });

    // Settings → App lock: on, with a short idle time.
    await alice.goto(`${server.url}/#/settings`);
    const settings = alice.locator('app-lock-settings');
    await settings.getByLabel('Passphrase', { exact: true }).fill('tide pools at noon');
    await settings.getByLabel('Confirm passphrase').fill('tide pools at noon');
    await settings.getByRole('button', { name: 'Turn on app lock' }).click();
    await settings
      .getByRole('status')
      .filter({ hasText: 'App lock is on.' })
      .waitFor({ timeout: 30_000 });

    // Reload: the lock screen, not the chat.
    await alice.reload();
    const lock = alice.locator('lock-view');
    await lock.getByRole('heading', { name: 'Sotto is locked' }).waitFor({ timeout: 30_000 });
    expect(await alice.locator('conversation-list').count()).toBe(0);
    await lock.getByLabel('Passphrase').fill('tide pools at midnight');
    await lock.getByRole('button', { name: 'Unlock' }).click();
    await lock
      .getByRole('alert')
      .filter({ hasText: 'Wrong passphrase' })
      .waitFor({ timeout: 30_000 });
    await lock.getByLabel('Passphrase').fill('tide pools at noon');
    await lock.getByRole('button', { name: 'Unlock' }).click();
    await alice.locator('conversation-list').waitFor({ timeout: 30_000 });
    await openConversation(alice, 'dm:lockpeer');
    await bubble(alice, 'remember the lighthouse').waitFor({ timeout: 30_000 });

    // Idle lock: 5 s without input locks the app by itself.
    await alice.goto(`${server.url}/#/settings`);
    await settings.getByLabel('Lock after this many seconds without input').fill('5');
    await settings.getByRole('button', { name: 'Save idle time' }).click();
    await settings
      .getByRole('status')
      .filter({ hasText: 'Locks after 5 seconds' })
      .waitFor({ timeout: 30_000 });
    await lock.getByRole('heading', { name: 'Sotto is locked' }).waitFor({ timeout: 30_000 });
    await lock.getByLabel('Passphrase').fill('tide pools at noon');
    await lock.getByRole('button', { name: 'Unlock' }).click();
    await alice.locator('conversation-list').waitFor({ timeout: 30_000 });

    // Turning it off needs the passphrase (act before the idle time runs out again).
    await alice.goto(`${server.url}/#/settings`);
    await settings.getByLabel('Current passphrase').fill('not the phrase');
    await settings.getByRole('button', { name: 'Turn off app lock' }).click();
    await settings
      .getByRole('alert')
      .filter({ hasText: 'passphrase is wrong' })
      .waitFor({ timeout: 30_000 });
    await settings.getByLabel('Current passphrase').fill('tide pools at noon');
    await settings.getByRole('button', { name: 'Turn off app lock' }).click();
    await settings
      .getByRole('status')
      .filter({ hasText: 'App lock is off.' })
      .waitFor({ timeout: 30_000 });
    await alice.reload();
    await alice.locator('conversation-list').waitFor({ timeout: 30_000 });
    expect(await alice.locator('lock-view').count()).toBe(0);
    await openConversation(alice, 'dm:lockpeer');
    await bubble(alice, 'remember the lighthouse').waitFor({ timeout: 30_000 });
  });
  it('a forgotten passphrase: the lock screen names the account and removes its data here only after a confirmation', async () => {
    const { page } = await newUser(browser, server.url);
    await signUp(page, 'forgetful');
    await page.goto(`${server.url}/#/settings`);
    const settings = page.locator('app-lock-settings');
    await settings.getByLabel('Passphrase', { exact: true }).fill('a phrase soon forgotten');
    await settings.getByLabel('Confirm passphrase').fill('a phrase soon forgotten');
    await settings.getByRole('button', { name: 'Turn on app lock' }).click();
    await settings
      .getByRole('status')
      .filter({ hasText: 'App lock is on.' })
      .waitFor({ timeout: 30_000 });
    const databases = () =>
      page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    expect(await databases()).toContain('sotto-forgetful');

    await page.reload();
    const lock = page.locator('lock-view');
    await lock.getByText('forgetful’s messages').waitFor({ timeout: 30_000 });
    // Asked first; Cancel keeps everything.
    await lock.getByRole('button', { name: 'Forgot the passphrase? Use another account' }).click();
    const confirm = lock.getByRole('group', { name: 'Remove forgetful from this browser?' });
    await confirm.getByText('deletes them from this browser for good').waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await confirm.count()).toBe(0);
    expect(await databases()).toContain('sotto-forgetful');

    await lock.getByRole('button', { name: 'Forgot the passphrase? Use another account' }).click();
    await confirm.getByRole('button', { name: 'Remove forgetful from this browser' }).click();
    await page.locator('auth-view').waitFor({ timeout: 30_000 });
    expect(await databases()).not.toContain('sotto-forgetful');
    // The account stays: its password is still right, and this browser is now a new one that
    // another device links (or an identity reset replaces).
    await page.reload();
    await page.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
    await page.locator('auth-view input[name=username]').fill('forgetful');
    await page.locator('auth-view input[name=password]').fill('correct horse battery');
    await page.locator('auth-view button[type=submit]').click();
    await page
      .locator('auth-view')
      .getByRole('button', { name: 'Link from your other device' })
      .waitFor({ timeout: 30_000 });
    expect(await page.locator('lock-view').count()).toBe(0);
  });
});
