/**
 * Trust notices in the browser (issue 14; real embedded server, Chromium). Alice uses the web
 * client; Bob and Mallory are engines in Node (MQTT over TCP).
 *
 * - Held messages: Alice verifies Bob in contact info; Bob resets his identity and sends two
 *   messages. Her page shows "2 messages from bob are held …" and no bubble of them; Accept
 *   shows both, and Bob's new device raised no "forged sender" notice.
 * - An unverified contact (Carol) resets: a centred "Your safety number with carol changed" line
 *   whose Review button opens her safety number; the same line in the room Carol shares with
 *   Alice, still there after a reload.
 * - A forged sender: Mallory, logged in as himself, sends Alice a DM whose envelope claims to
 *   come from Bob. Alice's page shows no bubble with that text, only a quiet security notice in
 *   the conversation with Bob (and a shield on its row); Bob's real message after it is shown.
 * - A frozen group: the engine freezes a group when the key server rewrites its history (the
 *   detection is the engine's, covered by its own tests). Here Alice's stored group is marked
 *   frozen the way the engine marks it, and the page, reloaded, shows the banner and a disabled
 *   composer with the reason.
 *
 * No console errors on the page throughout. `SCREENSHOTS=1` writes
 * `docs/screenshots/{security-notice,held-messages,group-frozen}-desktop.png`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { createClient, createMemoryStore, type SottoClient } from '@sotto/client';
import { forgeDirectText } from '../../client/test/support/forge.ts';
import {
  bubble,
  go,
  launchChromium,
  newUser,
  openConversation,
  shot,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';

const PW = 'correct horse battery';

let server: TestServer;
let browser: Browser;
let alice: Page;
const engines: SottoClient[] = [];
const consoleErrors: string[] = [];

/** An engine in Node on the test server (memory store, or the one given). */
function engine(store = createMemoryStore()): SottoClient {
  const mqttUrl = server.mqttUrl!;
  const c = createClient({
    store,
    http: { baseUrl: server.url },
    mqttConnect: (o) => mqtt.connect(mqttUrl, { ...o, reconnectPeriod: 200 }),
  });
  engines.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  alice.on('console', (m) => {
    // Chromium asks every page for /favicon.ico, which the server does not have: not the app's.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) {
      consoleErrors.push(`${m.text()} (${m.location().url})`);
    }
  });
  alice.on('pageerror', (e) => consoleErrors.push(e.message));
});

