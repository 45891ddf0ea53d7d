/**
 * Group changes, invites and moderation in the web client (issue 17; real embedded server,
 * Chromium). Alice and Bob use browsers; Carol, Dave, Erin, Mallory and the operator Olga are
 * engines in Node.
 *
 * - Every signed membership change (create, remove, promote, invite, join by link, revoke,
 *   policy, leave) is a centred line in every member's conversation, still there after a
 *   reload; a record the key server serves that does not verify (Alice's name and key, a
 *   signature her key never made) leaves no line.
 * - Remove and Leave ask first in a dialog naming the person or group; Cancel changes nothing.
 * - The group header counts who is online.
 * - Admins make, copy, list and revoke invite links.
 * - Block / Unblock from the conversation header (confirmed, "You blocked mallory") and Report
 *   of a message, which reaches the operator's device end-to-end encrypted.
 * Screenshot: docs/screenshots/group-lines.png (SCREENSHOTS=1).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { createClient, createMemoryStore, parseInviteLink, type SottoClient } from '@sotto/client';
import {
  MEMBERSHIP_RECORD_VERSION,
  encodeMembershipRecord,
  fromBase64,
  generateUserIdentity,
  ready,
  signMembershipRecord,
  toBase64,
  verifyMembershipChain,
} from '@sotto/crypto';
import { createSqliteStore } from '@sotto/server-core/store';
import { waitFor } from '../support/ports.ts';
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
import { seriousViolations } from './axe.ts';

const PW = 'correct horse battery';
let server: TestServer;
let browser: Browser;
let alice: Page;
let bob: Page;
let carol: SottoClient;
let dave: SottoClient;
let groupId = '';
const engines: SottoClient[] = [];

function engine(): SottoClient {
  const e = createClient({
    store: createMemoryStore(),
    http: { baseUrl: server.url },
    mqttConnect: (o) => mqtt.connect(server.mqttUrl!, { ...o, reconnectPeriod: 200 }),
  });
  engines.push(e);
  return e;
}

async function started(name: string): Promise<SottoClient> {
  const e = engine();
  await e.register(name, PW);
  await e.start();
  return e;
}

/** The group lines shown in `page`'s open conversation. */
function lines(page: Page) {
  return page.locator('conversation-view message-list [data-notice=group]');
}

/** Wait until `page`'s open conversation shows the line `text`. */
async function line(page: Page, text: string): Promise<void> {
  await lines(page).filter({ hasText: text }).first().waitFor({ timeout: 30_000 });
}

beforeAll(async () => {
  await ready();
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  bob = (await newUser(browser, server.url)).page;
  await signUp(alice, 'alice', PW);
  await signUp(bob, 'bob', PW);
  carol = await started('carol');
  dave = await started('dave');
}, 600_000); // builds the web client first when its sources changed

