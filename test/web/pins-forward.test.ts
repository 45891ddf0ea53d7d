/**
 * Pinned messages and forwarding in the browser (issue 22; PROTOCOL.md §12 "Pins" and
 * "Forwarding"). Alice (a group admin) and Dave (a member) are browser profiles against a real
 * embedded server; Carol (the group's creator) and Bob are engines in Node. Bob was an admin and
 * was demoted, but his client keeps the chain that made him one: his pins must not show for
 * anyone. A forward reaches Dave in a DM and in the group marked "Forwarded", and the forwarded
 * image opens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { createClient, createMemoryStore, type SottoClient } from '@sotto/client';
import {
  bubble,
  launchChromium,
  newUser,
  openConversation,
  send,
  shot,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';
import { seriousViolations } from './axe.ts';

const PW = 'correct horse battery';
const PNG_1PX = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

let server: TestServer;
let browser: Browser;
let alice: Page;
let dave: Page;
let carol: SottoClient;
let bob: SottoClient;
/** While set, Bob's device stores no group change (it will not learn its demotion). */
const bobIgnores = { on: false };
let group = '';

/** An engine in Node that signs up as `username` and connects. */
async function nodeUser(username: string, ignore?: { on: boolean }): Promise<SottoClient> {
  const store = createMemoryStore();
  if (ignore !== undefined) {
    const batch = store.batch.bind(store);
    store.batch = (ops) => batch(ignore.on ? ops.filter((o) => o.op !== 'putGroup') : ops);
  }
  const c = createClient({
    store,
    http: { baseUrl: server.url },
    mqttConnect: (o) => mqtt.connect(server.mqttUrl!, { ...o, reconnectPeriod: 200 }),
  });
  await c.register(username, PW);
  await c.start();
  return c;
}

const bar = (page: Page) => page.locator('conversation-view pinned-bar');

/** Hover a bubble and click one of its actions. */
async function action(page: Page, text: string, name: string): Promise<void> {
  const b = bubble(page, text);
  await b.hover();
  await b.getByRole('button', { name, exact: true }).click();
}

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  alice = (await newUser(browser, server.url)).page;
  dave = (await newUser(browser, server.url)).page;
  await signUp(alice, 'alice', PW);
  await signUp(dave, 'dave', PW);
  carol = await nodeUser('carol');
  bob = await nodeUser('bob', bobIgnores);
});

