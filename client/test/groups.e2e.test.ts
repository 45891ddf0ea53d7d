/**
 * Groups end to end (DESIGN.md §3, issue 5): sender keys over a verified
 * membership chain; a member who joins later cannot read earlier messages; a
 * removed member receives nothing readable afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];

type Member = { c: SottoClient; name: string; texts: string[]; errors: unknown[] };

function listen(c: SottoClient, name: string): Member {
  clients.push(c);
  const texts: string[] = [];
  const errors: unknown[] = [];
  c.on('message', (m) => {
    if (m.conversationId.startsWith('group:')) texts.push(m.body.text as string);
  });
  c.on('error', (e) => errors.push(e));
  if (process.env.DEBUG_E2E) c.on('error', (e) => console.log(name, 'ERR', e));
  return { c, name, texts, errors };
}

async function member(name: string, resendAfterMs?: number): Promise<Member> {
  const m = listen(
    makeClient(srv, undefined, undefined, resendAfterMs ? { resendAfterMs } : {}),
    name,
  );
  await m.c.register(name, 'correct horse battery', { kind: 'bot' });
  await m.c.start();
  return m;
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('groups', () => {
  it('delivers group messages to every member, keeps late joiners out of history and removed members out of the future', async () => {
    const alice = await member(uname('alice'));
    const bob = await member(uname('bob'));
    const carol = await member(uname('carol'));
    const dave = await member(uname('dave'));

    const groupId = await alice.c.groups.create('Home', [bob.name, carol.name]);
    await until(async () => !!(await bob.c.store.getGroup(groupId)), 'bob learns the group');
    expect((await alice.c.store.getGroup(groupId))?.members).toEqual(
      [alice.name, bob.name, carol.name].sort(),
    );

    await alice.c.sendText(`group:${groupId}`, 'before dave');
    await until(
      () => bob.texts.includes('before dave') && carol.texts.includes('before dave'),
      'bob and carol read',
    );
    await bob.c.sendText(`group:${groupId}`, 'bob speaks');
    await until(
      () => alice.texts.includes('bob speaks') && carol.texts.includes('bob speaks'),
      'alice and carol read bob',
    );
    // Delivered receipts from every member device clear the outbox.
    await until(async () => (await alice.c.store.listOutbox()).length === 0, 'alice outbox empty');

    // Dave joins: he reads what comes next, never what came before.
    await alice.c.groups.add(groupId, dave.name);
    await until(
      async () => (await dave.c.store.getGroup(groupId))?.members.includes(dave.name) ?? false,
      'dave joins',
    );
    await alice.c.sendText(`group:${groupId}`, 'welcome dave');
    await until(() => dave.texts.includes('welcome dave'), 'dave reads new');
    expect(dave.texts).not.toContain('before dave');
    expect(dave.texts).not.toContain('bob speaks');

    // Carol is removed: she reads nothing sent afterwards.
    await alice.c.groups.remove(groupId, carol.name);
    await until(
      async () => !(await carol.c.store.getGroup(groupId))?.members.includes(carol.name),
      'carol sees removal',
    );
    await until(
      async () => !(await bob.c.store.getGroup(groupId))?.members.includes(carol.name),
      'bob sees removal',
    );
    await alice.c.sendText(`group:${groupId}`, 'after carol');
    await bob.c.sendText(`group:${groupId}`, 'bob after carol');
    await until(
      () => dave.texts.includes('after carol') && dave.texts.includes('bob after carol'),
      'dave reads',
    );
    await until(() => bob.texts.includes('after carol'), 'bob reads');
    // Negative check: a DM from each sender, published after their group message, reaches carol
    // after it would have (the broker keeps one publisher's order towards one subscriber).
    const dms: string[] = [];
    carol.c.on('message', (m) => {
      if (m.conversationId.startsWith('dm:')) dms.push(m.body.text as string);
    });
    await alice.c.sendText(carol.name, 'marker from alice');
    await bob.c.sendText(carol.name, 'marker from bob');
    await until(
      () => dms.includes('marker from alice') && dms.includes('marker from bob'),
      'carol has the markers',
    );
    expect(carol.texts).not.toContain('after carol');
    expect(carol.texts).not.toContain('bob after carol');
    // Not a single sender key of the new chains reached carol.
    const aliceKey = await alice.c.store.getOwnSenderKey(groupId);
    expect(aliceKey?.distributedTo.some((d) => d.startsWith(`${carol.name}:`))).toBe(false);
  });

  it('promotes and demotes admins on the chain; a demoted admin can no longer change the group and the last admin cannot step down', async () => {
    const alice = await member(uname('alice'));
    const bob = await member(uname('bob'));
    const carol = await member(uname('carol'));
    const groupId = await alice.c.groups.create('Admins', [bob.name]);
    const adminsOf = async (m: Member) => (await m.c.store.getGroup(groupId))?.admins ?? [];

    await alice.c.groups.promote(groupId, bob.name);
    await until(async () => (await adminsOf(bob)).includes(bob.name), 'bob learns he is admin');
    await bob.c.groups.add(groupId, carol.name);

    await alice.c.groups.demote(groupId, bob.name);
    await until(
      async () => !(await adminsOf(bob)).includes(bob.name),
      'bob learns he is no longer admin',
    );
    expect(await adminsOf(alice)).toEqual([alice.name]);
    await until(async () => (await adminsOf(carol)).length === 1, 'carol sees one admin');
    await expect(bob.c.groups.remove(groupId, carol.name)).rejects.toMatchObject({
      code: 'NOT_ADMIN',
    });
    await expect(alice.c.groups.demote(groupId, alice.name)).rejects.toMatchObject({
      code: 'NOT_AUTHORIZED',
    });
    expect(await adminsOf(alice)).toEqual([alice.name]);
    expect((await alice.c.groups.refresh(groupId))?.members).toContain(carol.name);
  });

  it('delivers the first message sent right after creation to members who had not heard of the group yet, online or offline', async () => {
    // No resend from Alice during the test: the first publish itself must arrive.
    const alice = await member(uname('alice'), 600_000);
    const bob = await member(uname('bob'));
    const carol = await member(uname('carol'));
    const carolStore = carol.c.store;
    await carol.c.close();

    const groupId = await alice.c.groups.create('Right away', [bob.name, carol.name]);
    await alice.c.sendText(`group:${groupId}`, 'first words');
    await until(() => bob.texts.includes('first words'), 'bob reads the first message');

    const carolBack = listen(makeClient(srv, carolStore), carol.name);
    await carolBack.c.start();
    await until(() => carolBack.texts.includes('first words'), 'carol reads it after coming back');
    expect(bob.texts.filter((t) => t === 'first words')).toHaveLength(1);
  });
});