afterAll(async () => {
  for (const e of engines) await e.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

describe('group changes in the timeline', () => {
  it('shows each signed change as a line for every member, asks before Remove, counts who is online, and runs invite links', async () => {
    await alice.locator('conversation-list button', { hasText: 'New group' }).click();
    await alice.locator('conversation-list input[name=name]').fill('Club');
    await alice.locator('conversation-list input[name=members]').fill('bob, carol, dave');
    await alice.locator('conversation-list form button[type=submit]').click();
    await alice.locator('conversation-view h2', { hasText: 'Club' }).waitFor({ timeout: 20_000 });
    groupId = decodeURIComponent(await alice.evaluate(() => location.hash)).replace('#/c/', '');
    const gid = groupId.slice('group:'.length);
    await line(alice, 'You created the group “Club”');

    await openConversation(bob, groupId);
    await line(bob, 'alice created the group “Club”');
    // Everyone is connected: Alice and Bob here, Carol and Dave's engines; then Carol goes.
    const subtitle = bob.locator('conversation-view [data-subtitle]');
    await expect
      .poll(() => subtitle.textContent(), { timeout: 30_000 })
      .toBe('4 members, 4 online');
    await carol.close();
    await expect
      .poll(() => subtitle.textContent(), { timeout: 30_000 })
      .toBe('4 members, 3 online');

    // Remove asks first, naming the person and the group; Cancel leaves Carol in.
    await alice.locator('conversation-view a[aria-label="Group settings"]').click();
    const heading = alice.locator('group-settings [data-member-count]');
    await expect
      .poll(() => heading.textContent(), { timeout: 30_000 })
      .toMatch(/4 members, 3 online/);
    const chainBefore = (await dave.store.getGroup(gid))!.chain.length;
    await alice.getByRole('button', { name: 'Remove carol', exact: true }).click();
    const ask = alice.getByRole('dialog', { name: 'Remove carol from “Club”?' });
    await ask.getByText('carol will no longer get new messages').waitFor();
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'hidden' });
    expect(await alice.locator('group-settings [data-member="carol"]').count()).toBe(1);
    await alice.getByRole('button', { name: 'Remove carol', exact: true }).click();
    await ask.getByRole('button', { name: 'Remove carol' }).click();
    await alice.locator('group-settings [data-member="carol"]').waitFor({ state: 'detached' });
    await alice.getByRole('button', { name: 'Make admin: bob' }).click();
    await alice.getByRole('button', { name: 'Remove admin: bob' }).waitFor();

    // Invite links: made with a use limit, copied, listed, used, revoked.
    await alice.context().grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: server.url,
    });
    const invites = alice.locator('group-settings group-invites');
    await invites.getByLabel('Expires after').selectOption({ label: '1 day' });
    await invites.getByLabel('Use limit (0 = none)').fill('2');
    await invites.getByRole('button', { name: 'Create invite link' }).click();
    const linkBox = invites.getByRole('textbox', { name: 'New invite link' });
    await linkBox.waitFor({ timeout: 20_000 });
    const link = await linkBox.inputValue();
    expect(link).toContain(`/#/join/${gid}/`);
    await invites.getByRole('button', { name: 'Copy link' }).click();
    await invites.getByText('Link copied.').waitFor();
    expect(await alice.evaluate(() => navigator.clipboard.readText())).toBe(link);
    const erin = await started('erin');
    const { secret } = parseInviteLink(link);
    await erin.groups.join(gid, secret);
    // The list re-reads the chain: one use of two.
    await alice.locator('group-settings a[aria-label="Back to the conversation"]').click();
    await alice.locator('conversation-view a[aria-label="Group settings"]').click();
    const item = alice.locator('group-settings group-invites li[data-live=true]');
    await expect.poll(() => item.textContent(), { timeout: 20_000 }).toMatch(/1 of 2 uses/);
    for (const scheme of ['dark', 'light'] as const) {
      await alice.emulateMedia({ colorScheme: scheme });
      expect(await seriousViolations(alice, 'group-settings'), `group settings, ${scheme}`).toEqual(
        [],
      );
    }
    await item.getByRole('button', { name: /^Revoke invite/ }).click();
    await alice.locator('group-settings group-invites li[data-live=false]').waitFor();
    await erin.groups.leave(gid);

    for (const text of [
      'alice removed carol',
      'alice made bob an admin',
      'alice set joining to: anyone with an invite link',
      'alice created an invite link',
      'erin joined with an invite link',
      'alice revoked an invite link',
      'erin left',
    ])
      await line(bob, text);
    await alice.locator('group-settings a[aria-label="Back to the conversation"]').click();
    await line(alice, 'You removed carol');
    // One removal: the cancelled one wrote nothing.
    await waitFor(async () => !(await dave.store.getGroup(gid))!.members.includes('erin'), {
      timeoutMs: 20_000,
      what: 'dave adopts the last change',
    });
    // Seven records: remove, promote, policy, invite, join, revoke, leave — no second removal.
    expect((await dave.store.getGroup(gid))!.chain.length).toBe(chainBefore + 7);
    expect(await lines(bob).filter({ hasText: 'removed carol' }).count()).toBe(1);
    await shot(bob, 'group-lines');

    // Kept in history: after a reload the lines are read back from this browser's store.
    const shown = await lines(bob).count();
    await bob.reload();
    await openConversation(bob, groupId);
    await line(bob, 'erin left');
    expect(await lines(bob).count()).toBe(shown);
  });

  it('shows no line for a record the key server serves that does not verify, and asks before Leave', async () => {
    const gid = groupId.slice('group:'.length);
    let served = 0;
    // The key server lies to Bob: the chain plus "alice removed dave", in Alice's name with
    // her recorded key, signed by a key that is not hers.
    await bob.route(`**/v1/groups/${gid}`, async (route) => {
      if (route.request().method() !== 'GET') return route.continue();
      const res = await route.fetch();
      const body = (await res.json()) as { groupId: string; records: string[] };
      const state = verifyMembershipChain(body.records.map((r) => fromBase64(r)));
      const fake = generateUserIdentity();
      const signed = signMembershipRecord(
        {
          version: MEMBERSHIP_RECORD_VERSION,
          groupId: gid,
          seq: state.seq + 1,
          prevHash: state.head,
          actor: { username: 'alice', uik: fake.publicKey },
          createdAt: Date.now(),
          op: 'remove',
          subject: { username: 'dave', uik: state.members.get('dave')!.uik },
        },
        fake,
      );
      const forged = {
        ...signed,
        actor: { username: 'alice', uik: state.members.get('alice')!.uik },
      };
      served++;
      await route.fulfill({
        response: res,
        json: { ...body, records: [...body.records, toBase64(encodeMembershipRecord(forged))] },
      });
    });
    // Bob (an admin now) opens the settings: the invite list fetches the chain.
    await bob.locator('conversation-view a[aria-label="Group settings"]').click();
    await bob.locator('group-settings group-invites [role=alert]').waitFor({ timeout: 20_000 });
    expect(served).toBeGreaterThan(0);
    await bob.unroute(`**/v1/groups/${gid}`);
    // The marker: real changes after the lie (Alice promotes Dave; Dave lets only admins post).
    await alice.locator('conversation-view a[aria-label="Group settings"]').click();
    await alice.getByRole('button', { name: 'Make admin: dave' }).click();
    await waitFor(async () => (await dave.store.getGroup(gid))?.admins.includes('dave') === true, {
      timeoutMs: 20_000,
      what: 'dave adopts his promotion',
    });
    await dave.groups.setPolicy(gid, { announce: true });
    await bob.locator('group-settings a[aria-label="Back to the conversation"]').click();
    await line(bob, 'dave made the room announcement-only');
    expect(await lines(bob).filter({ hasText: 'removed dave' }).count()).toBe(0);

    // Leave asks first, naming the group; Cancel keeps Bob in.
    await bob.locator('conversation-view a[aria-label="Group settings"]').click();
    await bob.getByRole('button', { name: 'Leave group' }).click();
    const ask = bob.getByRole('dialog', { name: 'Leave “Club”?' });
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'hidden' });
    expect(await bob.locator('group-settings [data-member="bob"]').count()).toBe(1);
    await bob.getByRole('button', { name: 'Leave group' }).click();
    await ask.getByRole('button', { name: 'Leave Club' }).click();
    await expect.poll(() => bob.evaluate(() => location.hash), { timeout: 20_000 }).toBe('#/');
    await go(alice, `#/c/${encodeURIComponent(groupId)}`);
    await line(alice, 'bob left');
  });
});