afterAll(async () => {
  await carol?.close().catch(() => undefined);
  await bob?.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

describe('pinned messages', () => {
  it('an admin’s pin shows for a member after a reload; a demoted admin’s pin does not', async () => {
    const groupId = await carol.groups.create('Pins', ['alice', 'dave', 'bob']);
    group = `group:${groupId}`;
    await carol.groups.promote(groupId, 'alice');
    await carol.groups.promote(groupId, 'bob');
    await expect.poll(() => bob.pins.canPin(group), { timeout: 20_000 }).toBe(true);
    bobIgnores.on = true;
    await carol.groups.demote(groupId, 'bob');
    await carol.sendText(group, 'the meeting is at noon');
    const bobs = await bob.sendText(group, 'bob wants this on top');

    await openConversation(alice, group);
    await bubble(alice, 'bob wants this on top').waitFor({ timeout: 30_000 });
    // Alice is an admin by the chain her browser holds: Pin is offered, and pins.
    await action(alice, 'the meeting is at noon', 'Pin');
    await bar(alice).locator('[data-pinned-latest]').waitFor({ timeout: 20_000 });
    await alice.locator('conversation-view [data-notice="pin"]').first().waitFor();

    // Bob's device still thinks he is an admin: its pin goes out, and a marker after it.
    await bob.pins.pin(group, bobs.id);
    await bob.sendText(group, 'marker after bob’s pin');

    await openConversation(dave, group);
    await bubble(dave, 'marker after bob’s pin').waitFor({ timeout: 30_000 });
    await dave.reload();
    await openConversation(dave, group);
    const latest = bar(dave).locator('[data-pinned-latest]');
    await latest.waitFor({ timeout: 20_000 });
    await expect
      .poll(() => latest.getAttribute('aria-label'))
      .toBe('Pinned message: the meeting is at noon. 1 pinned. Go to it');
    await expect
      .poll(async () =>
        (await dave.locator('conversation-view [data-notice="pin"]').allTextContents()).map((t) =>
          t.trim(),
        ),
      )
      .toEqual(['alice pinned a message']);
    // Dave is no admin: no Pin among his actions.
    const own = bubble(dave, 'the meeting is at noon');
    await own.hover();
    expect(await own.getByRole('button', { name: 'Forward', exact: true }).count()).toBe(1);
    expect(await own.locator('[data-action="pin"]').count()).toBe(0);
    // The bar is reachable from the keyboard and goes to the message.
    await latest.focus();
    await dave.keyboard.press('Enter');
    await bar(dave).locator('[data-pins-all]').click();
    await bar(dave).locator('#pin-list').waitFor();
    expect(await seriousViolations(dave, 'pinned-bar'), 'the pinned bar with its list').toEqual([]);
    await shot(alice, 'pinned-messages');
  });
});

describe('forwarding', () => {
  it('forwards a text and an image to a DM and a group, marked “Forwarded”, and the image opens', async () => {
    // Alice and Dave have a DM; Carol sends Alice the things to forward.
    await startDm(alice, 'dave');
    await send(alice, 'hi dave');
    await bubble(alice, 'hi dave').waitFor();
    await carol.sendText('dm:alice', 'pass this on');
    await carol.sendFile('dm:alice', new Uint8Array(PNG_1PX), {
      name: 'pixel.png',
      mime: 'image/png',
    });
    await openConversation(alice, 'dm:carol');
    await bubble(alice, 'pass this on').waitFor({ timeout: 30_000 });

    for (const [what, shoot] of [
      ['pass this on', true],
      ['pixel.png', false],
    ] as const) {
      const b =
        what === 'pixel.png'
          ? alice.locator('conversation-view message-bubble', {
              has: alice.locator('img[alt="pixel.png"]'),
            })
          : bubble(alice, what);
      await b.hover();
      await b.getByRole('button', { name: 'Forward', exact: true }).click();
      const picker = alice.locator('conversation-view forward-picker dialog');
      await picker.waitFor();
      await picker.getByRole('searchbox', { name: 'Search conversations' }).fill('dav');
      await picker.locator('[data-forward-to="dm:dave"]').check();
      await picker.getByRole('searchbox', { name: 'Search conversations' }).fill('');
      await picker.locator(`[data-forward-to="${group}"]`).check();
      if (shoot) {
        await shot(alice, 'forward-picker');
        expect(await seriousViolations(alice, 'forward-picker'), 'the forward picker').toEqual([]);
      }
      await picker.getByRole('button', { name: 'Forward to 2' }).click();
      await picker.waitFor({ state: 'hidden', timeout: 30_000 });
    }

    await openConversation(dave, 'dm:alice');
    const text = bubble(dave, 'pass this on');
    await text.locator('[data-forwarded]').waitFor({ timeout: 30_000 });
    expect(await text.locator('[data-forwarded]').textContent()).toContain('Forwarded');
    // Nothing names Carol, whose message it was.
    expect(await text.textContent()).not.toContain('carol');
    const image = dave.locator('conversation-view message-bubble img[alt="pixel.png"]');
    await expect.poll(() => image.getAttribute('data-full'), { timeout: 30_000 }).toBe('yes');
    const imageBubble = dave.locator('conversation-view message-bubble', {
      has: dave.locator('img[alt="pixel.png"]'),
    });
    expect(await imageBubble.locator('[data-forwarded]').count()).toBe(1);
    await dave.getByRole('button', { name: 'Open pixel.png full size' }).click();
    await expect
      .poll(() => dave.locator('media-viewer img[data-full="yes"]').getAttribute('alt'), {
        timeout: 20_000,
      })
      .toBe('pixel.png');
    await dave.keyboard.press('Escape');

    await openConversation(dave, group);
    await bubble(dave, 'pass this on').locator('[data-forwarded]').waitFor({ timeout: 30_000 });
  });
});
