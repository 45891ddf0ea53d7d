/**
 * An invite link in the browser (issue 17, real embedded server, Chromium). Alice (an engine in
 * Node) runs a room with Bob and makes an invite link. Carol, signed up in the browser, opens
 * `#/join/<group>/<secret>`: the page shows the room's name and member count (from the chain
 * verified in her browser) and that earlier messages are not available; after a click she is in
 * the room and reads Alice's next message, not the one sent before. A forged link (right room,
 * wrong secret) shows no room at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { createClient, createMemoryStore, inviteFragment, type SottoClient } from '@sotto/client';
import {
  bubble,
  go,
  launchChromium,
  newUser,
  shot,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';
import { waitFor } from '../support/ports.ts';
import { seriousViolations } from './axe.ts';

const PW = 'correct horse battery';
let server: TestServer;
let browser: Browser;
let carol: Page;
const engines: SottoClient[] = [];

function engine(): SottoClient {
  const mqttUrl = server.mqttUrl!;
  const c = createClient({
    store: createMemoryStore(),
    http: { baseUrl: server.url },
    mqttConnect: (o) => mqtt.connect(mqttUrl, { ...o, reconnectPeriod: 200 }),
  });
  engines.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
  carol = (await newUser(browser, server.url)).page;
});

afterAll(async () => {
  for (const e of engines) await e.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

describe('joining a room with an invite link (web)', () => {
  it('shows the room and its member count, joins after a click and reads only later messages', async () => {
    const alice = engine();
    await alice.register('alice', PW);
    await alice.start();
    const bob = engine();
    await bob.register('bob', PW);
    await bob.start();
    await signUp(carol, 'carol', PW);

    const groupId = await alice.groups.create('Climbing crew', ['bob']);
    await alice.sendText(`group:${groupId}`, 'before carol joined');
    const invite = await alice.groups.createInvite(groupId, { maxUses: 5 });

    // A forged secret for the same room: the key server answers as if there were no room.
    await go(carol, inviteFragment(groupId, new Uint8Array(32).fill(7)));
    await carol.locator('join-room [role=alert]').waitFor({ timeout: 20_000 });
    expect(await carol.locator('join-room [data-room-name]').count()).toBe(0);

    await go(carol, inviteFragment(groupId, invite.secret));
    await carol.locator('join-room [data-room-name]', { hasText: 'Climbing crew' }).waitFor({
      timeout: 20_000,
    });
    expect(await carol.locator('join-room [data-member-count]').textContent()).toBe('2 members');
    await carol
      .locator('join-room', { hasText: 'Messages sent before you join are not available' })
      .waitFor();
    const join = carol.getByRole('button', { name: 'Join Climbing crew' });
    await shot(carol, 'join-link');
    expect(await seriousViolations(carol, 'join-room'), 'join page').toEqual([]);
    await join.click();
    await carol.locator('conversation-view h2', { hasText: 'Climbing crew' }).waitFor({
      timeout: 30_000,
    });
    expect(carol.url()).toContain(encodeURIComponent(`group:${groupId}`));

    // Alice's client adopts the join and hands Carol her sender key with the next message.
    await waitFor(
      async () => (await alice.store.getGroup(groupId))?.members.includes('carol') ?? false,
      { timeoutMs: 20_000, what: 'alice adopts the join' },
    );
    await alice.sendText(`group:${groupId}`, 'welcome carol');
    await bubble(carol, 'welcome carol').waitFor({ timeout: 30_000 });
    expect(await bubble(carol, 'before carol joined').count()).toBe(0);
  });

  it('finds a listed open room in Explore rooms by search, says names are public, and joins it', async () => {
    const alice = engines[0]!;
    const listed = await alice.groups.create('Boulder Leipzig', ['bob']);
    await alice.groups.setPolicy(listed, { join: 'open', listed: true, topic: 'Weekend sessions' });
    const unlisted = await alice.groups.create('Boulder secret', ['bob']);
    await alice.groups.setPolicy(unlisted, { join: 'open' });

    await go(carol, '#/');
    await carol.getByRole('link', { name: 'Explore rooms' }).click();
    await carol
      .locator('explore-rooms', { hasText: 'their name and topic are public' })
      .waitFor({ timeout: 20_000 });
    await carol.getByRole('searchbox', { name: 'Search rooms by name or topic' }).fill('boulder');
    await carol.locator(`explore-rooms li[data-room="${listed}"]`).waitFor({ timeout: 20_000 });
    expect(await carol.locator(`explore-rooms li[data-room="${unlisted}"]`).count()).toBe(0);
    expect(await carol.locator(`explore-rooms li[data-room="${listed}"]`).textContent()).toContain(
      'Weekend sessions',
    );
    await shot(carol, 'explore-rooms');
    expect(await seriousViolations(carol, 'explore-rooms'), 'Explore rooms').toEqual([]);
    await carol.getByRole('button', { name: 'Join Boulder Leipzig' }).click();
    await carol.locator('conversation-view h2', { hasText: 'Boulder Leipzig' }).waitFor({
      timeout: 30_000,
    });
    await waitFor(
      async () => (await alice.store.getGroup(listed))?.members.includes('carol') ?? false,
      { timeoutMs: 20_000, what: 'alice adopts the open join' },
    );
    await alice.sendText(`group:${listed}`, 'hello explorers');
    await bubble(carol, 'hello explorers').waitFor({ timeout: 30_000 });
  });
});