describe('blocking and reports (web)', () => {
  it('blocks after a confirmation, shows it with Unblock, and reports a message to the operators', async () => {
    const olga = await started('olga');
    const store = createSqliteStore({ filename: join(server.dataDir, 'keyserver.db') });
    try {
      expect(await store.setOperator('olga', true)).toBe(true);
    } finally {
      await store.close();
    }
    const mallory = await started('mallory');
    await mallory.sendText('dm:alice', 'buy cheap watches');
    await openConversation(alice, 'dm:mallory');
    await bubble(alice, 'buy cheap watches').waitFor({ timeout: 30_000 });

    const header = alice.locator('conversation-view conversation-actions');
    await header.getByRole('button', { name: 'Block mallory' }).click();
    const ask = alice.getByRole('dialog', { name: 'Block mallory?' });
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'hidden' });
    expect(await alice.locator('conversation-view [data-blocked]').count()).toBe(0);
    await header.getByRole('button', { name: 'Block mallory' }).click();
    await ask.getByRole('button', { name: 'Block mallory' }).click();
    const banner = alice.locator('conversation-view p[data-blocked]');
    await banner.filter({ hasText: 'You blocked mallory.' }).waitFor({ timeout: 20_000 });
    await header.getByRole('button', { name: 'Unblock mallory' }).waitFor();
    // nothing goes to a blocked contact: the message box gives way to the reason
    const paused = alice.locator('conversation-view chat-composer [role="status"]');
    await paused.filter({ hasText: 'You blocked mallory. Unblock them to send' }).waitFor();
    expect(
      await alice
        .locator('conversation-view chat-composer')
        .getByRole('textbox', { name: 'Message', exact: true })
        .count(),
    ).toBe(0);
    await banner.getByRole('button', { name: 'Unblock mallory' }).click();
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
    await alice
      .locator('conversation-view chat-composer')
      .getByRole('textbox', { name: 'Message', exact: true })
      .waitFor();
    await header.getByRole('button', { name: 'Block mallory' }).waitFor();

    // Report the message: the dialog says what is shared; the operator's device receives it.
    await bubble(alice, 'buy cheap watches').hover();
    await alice.getByRole('button', { name: 'Report this message from mallory' }).click();
    const report = alice.getByRole('dialog', { name: 'Report mallory?' });
    await report.getByText('end-to-end encrypted to the operators').waitFor();
    await report.getByLabel('Note for the operators (optional)').fill('spam');
    await report.getByRole('button', { name: 'Send report' }).click();
    await alice
      .locator('conversation-view [data-block-status]', { hasText: 'Report sent to the operator.' })
      .waitFor({ timeout: 20_000 });
    await waitFor(
      async () =>
        (await olga.safety.receivedReports()).some(
          (r) =>
            r.reporter === 'alice' &&
            r.note === 'spam' &&
            r.messages.some((m) => m.text === 'buy cheap watches'),
        ),
      { timeoutMs: 30_000, what: 'the report reaches olga' },
    );
  });
});
