/**
 * Pinned messages, forwarding and mentions in edits between real engines on a real key server
 * and broker (PROTOCOL.md §12 "Pins", "Forwarding", "Mentions"): a pin reaches every member and
 * the pinner's other devices; in a group only an admin's pin counts ([PIN-ADMIN]) and a pin of a
 * message that is not one of the conversation is ignored ([PIN-TARGET]); a forward is a new
 * message marked `forwarded`, its attachment uploaded again under a new key; an edit carries the
 * new text's mentions, members only.
 */
import { describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import { MAX_PINS, pinnedAfter, type PinnedMessage } from '../src/internal/pins.ts';
import { newMessageId } from '../src/payload.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { isClientError } from '../src/errors.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { codeOf, makeClient, uname, until } from './support/server.ts';
import { serverFixture } from './support/fixture.ts';

const PW = 'correct horse battery';
const { server, pool } = serverFixture();

interface Person {
  c: SottoClient;
  name: string;
  messages: MessageRecord[];
  errors: unknown[];
  /** While `on`, the device stores no change to any group (a client that ignores them). */
  ignoreGroupChanges: { on: boolean };
}

function watch(c: SottoClient, name: string, ignoreGroupChanges = { on: false }): Person {
  const p: Person = { c, name, messages: [], errors: [], ignoreGroupChanges };
  c.on('message', (m) => p.messages.push(m));
  c.on('error', (e) => p.errors.push(e));
  return p;
}

/**
 * A registered, started person. `ignoreGroupChanges`: the device's store drops group updates
 * while `ignoreGroupChanges.on` is set — a client that will not learn a demotion.
 */
async function person(
  prefix: string,
  opts: { ignoreGroupChanges?: boolean } = {},
): Promise<Person> {
  const ignore = { on: false };
  const store = createMemoryStore();
  const batch = store.batch.bind(store);
  if (opts.ignoreGroupChanges)
    store.batch = (ops) => batch(ignore.on ? ops.filter((o) => o.op !== 'putGroup') : ops);
  const c = pool.track(makeClient(server(), store));
  const name = uname(prefix);
  await c.register(name, PW);
  await c.start();
  return watch(c, name, ignore);
}

const pinned = async (p: Person, conversationId: string): Promise<string[]> =>
  (await p.c.pins.list(conversationId)).map((x) => x.messageId);
const textOf = (p: Person, text: string): MessageRecord | undefined =>
  p.messages.find((m) => m.body.text === text);

/** A group of `admin` (its only admin) and `others`, known to everyone. */
async function groupOf(admin: Person, others: Person[]): Promise<string> {
  const groupId = await admin.c.groups.create(
    'Pins',
    others.map((o) => o.name),
  );
  for (const o of others)
    await until(async () => !!(await o.c.store.getGroup(groupId)), `${o.name} learns the group`);
  return `group:${groupId}`;
}

describe('pins', () => {
  it('keeps the newest 50 pins: a 51st drops the oldest by the pinner’s clock', () => {
    let pins: PinnedMessage[] = [];
    const ids = Array.from({ length: MAX_PINS + 1 }, () => newMessageId());
    ids.forEach((id, i) => (pins = pinnedAfter(pins, 'pin', id, 'alice', 1000 + i)));
    expect(pins.map((p) => p.messageId)).toEqual(ids.slice(1));
    expect(pinnedAfter(pins, 'unpin', ids[5]!, 'bob', 5).map((p) => p.messageId)).toEqual(
      ids.slice(1).filter((id) => id !== ids[5]),
    );
  });

  it('in a DM either side pins and unpins, for the other side and the pinner’s other device', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const bob2client = pool.client();
    const session = await bob2client.link.begin(bob.name, PW);
    await bob.c.link.approve(session.code, { history: false });
    await session.linked;
    await bob2client.start();
    const bob2 = watch(bob2client, bob.name);

    const m = await alice.c.sendText(bob.name, 'pin me');
    await until(() => !!textOf(bob, 'pin me') && !!textOf(bob2, 'pin me'), 'bob has it');
    await bob.c.pins.pin(`dm:${alice.name}`, m.id);
    expect(await pinned(bob, `dm:${alice.name}`)).toEqual([m.id]);
    await until(async () => (await pinned(alice, `dm:${bob.name}`)).includes(m.id), 'alice');
    await until(async () => (await pinned(bob2, `dm:${alice.name}`)).includes(m.id), 'bob2');
    const line = alice.messages.find((x) => x.kind === 'notice' && x.body.notice === 'pin');
    expect(line).toMatchObject({ sender: bob.name, body: { action: 'pin', target: m.id } });

    await alice.c.pins.unpin(`dm:${bob.name}`, m.id);
    await until(async () => (await pinned(bob, `dm:${alice.name}`)).length === 0, 'unpinned');
    await until(async () => (await pinned(bob2, `dm:${alice.name}`)).length === 0, 'bob2 too');
  });

  it('in a group takes an admin’s pin and drops a member’s [PIN-ADMIN] and a pin of a message of another conversation or an unknown one [PIN-TARGET]', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const carol = await person('carol');
    const g = await groupOf(alice, [bob, carol]);

    const first = await alice.c.sendText(g, 'pinned by the admin');
    await until(() => !!textOf(carol, 'pinned by the admin'), 'carol has it');
    await alice.c.pins.pin(g, first.id);
    await until(async () => (await pinned(carol, g)).includes(first.id), 'carol sees the pin');
    await until(async () => (await pinned(bob, g)).includes(first.id), 'bob sees the pin');

    // bob is no admin: his own engine refuses.
    const own = await bob.c.sendText(g, 'bob wants this pinned');
    expect(await bob.c.pins.canPin(g)).toBe(false);
    expect(await codeOf(bob.c.pins.pin(g, own.id))).toBe('NOT_ADMIN');
    // dave was an admin and was demoted, but his client keeps the chain that made him one: the
    // pins it sends are dropped by everyone holding the current chain.
    const dave = await person('dave', { ignoreGroupChanges: true });
    await alice.c.groups.add(g.slice('group:'.length), dave.name);
    await alice.c.groups.promote(g.slice('group:'.length), dave.name);
    await until(async () => await dave.c.pins.canPin(g), 'dave is an admin on his device');
    dave.ignoreGroupChanges.on = true;
    await alice.c.groups.demote(g.slice('group:'.length), dave.name);
    await until(async () => !(await carol.c.pins.canPin(g)), 'carol has the demotion');
    const daves = await dave.c.sendText(g, 'dave pins his own');
    await until(() => !!textOf(carol, 'dave pins his own'), 'carol has dave’s message');
    await dave.c.pins.pin(g, daves.id);
    expect(await pinned(dave, g)).toEqual([daves.id]);
    await dave.c.sendText(g, 'marker after dave’s pins');
    await until(() => !!textOf(carol, 'marker after dave’s pins'), 'carol has the marker');
    await until(() => !!textOf(alice, 'marker after dave’s pins'), 'alice has the marker');
    expect(await pinned(carol, g)).toEqual([first.id]);
    expect(await pinned(alice, g)).toEqual([first.id]);
    expect(carol.errors.some((e) => isClientError(e) && e.code === 'NOT_ADMIN')).toBe(true);

    // alice's client lies: a DM of carol's to bob (whose id it learnt) and an id nobody has,
    // made into messages of the group on alice's device and pinned there.
    const dm = await carol.c.sendText(bob.name, 'a private word');
    await until(() => !!textOf(bob, 'a private word'), 'bob has the DM');
    const fakeId = newMessageId();
    const forged = (id: string): MessageRecord => ({ ...first, id, conversationId: g });
    await alice.c.store.batch([
      { op: 'putMessage', message: forged(dm.id) },
      { op: 'putMessage', message: forged(fakeId) },
    ]);
    await alice.c.pins.pin(g, dm.id);
    await alice.c.pins.pin(g, fakeId);
    await alice.c.sendText(g, 'marker after alice’s pins');
    await until(() => !!textOf(carol, 'marker after alice’s pins'), 'carol has the marker');
    await until(() => !!textOf(bob, 'marker after alice’s pins'), 'bob has the marker');
    expect(await pinned(carol, g)).toEqual([first.id]);
    expect(await pinned(bob, g)).toEqual([first.id]);
    expect(await pinned(carol, `dm:${bob.name}`)).toEqual([]);
    expect(await pinned(bob, `dm:${carol.name}`)).toEqual([]);
  });
});

