/**
 * "Continue as guest" in the browser (issue 17, real embedded server, Chromium). Alice (an
 * engine in Node) runs a room and makes an invite link. A visitor opens the link signed out: the
 * sign-in screen says it is an invite, "Continue as guest" makes a `guest_…` account and stays on
 * the invite, one click joins. The guest reads Alice's next message and posts one she receives;
 * the app says it is a guest account that expires. A guest has no "New group", and a forced
 * group creation is answered with a sentence, not a raw code. Upgrading with a password removes
 * the notice; after logging out, logging in with the guest's name and that password brings the
 * room and its history back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { inviteFragment, type SottoClient } from '@sotto/client';
import {
  bubble,
  go,
  launchChromium,
  newUser,
  nodeEngine,
  send,
  shot,
  startServer,
  type TestServer,
} from './harness.ts';
import { waitFor } from '../support/ports.ts';

const PW = 'correct horse battery';
let server: TestServer;
let browser: Browser;
const engines: SottoClient[] = [];

async function engine(username: string): Promise<SottoClient> {
  const c = nodeEngine(server);
  engines.push(c);
  await c.register(username, PW);
  await c.start();
  return c;
}

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
});

afterAll(async () => {
  for (const e of engines) await e.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

describe('guests in the web client', () => {
  it('joins by invite link as a guest, talks, cannot create rooms, upgrades and logs back in', async () => {
    const alice = await engine('alice');
    await engine('bob');
    const groupId = await alice.groups.create('Open mic', ['bob']);
    const conversation = `group:${groupId}`;
    const invite = await alice.groups.createInvite(groupId, { maxUses: 5 });

    const { page } = await newUser(browser, server.url);
    page.on('dialog', (d) => void d.accept());
    await go(page, inviteFragment(groupId, invite.secret));
    await page.locator('auth-view [data-invite-note]').waitFor({ timeout: 20_000 });
    await page.getByLabel('Your name as a guest (optional)').fill('Visitor Vic');
    await page.getByRole('button', { name: 'Continue as guest' }).click();

    // Signed in as a guest, still on the invite: the room is shown with its Join button.
    await page.locator('join-room [data-room-name]', { hasText: 'Open mic' }).waitFor({
      timeout: 30_000,
    });
    const notice = page.locator('guest-banner [data-guest-notice]');
    await notice.waitFor({ timeout: 20_000 });
    expect(await notice.textContent()).toContain('Guest account — expires after 24 h without use');
    const me = (await page.locator('conversation-list .me').textContent())!.replace(/^·\s*/, '');
    expect(me).toMatch(/^guest_[0-9a-f]{8}$/);
    await page.getByRole('button', { name: 'Join Open mic' }).click();
    await page.locator('conversation-view h2', { hasText: 'Open mic' }).waitFor({
      timeout: 30_000,
    });

    await waitFor(
      async () => (await alice.store.getGroup(groupId))?.members.includes(me) ?? false,
      { timeoutMs: 20_000, what: 'alice adopts the guest’s join' },
    );
    await alice.sendText(conversation, 'welcome, guest');
    await bubble(page, 'welcome, guest').waitFor({ timeout: 30_000 });
    await send(page, 'thanks from the guest');
    await waitFor(
      async () =>
        (await alice.store.listMessages(conversation)).some(
          (m) => m.sender === me && m.body.text === 'thanks from the guest',
        ),
      { timeoutMs: 30_000, what: 'alice receives the guest’s post' },
    );
    // The display name chosen on the way in reached the room as the guest's encrypted profile.
    await waitFor(async () => (await alice.profile.of(me))?.displayName === 'Visitor Vic', {
      timeoutMs: 30_000,
      what: 'alice sees the guest’s display name',
    });
    await shot(page, 'guest-join');

    // No "New group" for a guest; a forced creation gets the sentence, not GUEST_NOT_ALLOWED.
    expect(
      await page.locator('conversation-list').getByRole('button', { name: 'New group' }).count(),
    ).toBe(0);
    await page
      .locator('conversation-list')
      .evaluate((el) => ((el as unknown as { _form: string })._form = 'group'));
    await page.getByRole('textbox', { name: 'Group name' }).fill('Not allowed');
    await page
      .locator('conversation-list form[aria-label="New group"] button[type=submit]')
      .click();
    const refused = page.locator('conversation-list [role=alert]');
    await refused.waitFor({ timeout: 20_000 });
    expect(await refused.textContent()).toContain('Guest accounts cannot do that');

    // Upgrade with a password: the notice goes, the account is a full one on the key server.
    await page.getByRole('button', { name: 'Upgrade to a full account' }).click();
    await page.getByLabel('New password (at least 8 characters)').fill('short');
    await page.getByRole('button', { name: 'Set password and upgrade' }).click();
    await page.locator('guest-banner [role=alert]').waitFor();
    await page.getByLabel('New password (at least 8 characters)').fill(PW);
    await page.getByRole('button', { name: 'Set password and upgrade' }).click();
    await page.locator('guest-banner [data-guest-upgraded]').waitFor({ timeout: 20_000 });
    expect(await notice.count()).toBe(0);
    expect((await alice.http.getUser(me)).guest).toBeUndefined();

    // Log out and back in with the guest's name and the new password: the history is there.
    await go(page, '#/settings');
    await page.locator('settings-view button.danger', { hasText: 'Log out' }).click();
    await page.locator('auth-view').waitFor({ timeout: 20_000 });
    await page.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
    await page.locator('auth-view input[name=username]').fill(me);
    await page.locator('auth-view input[name=password]').fill(PW);
    await page.locator('auth-view button[type=submit]').click();
    await page.locator('conversation-list').waitFor({ timeout: 30_000 });
    await go(page, `#/c/${encodeURIComponent(conversation)}`);
    await bubble(page, 'welcome, guest').waitFor({ timeout: 20_000 });
    await bubble(page, 'thanks from the guest').waitFor();
    expect(await page.locator('guest-banner [data-guest-notice]').count()).toBe(0);
  });

  it('upgrades under a chosen username: the form checks it, the room follows, the app reloads as it', async () => {
    const carol = await engine('carol');
    const groupId = await carol.groups.create('Book club', []);
    const invite = await carol.groups.createInvite(groupId, { maxUses: 5 });
    const { page } = await newUser(browser, server.url);
    await go(page, inviteFragment(groupId, invite.secret));
    await page.getByRole('button', { name: 'Continue as guest' }).click();
    await page.getByRole('button', { name: 'Join Book club' }).click({ timeout: 30_000 });
    await page.locator('conversation-view h2', { hasText: 'Book club' }).waitFor({
      timeout: 30_000,
    });
    const guestName = (await page.locator('conversation-list .me').textContent())!.replace(
      /^·\s*/,
      '',
    );
    await page.getByRole('button', { name: 'Upgrade to a full account' }).click();
    const username = page.getByLabel('Username (leave empty to keep your guest name)');
    await username.fill('carol');
    await page.getByLabel('New password (at least 8 characters)').fill(PW);
    await page.getByRole('button', { name: 'Set password and upgrade' }).click();
    const alert = page.locator('guest-banner [role=alert]');
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.textContent()).toContain('That username is taken');
    await username.fill('vera_reads');
    await page.getByRole('button', { name: 'Set password and upgrade' }).click();
    // The page reloads under the new name, with the room and without the guest notice.
    await page
      .locator('conversation-list .me', { hasText: 'vera_reads' })
      .waitFor({ timeout: 30_000 });
    await waitFor(
      async () => (await carol.store.getGroup(groupId))?.members.includes('vera_reads') ?? false,
      { timeoutMs: 30_000, what: 'carol’s room names vera_reads' },
    );
    expect((await carol.store.getGroup(groupId))?.members).not.toContain(guestName);
    await carol.sendText(`group:${groupId}`, 'hello vera');
    await go(page, `#/c/${encodeURIComponent(`group:${groupId}`)}`);
    await bubble(page, 'hello vera').waitFor({ timeout: 30_000 });
    await page
      .locator('conversation-view', { hasText: `${guestName} is now vera_reads` })
      .waitFor();
    expect(await page.locator('guest-banner [data-guest-notice]').count()).toBe(0);
    await shot(page, 'guest-rename');
  });
});
