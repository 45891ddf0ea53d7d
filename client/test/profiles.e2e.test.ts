/**
 * Profiles end to end (PROTOCOL.md §12 "Profiles") with the real key server and broker: a display
 * name and picture set on one device reach contacts, group members, late joiners and the user's
 * own other device; the key server's files hold neither; a profile only ever describes its
 * authenticated sender ([PROFILE-1]); an older one never replaces a newer one ([PROFILE-2]).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import type { Profile } from '../src/index.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { serverFixture } from './support/fixture.ts';
import { secretsIn } from './support/raw-scan.ts';
import { interceptStore, makeClient, uname, until } from './support/server.ts';

const PW = 'correct horse battery';
const { server, pool } = serverFixture();

/** A 1×1 PNG. */
const PNG = new Uint8Array(
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
    'base64',
  ),
);

async function user(prefix: string): Promise<{ c: SottoClient; name: string }> {
  const c = pool.client();
  const name = uname(prefix);
  await c.register(name, PW);
  await c.start();
  return { c, name };
}

/** Every file under `dir`, concatenated. */
function filesUnder(dir: string): Uint8Array {
  const parts: Buffer[] = [];
  for (const entry of readdirSync(dir, { recursive: true })) {
    const path = join(dir, String(entry));
    if (statSync(path).isFile()) parts.push(readFileSync(path));
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** `to` has a text from `from` reading `text` (a marker sent after what must not arrive). */
async function received(to: SottoClient, conversationId: string, text: string): Promise<void> {
  await until(
    async () =>
      (await to.store.listMessages(conversationId, { limit: 20 })).some(
        (m) => m.body.text === text,
      ),
    `"${text}" arrives`,
  );
}

const nameOf = async (c: SottoClient, user: string): Promise<string | undefined> =>
  (await c.profile.of(user))?.displayName;

describe('profiles', () => {
  it('reach contacts, group members, late joiners and own devices; the server holds neither', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    const dave = await user('dave');
    await alice.c.sendText(bob.name, 'hi bob');
    await received(bob.c, `dm:${alice.name}`, 'hi bob');
    const groupId = await alice.c.groups.create('Tea', [carol.name]);

    // A second device of alice's, linked before the change.
    const alice2 = pool.client();
    const session = await alice2.link.begin(alice.name, PW);
    await alice.c.link.approve(session.code);
    await session.linked;
    await alice2.start();

    const events: { user: string; profile: Profile }[] = [];
    bob.c.on('profile', (e) => events.push(e));
    const set = await alice.c.profile.set({
      displayName: '  Alice\u202e  Liddell\u200b ',
      avatar: { data: PNG, mime: 'image/png', width: 1, height: 1 },
    });
    // Cleaned before it is sent: the bidi override and zero-width space are gone.
    expect(set.displayName).toBe('Alice Liddell');

    await until(async () => (await nameOf(bob.c, alice.name)) === 'Alice Liddell', 'bob');
    expect(events.map((e) => e.user)).toEqual([alice.name]);
    expect(await bob.c.profile.avatar(alice.name)).toEqual(PNG);
    await until(async () => (await nameOf(carol.c, alice.name)) === 'Alice Liddell', 'carol');
    await until(
      async () => (await alice2.profile.get())?.displayName === 'Alice Liddell',
      "alice's other device",
    );
    expect(await alice2.profile.avatar(alice.name)).toEqual(PNG);

    // A device linked afterwards gets the profile in the synced state, before any message.
    const alice3 = pool.client();
    const third = await alice3.link.begin(alice.name, PW);
    await alice.c.link.approve(third.code);
    await third.linked;
    expect(await alice3.profile.get()).toMatchObject({
      displayName: 'Alice Liddell',
      version: set.version,
    });

    // Late joiners: dave added to the group, and erin on alice's first message to her.
    await alice.c.groups.add(groupId, dave.name);
    await until(async () => (await nameOf(dave.c, alice.name)) === 'Alice Liddell', 'dave');
    const erin = await user('erin');
    await alice.c.sendText(erin.name, 'hello erin');
    await until(async () => (await nameOf(erin.c, alice.name)) === 'Alice Liddell', 'erin');
    expect(await erin.c.profile.avatar(alice.name)).toEqual(PNG);

    // Removing the picture reaches bob; the name stays.
    await alice.c.profile.set({ avatar: null });
    await until(async () => (await bob.c.profile.of(alice.name))?.avatar === undefined, 'removed');
    expect(await bob.c.profile.avatar(alice.name)).toBeNull();
    expect(await nameOf(bob.c, alice.name)).toBe('Alice Liddell');

    // The key server's database and blob folder hold ciphertext only.
    const found = secretsIn(filesUnder(server().dataDir), {
      texts: ['Alice Liddell'],
      keys: [PNG],
    });
    expect(found).toEqual([]);
  });

  it('a burst of sends into one conversation checks the profile a few times, not once a message', async () => {
    // Alice's store counts reads of her own profile (each is an IndexedDB transaction on a page).
    let ownReads = 0;
    const store = interceptStore(createMemoryStore(), 'getSetting', (read) => (key) => {
      if (key === 'profile.own') ownReads++;
      return read(key);
    });
    const alice = pool.track(makeClient(server(), store));
    const aliceName = uname('alice');
    await alice.register(aliceName, PW);
    await alice.start();
    const bob = await user('bob');
    await alice.profile.set({ displayName: 'Burst Alice' });
    const profiles: string[] = [];
    bob.c.on('profile', (e) => profiles.push(e.user));
    ownReads = 0;
    const N = 60;
    await Promise.all(Array.from({ length: N }, (_, i) => alice.sendText(bob.name, `b${i}`)));
    await received(bob.c, `dm:${aliceName}`, `b${N - 1}`);
    await until(async () => (await nameOf(bob.c, aliceName)) === 'Burst Alice', 'the profile');
    // Let every share queued by the burst finish: a later share must not send it again.
    await alice.sendText(bob.name, 'after');
    await received(bob.c, `dm:${aliceName}`, 'after');
    // One share a message read the own profile N + 1 times; queued shares are one.
    expect(ownReads).toBeLessThanOrEqual(4);
    expect(profiles).toEqual([aliceName]);
  });

  it('a profile describes only its sender, and an older one never replaces a newer one', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const mallory = await user('mallory');
    await alice.c.sendText(bob.name, 'hi');
    await alice.c.profile.set({ displayName: 'Alice' });
    await until(async () => (await nameOf(bob.c, alice.name)) === 'Alice', 'bob has alice');
    await mallory.c.sendText(bob.name, 'hello from mallory');
    await received(bob.c, `dm:${mallory.name}`, 'hello from mallory');

    // [PROFILE-1] mallory claims alice's profile (a field naming alice, a newer version) and
    // sends a `sync` copy of a "profile" as if from bob's own device.
    await mallory.c.send(bob.name, {
      kind: 'profile',
      displayName: 'Alice',
      version: Number.MAX_SAFE_INTEGER,
      user: alice.name,
    } as never);
    await mallory.c.send(bob.name, {
      kind: 'sync',
      conversation: `dm:${alice.name}`,
      inner: { id: 'A'.repeat(22), ts: 1, kind: 'profile', displayName: 'Bob was here' },
    } as never);
    await mallory.c.sendText(bob.name, 'marker 1');
    await received(bob.c, `dm:${mallory.name}`, 'marker 1');
    expect(await bob.c.profile.of(alice.name)).toMatchObject({ displayName: 'Alice' });
    expect((await bob.c.profile.of(alice.name))?.version).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(await bob.c.profile.get()).toBeNull();
    expect(await nameOf(bob.c, mallory.name)).toBe('Alice');

    // [PROFILE-2] a replayed older profile of alice's (a lower version) is ignored.
    const newer = (await bob.c.profile.of(alice.name))!.version;
    await alice.c.send(bob.name, { kind: 'profile', displayName: 'Old Alice', version: newer - 1 });
    await alice.c.sendText(bob.name, 'marker 2');
    await received(bob.c, `dm:${alice.name}`, 'marker 2');
    expect(await nameOf(bob.c, alice.name)).toBe('Alice');
  });
});