describe('forwarding', () => {
  it('sends a text and a file again to several conversations, marked forwarded, the file under a new key each', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const carol = await person('carol');
    const g = await groupOf(bob, [carol]);

    const text = await alice.c.sendText(bob.name, 'worth passing on @bob', {
      mentions: [{ start: 17, length: 4, user: bob.name }],
    });
    const bytes = new TextEncoder().encode('the file body '.repeat(100));
    const file = await alice.c.sendFile(bob.name, bytes, { name: 'notes.txt', mime: 'text/plain' });
    await until(() => bob.messages.some((m) => m.id === file.id), 'bob has both');

    const results = await bob.c.forward(text.id, [`dm:${carol.name}`, g]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const files = await bob.c.forward(file.id, [`dm:${carol.name}`, g]);
    expect(files.map((r) => r.ok)).toEqual([true, true]);

    await until(
      () => carol.messages.filter((m) => m.body.forwarded === true).length === 4,
      'carol has the four copies',
    );
    const copies = carol.messages.filter((m) => m.body.forwarded === true);
    for (const m of copies) {
      expect(m.sender).toBe(bob.name);
      // Nothing names the original: not its sender, its id or its mentions.
      expect(JSON.stringify(m.body)).not.toContain(alice.name);
      expect(JSON.stringify(m.body)).not.toContain(text.id);
      expect(m.body.mentions).toBeUndefined();
    }
    const fileCopies = copies.filter((m) => m.kind === 'file');
    expect(fileCopies).toHaveLength(2);
    const keys = new Set([file, ...fileCopies].map((m) => m.body.key));
    const blobs = new Set([file, ...fileCopies].map((m) => m.body.blobId));
    expect(keys.size).toBe(3);
    expect(blobs.size).toBe(3);
    for (const m of fileCopies) expect(await carol.c.downloadFile(m)).toEqual(bytes);

    // Timeline lines are not forwarded; nor to no one or the same place twice.
    await bob.c.pins.pin(`dm:${alice.name}`, text.id);
    const line = (await bob.c.store.listMessages(`dm:${alice.name}`)).find(
      (m) => m.kind === 'notice',
    )!;
    expect(await codeOf(bob.c.forward(line.id, [g]))).toBe('UNKNOWN_MESSAGE');
    expect(await codeOf(bob.c.forward(text.id, []))).toBe('BAD_INPUT');
    expect(await codeOf(bob.c.forward(text.id, [g, g]))).toBe('BAD_INPUT');
  });
});

