/**
 * Profiles in the browser (issue 22; docs/WEB.md "Profiles"): Alice sets her display name and a
 * picture in Settings → Profile (cropped and resized on a canvas, sent encrypted); Bob, after a
 * reload, sees them in his chat list, the DM header, her group bubble and the group's member
 * list. Mallory, an engine in Node that names herself "alice", is shown with her own username
 * and a look-alike warning everywhere, and her safety-number screen names her username; her
 * "picture", an SVG declared as PNG, is never shown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import type { SottoClient } from '@sotto/client';
import {
  bubble,
  go,
  launchChromium,
  newUser,
  nodeUser,
  openConversation,
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
let alice: Page;
let bob: Page;
let carol: SottoClient;
let mallory: SottoClient;
let groupId = '';

/** A 400×300 PNG drawn in the page (a photo stand-in: sky, sun, hill). */
async function picture(page: Page): Promise<Buffer> {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 400;
    c.height = 300;
    const g = c.getContext('2d')!;
    g.fillStyle = '#7cc4ff';
    g.fillRect(0, 0, 400, 300);
    g.fillStyle = '#ffd23f';
    g.beginPath();
    g.arc(200, 120, 70, 0, Math.PI * 2);
    g.fill();
    g.fillStyle = '#3a9d5d';
    g.fillRect(0, 220, 400, 80);
    return c.toDataURL('image/png').split(',')[1]!;
  });
  return Buffer.from(b64, 'base64');
}

/** The visible text of `locator`'s first match, white space collapsed. */
async function textOf(page: Page, selector: string): Promise<string> {
  const t = await page.locator(selector).first().textContent({ timeout: 20_000 });
  return (t ?? '').replace(/\s+/g, ' ').trim();
}

/** The first picture under `where` has loaded from a blob URL. */
async function pictureShown(where: Locator): Promise<void> {
  const img = where.locator('img[data-avatar-img]').first();
  await img.waitFor({ timeout: 30_000 });
  await expect
    .poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth), {
      timeout: 10_000,
    })
    .toBe(256);
  expect(await img.getAttribute('src')).toMatch(/^blob:/);
}

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  await signUp(alice, 'alice', PW);
  bob = (await newUser(browser, server.url)).page;
  await signUp(bob, 'bob', PW);
  carol = await nodeUser(server, 'carol');
  mallory = await nodeUser(server, 'mallory');
});

afterAll(async () => {
  await carol?.close().catch(() => undefined);
  await mallory?.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

describe('profiles', () => {
  it("shows alice's name and picture to bob in the list, header, group bubble and member list", async () => {
    await startDm(alice, 'bob');
    await send(alice, 'hi bob');
    groupId = await carol.groups.create('Tea', ['alice', 'bob']);

    await go(alice, '#/settings');
    const form = alice.locator('profile-settings');
    await form.getByRole('textbox', { name: 'Display name' }).fill('Alice Liddell');
    const chooser = alice.waitForEvent('filechooser');
    await form.getByRole('button', { name: 'Change profile picture' }).click();
    await (
      await chooser
    ).setFiles({ name: 'me.png', mimeType: 'image/png', buffer: await picture(alice) });
    await form.locator('canvas[data-avatar-preview]').waitFor();
    await form.getByRole('slider', { name: 'Zoom the picture' }).evaluate((r: HTMLInputElement) => {
      r.value = '1.5';
      r.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await shot(alice, 'profile-settings');
    await form.getByRole('button', { name: 'Save profile' }).click();
    await form.locator('[data-profile-status]').waitFor({ timeout: 30_000 });
    await pictureShown(form);

    await openConversation(alice, `group:${groupId}`);
    await send(alice, 'hello tea');

    await bob.reload();
    const row = `conversation-list a[data-conversation="dm:alice"]`;
    await expect
      .poll(() => textOf(bob, `${row} .title`), { timeout: 30_000 })
      .toMatch(/^Alice Liddell @alice/);
    await pictureShown(bob.locator(row));

    await openConversation(bob, 'dm:alice');
    expect(await textOf(bob, 'conversation-header h2')).toMatch(/^Alice Liddell @alice/);
    await pictureShown(bob.locator('conversation-header'));

    await openConversation(bob, `group:${groupId}`);
    const b = bubble(bob, 'hello tea');
    await b.waitFor({ timeout: 30_000 });
    expect((await b.locator('.sender').textContent())?.replace(/\s+/g, ' ')).toMatch(
      /Alice Liddell @alice/,
    );
    await pictureShown(b.locator('.sender'));

    await go(bob, `#/c/${encodeURIComponent(`group:${groupId}`)}/info`);
    const member = 'group-settings li[data-member="alice"]';
    expect(await textOf(bob, `${member} .name`)).toMatch(/^Alice Liddell @alice/);
    await pictureShown(bob.locator(member));
  });

  it('shows mallory, who names herself "alice", with her username and a look-alike flag', async () => {
    // Her "picture" is an SVG with script, declared as PNG: never decoded or shown.
    const svg = new TextEncoder().encode(
      '<svg xmlns="http://www.w3.org/2000/svg"><script>parent.pwned = 1</script></svg>',
    );
    await mallory.profile.set({
      displayName: 'alice',
      avatar: { data: svg, mime: 'image/png', width: 1, height: 1 },
    });
    await mallory.sendText('dm:bob', 'hi, it is alice on a new account');
    await go(bob, '#/');
    const row = `conversation-list a[data-conversation="dm:mallory"]`;
    await expect
      .poll(() => textOf(bob, `${row} .title`), { timeout: 30_000 })
      .toMatch(/^alice @mallory ⚠ not @alice/);
    expect(await bob.locator(`${row} [data-lookalike]`).getAttribute('data-lookalike')).toBe(
      'alice',
    );
    // The name and the picture load together: by now the SVG was judged, and it is initials.
    expect(await bob.locator(`${row} img`).count()).toBe(0);
    expect(await textOf(bob, `${row} .avatar`)).toBe('A');

    await openConversation(bob, 'dm:mallory');
    const header = await textOf(bob, 'conversation-header h2');
    expect(header).toMatch(/^alice @mallory ⚠ not @alice/);
    expect(await bob.locator('conversation-header .avatar img').count()).toBe(0);
    // The safety-number screen names the username, never the display name.
    await go(bob, `#/c/${encodeURIComponent('dm:mallory')}/info`);
    expect(await textOf(bob, 'contact-info [data-contact-username]')).toBe('mallory');
    expect(await textOf(bob, 'contact-info [data-contact-display-name]')).toBe(
      'Calls themselves “alice” ⚠ not @alice',
    );
    expect(await textOf(bob, 'contact-info p.narrow')).toMatch(
      /^Compare these numbers with mallory /,
    );
  });
});
