/**
 * What people use every day in a messenger, in Chromium against a real embedded server
 * (issue 22): addresses as links (no opener, no referrer; a look-alike address is confirmed
 * with its full form first), drafts per conversation that survive a reload, and the keyboard —
 * Ctrl+K switcher, ↑ to edit the last own message, Escape to cancel, Alt+↑/↓ between chats.
 * Bob's messages come from another browser profile, as a contact's would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Dialog, Page } from 'playwright-core';
import {
  bubble,
  launchChromium,
  newUser,
  notifications,
  openConversation,
  recordNotifications,
  send,
  setHidden,
  shot,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';

let server: TestServer;
let browser: Browser;
let alice: Page;
let bob: Page;
let carol: Page;
/** What Alice's page asked with confirm(), and how the test answers. */
const dialogs: string[] = [];
let acceptDialogs = true;

const composer = (p: Page) => p.locator('conversation-view chat-composer textarea');
const hash = (p: Page) => p.evaluate(() => decodeURIComponent(location.hash));

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  bob = (await newUser(browser, server.url)).page;
  alice.on('dialog', (d: Dialog) => {
    dialogs.push(d.message());
    void (acceptDialogs ? d.accept() : d.dismiss());
  });
  await signUp(alice, 'alice');
  await signUp(bob, 'bob');
  // Carol writes first, so Alice has a conversation with her in the list (and after reloads).
  carol = (await newUser(browser, server.url)).page;
  await signUp(carol, 'carol');
  await startDm(carol, 'alice');
  await send(carol, 'Hi Alice, Carol here');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('links, drafts and the keyboard', () => {
  it('makes addresses links without opener or referrer, and shows a look-alike one in full before it opens', async () => {
    await startDm(bob, 'alice');
    await send(
      bob,
      'Docs at https://example.com/guide?x=1. Log in at https://xn--pypal-4ve.com/login now',
    );
    await openConversation(alice, 'dm:bob');
    const b = bubble(alice, 'Docs at');
    await b.waitFor({ timeout: 30_000 });
    const links = b.locator('a[data-link]');
    expect(await links.count()).toBe(2);
    await shot(alice, 'links-desktop');
    expect(await links.nth(0).getAttribute('href')).toBe('https://example.com/guide?x=1');
    expect(await links.nth(0).textContent()).toBe('https://example.com/guide?x=1');
    for (const i of [0, 1]) {
      expect((await links.nth(i).getAttribute('rel'))?.split(' ').sort()).toEqual([
        'noopener',
        'noreferrer',
      ]);
      expect(await links.nth(i).getAttribute('target')).toBe('_blank');
    }
    // The look-alike address: the user sees its full form and says no; nothing opens.
    acceptDialogs = false;
    const pages = alice.context().pages().length;
    await links.nth(1).click();
    await expect.poll(() => dialogs.length, { timeout: 10_000 }).toBe(1);
    expect(dialogs[0]).toContain('https://xn--pypal-4ve.com/login');
    // A round trip through the page: a tab the click opened would exist by now.
    await alice.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    expect(alice.context().pages().length).toBe(pages);
    acceptDialogs = true;
    // A plain address opens without asking.
    await links.nth(0).evaluate((a) => a.addEventListener('click', (e) => e.preventDefault()));
    await links.nth(0).click();
    expect(dialogs).toHaveLength(1);
  });

  it('keeps a draft per conversation across switching and a reload', async () => {
    await openConversation(alice, 'dm:carol');
    await bubble(alice, 'Carol here').waitFor({ timeout: 30_000 });
    await composer(alice).fill('');
    await composer(alice).pressSequentially('half a thought for Carol');
    await openConversation(alice, 'dm:bob');
    await expect.poll(() => composer(alice).inputValue()).toBe('');
    await composer(alice).pressSequentially('draft for Bob');
    await openConversation(alice, 'dm:carol');
    await expect
      .poll(() => composer(alice).inputValue(), { timeout: 10_000 })
      .toBe('half a thought for Carol');
    await alice.reload();
    await alice.locator('conversation-view').waitFor({ timeout: 30_000 });
    await expect
      .poll(() => composer(alice).inputValue(), { timeout: 20_000 })
      .toBe('half a thought for Carol');
    await openConversation(alice, 'dm:bob');
    await expect
      .poll(() => composer(alice).inputValue(), { timeout: 10_000 })
      .toBe('draft for Bob');
    // Sending clears the draft: after a reload the box is empty.
    await composer(alice).press('Enter');
    await bubble(alice, 'draft for Bob').waitFor({ timeout: 20_000 });
    await alice.reload();
    await alice.locator('conversation-view').waitFor({ timeout: 30_000 });
    await bubble(alice, 'draft for Bob').waitFor({ timeout: 20_000 });
    expect(await composer(alice).inputValue()).toBe('');
  });

  it('edits the last own message with ↑ and cancels with Escape', async () => {
    await composer(alice).focus();
    await composer(alice).press('ArrowUp');
    await expect
      .poll(() => composer(alice).inputValue(), { timeout: 10_000 })
      .toBe('draft for Bob');
    await composer(alice).press('Escape');
    await expect.poll(() => composer(alice).inputValue()).toBe('');
    expect(await alice.locator('conversation-view chat-composer .context').count()).toBe(0);
    await composer(alice).press('ArrowUp');
    await expect.poll(() => composer(alice).inputValue()).toBe('draft for Bob');
    await composer(alice).fill('a draft for Bob, edited');
    await composer(alice).press('Enter');
    await expect
      .poll(() => bubble(bob, 'a draft for Bob, edited').count(), { timeout: 20_000 })
      .toBe(1);
  });

  it('switches conversations with Ctrl+K and with Alt+↑/↓', async () => {
    await alice.keyboard.press('Control+k');
    const dialog = alice.getByRole('dialog', { name: 'Switch conversation' });
    await dialog.waitFor({ timeout: 5_000 });
    const input = dialog.getByRole('combobox', { name: 'Conversation name' });
    expect(await input.evaluate((el) => el.matches(':focus'))).toBe(true);
    await alice.keyboard.type('car');
    await shot(alice, 'switcher-desktop');
    expect(await dialog.getByRole('option').allTextContents()).toEqual([
      expect.stringContaining('carol'),
    ]);
    await alice.keyboard.press('Enter');
    await expect.poll(() => hash(alice), { timeout: 10_000 }).toBe('#/c/dm:carol');
    expect(await dialog.count()).toBe(0);
    // Escape closes it and stays where it was.
    await alice.keyboard.press('Control+k');
    await dialog.waitFor();
    await alice.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await hash(alice)).toBe('#/c/dm:carol');
    // Alt+↑/↓ walk the list in its order.
    const order = await alice
      .locator('conversation-list a[data-conversation]')
      .evaluateAll((as) => as.map((a) => a.getAttribute('data-conversation')));
    const at = order.indexOf('dm:carol');
    const other = order[at === 0 ? 1 : at - 1]!;
    await alice.keyboard.press(at === 0 ? 'Alt+ArrowDown' : 'Alt+ArrowUp');
    await expect.poll(() => hash(alice), { timeout: 10_000 }).toBe(`#/c/${other}`);
    await alice.keyboard.press(at === 0 ? 'Alt+ArrowUp' : 'Alt+ArrowDown');
    await expect.poll(() => hash(alice), { timeout: 10_000 }).toBe('#/c/dm:carol');
  });

  it('mutes a conversation (no notification, unread still counted) and archives one, kept across a reload', async () => {
    // A background tab that may notify: notifications allowed, the page hidden and unfocused,
    // and each Notification the page makes recorded (the real one is still made).
    await recordNotifications(alice);
    await alice.reload();
    await openConversation(alice, 'dm:bob');
    const mute = alice.locator('conversation-view conversation-actions select[data-mute]');
    await mute.selectOption('1h');
    const bobRow = alice.locator('conversation-list a[data-conversation="dm:bob"]');
    await bobRow.locator('[data-muted]').waitFor({ timeout: 10_000 });
    expect(await mute.locator('option:checked').textContent()).toMatch(/Muted until/);
    // Alice is elsewhere, the tab in the background.
    await openConversation(alice, 'dm:carol');
    await setHidden(alice, true);
    await openConversation(bob, 'dm:alice');
    await send(bob, 'Are you there, Alice?');
    await bobRow.filter({ hasText: 'Are you there' }).waitFor({ timeout: 30_000 });
    await bobRow.locator('[data-unread]').waitFor({ timeout: 10_000 });
    // The marker: an unmuted contact's message after it does notify.
    await openConversation(carol, 'dm:alice');
    await send(carol, 'Ping from Carol');
    const notes = () => notifications(alice);
    await expect
      .poll(notes, { timeout: 30_000 })
      .toContainEqual(expect.stringContaining('Ping from Carol'));
    expect((await notes()).filter((n) => n.includes('Are you there'))).toEqual([]);
    await setHidden(alice, false);

    // Archive Carol's chat: it leaves the list for the Archived section.
    await alice.locator('conversation-view conversation-actions button[data-archive]').click();
    const carolRow = alice.locator('conversation-list a[data-conversation="dm:carol"]');
    await expect.poll(() => carolRow.count(), { timeout: 10_000 }).toBe(0);
    const toggle = alice.locator('conversation-list [data-archived-toggle]');
    expect(await toggle.textContent()).toMatch(/Archived chats \(1\)/);
    // Kept across a reload, like the mute.
    await alice.reload();
    await alice.locator('conversation-list').waitFor({ timeout: 30_000 });
    await bobRow.locator('[data-muted]').waitFor({ timeout: 20_000 });
    await toggle.waitFor({ timeout: 20_000 });
    expect(await carolRow.count()).toBe(0);
    await toggle.click();
    await carolRow.waitFor();
    expect(await bobRow.count()).toBe(0);
    await shot(alice, 'archived-desktop');
    await carolRow.click();
    await alice
      .locator('conversation-view conversation-actions button[data-archive]', {
        hasText: 'Unarchive',
      })
      .click();
    await toggle.click();
    await carolRow.waitFor({ timeout: 10_000 });
    await bobRow.waitFor();
  });
});