describe('mentions in edits', () => {
  it('replaces the mentions with the edit’s, members only; in a DM the other side can be mentioned', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const carol = await person('carol');
    const g = await groupOf(alice, [bob]);

    const m = await alice.c.sendText(g, 'hello @bob', {
      mentions: [{ start: 6, length: 4, user: bob.name }],
    });
    await until(() => !!textOf(bob, 'hello @bob'), 'bob has it');
    const edited = `hi @carol and @bob`;
    await alice.c.edit(g, m.id, edited, {
      mentions: [
        { start: 3, length: 6, user: carol.name },
        { start: 14, length: 4, user: bob.name },
      ],
    });
    await until(async () => (await bob.c.store.getMessage(m.id))?.body.text === edited, 'edit');
    // carol is no member: her mention is dropped; bob's stays.
    expect((await bob.c.store.getMessage(m.id))?.body.mentions).toEqual([
      { start: 14, length: 4, user: bob.name },
    ]);

    await alice.c.edit(g, m.id, 'hi all');
    await until(async () => (await bob.c.store.getMessage(m.id))?.body.text === 'hi all', 'edit 2');
    expect((await bob.c.store.getMessage(m.id))?.body.mentions).toBeUndefined();
    expect((await alice.c.store.getMessage(m.id))?.body.mentions).toBeUndefined();

    const dm = await carol.c.sendText(alice.name, 'hey', {});
    await until(() => !!textOf(alice, 'hey'), 'alice has the DM');
    await carol.c.edit(`dm:${alice.name}`, dm.id, `hey @${alice.name}`, {
      mentions: [{ start: 4, length: alice.name.length + 1, user: alice.name }],
    });
    await until(
      async () =>
        ((await alice.c.store.getMessage(dm.id))?.body.mentions as unknown[])?.length === 1,
      'alice is mentioned in the DM',
    );
  });
});