afterAll(async () => {
  for (const e of engines) await e.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

const notices = (page: Page) =>
  page.locator('conversation-view security-notice-strip li[data-notice=UNLISTED_DEVICE]');
const heldBanner = (page: Page) => page.locator('conversation-view key-change-banner [data-held]');

async function openFromList(page: Page, id: string): Promise<void> {
  await go(page, '#/');
  await openConversation(page, id);
}

describe('trust notices in the web client', () => {
  it('holds a verified contact’s new messages, drops a forged sender quietly, shows a frozen group', async () => {
    await signUp(alice, 'alice', PW);
    const bobStore = createMemoryStore();
    const bob = engine(bobStore);
    await bob.register('bob', PW);
    await bob.start();
    // Mallory has an account of his own; forgeDirectText logs in with it.
    const mallory = engine();
    await mallory.register('mallory', PW);
    await mallory.close();

    // Bob writes first: Alice has a conversation with him.
    await bob.sendText('dm:alice', 'hello from the real bob');
    await openConversation(alice, 'dm:bob');
    await bubble(alice, 'hello from the real bob').waitFor({ timeout: 30_000 });

    // (b) Alice verifies Bob; after his reset his new messages are held until she accepts.
    await go(alice, `#/c/${encodeURIComponent('dm:bob')}/info`);
    await alice.locator('contact-info button', { hasText: 'Mark as verified' }).click();
    await alice.locator('contact-info [data-verified]').waitFor({ timeout: 20_000 });
    await openFromList(alice, 'dm:bob');
    await bob.resetIdentity(PW);
    await bob.sendText('dm:alice', 'held one');
    await bob.sendText('dm:alice', 'held two');
    await expect
      .poll(() => heldBanner(alice).getAttribute('data-held'), { timeout: 30_000 })
      .toBe('2');
    const banner = heldBanner(alice);
    expect((await banner.textContent())?.replace(/\s+/g, ' ')).toContain(
      '2 messages from bob are held because bob’s safety number changed. Review the new safety number before reading them.',
    );
    expect(await bubble(alice, 'held one').count()).toBe(0);
    expect(await bubble(alice, 'held two').count()).toBe(0);
    expect(
      await alice.locator('conversation-view chat-composer [role=status]').textContent(),
    ).toContain('review the new safety number');
    await shot(alice, 'held-messages-desktop');
    await banner
      .getByRole('button', { name: 'Accept bob’s new safety number and show the held messages' })
      .click();
    await bubble(alice, 'held one').waitFor({ timeout: 30_000 });
    await bubble(alice, 'held two').waitFor({ timeout: 30_000 });
    await banner.waitFor({ state: 'detached', timeout: 10_000 });
    // Bob's new device after his reset is listed for him: no "forged sender" notice about it.
    expect(await alice.locator('conversation-view security-notice-strip li').count()).toBe(0);

    // An unverified contact's key change is a line in the timeline, not a bubble or a banner.
    const carol = engine();
    await carol.register('carol', PW);
    await carol.start();
    await carol.sendText('dm:alice', 'hi from carol');
    await openFromList(alice, 'dm:carol');
    await bubble(alice, 'hi from carol').waitFor({ timeout: 30_000 });
    // Carol also shares a room with Alice: the change is a line there too (issue 17).
    const carolsRoom = await carol.groups.create('Carol’s room', ['alice']);
    await carol.sendText(`group:${carolsRoom}`, 'hi room');
    await openFromList(alice, `group:${carolsRoom}`);
    await bubble(alice, 'hi room').waitFor({ timeout: 30_000 });
    await openFromList(alice, 'dm:carol');
    await carol.resetIdentity(PW);
    await carol.sendText('dm:alice', 'carol after her reset');
    await bubble(alice, 'carol after her reset').waitFor({ timeout: 30_000 });
    const line = alice.locator('conversation-view [role=note]');
    await line.waitFor({ timeout: 20_000 });
    expect((await line.textContent())?.replace(/\s+/g, ' ')).toContain(
      'Your safety number with carol changed',
    );
    await line.getByRole('button', { name: 'Review safety number with carol' }).click();
    await alice.locator('contact-info [data-safety]').waitFor({ timeout: 20_000 });
    // The same line in the room they share, still there after a reload (kept with the history).
    await alice.reload();
    await openFromList(alice, `group:${carolsRoom}`);
    await alice
      .locator('conversation-view [role=note]', {
        hasText: 'Your safety number with carol changed',
      })
      .waitFor({ timeout: 20_000 });
    await openFromList(alice, 'dm:bob');

    // (a) A forged message "from Bob" is dropped with a quiet notice; Bob's real ones show.
    const forgedText = 'forged: please send me your password';
    await forgeDirectText({
      httpUrl: server.url,
      mqttUrl: server.mqttUrl!,
      attacker: { username: 'mallory', password: PW },
      victim: 'alice',
      claimAs: 'bob',
      text: forgedText,
    });
    await notices(alice).waitFor({ timeout: 30_000 });
    expect((await notices(alice).textContent())?.replace(/\s+/g, ' ')).toContain(
      'A message claiming to be from bob was dropped: it came from a device that is not in bob’s key directory.',
    );
    await bob.sendText('dm:alice', 'second real message');
    await bubble(alice, 'second real message').waitFor({ timeout: 30_000 });
    expect(await bubble(alice, forgedText).count()).toBe(0);
    expect(await alice.locator('conversation-view', { hasText: forgedText }).count()).toBe(0);
    // The chat list marks the conversation; the forged text is nowhere, not even as a preview.
    const row = alice.locator('conversation-list a[data-conversation="dm:bob"]');
    expect(await row.locator('[data-security-notice]').textContent()).toContain('Security notice');
    expect(await alice.locator('conversation-list', { hasText: forgedText }).count()).toBe(0);
    // The open conversation marks Bob's message read (the badge would otherwise be in the picture).
    // The row shows the arrival first (the list reloads at most four times a second), so the
    // unread check below is about this message, not a list not yet reloaded.
    await expect
      .poll(() => row.textContent(), { timeout: 30_000 })
      .toContain('second real message');
    await expect.poll(() => row.locator('[data-unread]').count(), { timeout: 10_000 }).toBe(0);
    await shot(alice, 'security-notice-desktop');
    await notices(alice).getByRole('button', { name: 'Dismiss security notice' }).click();
    await notices(alice).waitFor({ state: 'detached', timeout: 10_000 });

    // (c) A frozen group: Bob makes one with Alice; her stored record is then marked frozen as
    // the engine marks it when the key server rewrites the group's history. Her records are
    // sealed (a changed one would not open), so the frozen record — Bob's copy of the group,
    // marked — goes in as the clear row of a database from before encryption at rest, which
    // her store seals over the one it holds when the page next opens it (PROTOCOL.md §14).
    const groupId = await bob.groups.create('Team', ['alice']);
    await bob.sendText(`group:${groupId}`, 'welcome to the team');
    await openFromList(alice, `group:${groupId}`);
    await bubble(alice, 'welcome to the team').waitFor({ timeout: 30_000 });
    const group = (await bobStore.getGroup(groupId))!;
    const frozenRecord = {
      ...group,
      chain: group.chain.map((r) => Array.from(r)),
      frozen: { reason: 'forked', at: Date.now() },
    };
    await alice.evaluate(
      (record) =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open('sotto-alice');
          open.onerror = () => reject(new Error('cannot open sotto-alice'));
          open.onsuccess = () => {
            const db = open.result;
            const tx = db.transaction(['groups', 'storageKey'], 'readwrite');
            tx.objectStore('groups').put({
              ...record,
              chain: record.chain.map((r) => Uint8Array.from(r)),
            });
            tx.objectStore('storageKey').delete('legacy-sealed');
            tx.oncomplete = () => {
              db.close();
              resolve();
            };
            tx.onerror = () => reject(new Error('cannot mark the group frozen'));
          };
        }),
      frozenRecord,
    );
    await alice.reload();
    await alice.locator('conversation-view').waitFor({ timeout: 30_000 });
    const frozen = alice.locator('conversation-view group-frozen-banner [role=alert]');
    await frozen.waitFor({ timeout: 30_000 });
    expect((await frozen.textContent())?.replace(/\s+/g, ' ')).toContain(
      'This group’s history was rewritten by the server. The group is frozen: nothing is sent to it.',
    );
    expect(await alice.locator('conversation-view chat-composer textarea').count()).toBe(0);
    expect(
      await alice.locator('conversation-view chat-composer [role=status]').textContent(),
    ).toContain('Sending is off');
    await bubble(alice, 'welcome to the team').waitFor({ timeout: 20_000 });
    await shot(alice, 'group-frozen-desktop');

    expect(consoleErrors).toEqual([]);
  });
});
