/**
 * Guests end to end (issue 17, docs/API.md "Guests") with the real key server and broker: a
 * guest joins a room by invite link, reads and posts there, shows its chosen display name, may
 * message members of its rooms but nobody else and may not create rooms; after upgrading with a
 * password it keeps name, keys and rooms and is a full account. A guest left idle expires: its
 * connection is closed and its session is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import { isApiError } from '../src/http.ts';
import { inviteLink, parseInviteLink } from '../src/invite-link.ts';
import type { ClientStore } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import {
  codeOf,
  makeClient,
  startServer,
  uname,
  until,
  type TestServer,
} from './support/server.ts';

const PW = 'correct horse battery';
let srv: TestServer;
const clients: SottoClient[] = [];

interface Party {
  c: SottoClient;
  store: ClientStore;
  texts: string[];
}

function party(at: { httpUrl: string; mqttUrl: string } = srv): Party {
  const store = createMemoryStore();
  const c = makeClient(at, store);
  clients.push(c);
  const p: Party = { c, store, texts: [] };
  c.on('message', (m) => {
    if (typeof m.body.text === 'string') p.texts.push(m.body.text);
  });
  return p;
}

async function member(prefix: string): Promise<Party & { name: string }> {
  const p = party();
  const name = uname(prefix);
  await p.c.register(name, PW, { kind: 'bot' });
  await p.c.start();
  return { ...p, name };
}

/** The ApiError code `p` rejects with. */
async function apiCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isApiError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('guests', () => {
  it('joins by link, posts, shows its display name, reaches members only, then upgrades', async () => {
    const alice = await member('alice');
    const carol = await member('carol');
    const groupId = await alice.c.groups.create('Help desk', []);
    const { secret } = await alice.c.groups.createInvite(groupId);
    const link = parseInviteLink(inviteLink(srv.httpUrl, groupId, secret));

    const g = party();
    const info = await g.c.continueAsGuest({ displayName: 'Visitor Vera' });
    const name = info.username;
    expect(name).toMatch(/^guest_[0-9a-f]{8}$/);
    await g.c.start();
    expect((await g.c.http.getUser(name)).guest).toBe(true);
    expect(await apiCode(g.c.groups.create('Mine', []))).toBe('GUEST_NOT_ALLOWED');

    await g.c.groups.join(link.groupId, link.secret);
    await until(
      async () => (await alice.store.getContact(name))?.displayName === 'Visitor Vera',
      "alice sees the guest's display name",
    );
    await alice.c.sendText(`group:${groupId}`, 'welcome');
    await until(() => g.texts.includes('welcome'), 'the guest reads the room');
    await g.c.sendText(`group:${groupId}`, 'a question');
    await until(() => alice.texts.includes('a question'), 'alice reads the guest');
    await g.c.sendText(alice.name, 'hello alice, privately');
    await until(() => alice.texts.includes('hello alice, privately'), 'DM to a room member');
    // carol shares no room with the guest: the key server hands out none of her keys, so the
    // message stays in the guest's outbox.
    const errors: string[] = [];
    g.c.on('error', (e) => errors.push(isApiError(e) ? e.code : String(e)));
    await g.c.sendText(carol.name, 'spam');
    await until(() => errors.includes('GUEST_NOT_ALLOWED'), 'the claim for carol is refused');
    await alice.c.sendText(carol.name, 'marker from alice');
    await until(() => carol.texts.includes('marker from alice'), 'carol reads a later DM');
    expect(carol.texts).not.toContain('spam');

    await g.c.upgradeGuest('a password of my own');
    expect((await g.c.http.getUser(name)).guest).toBeUndefined();
    await g.c.sendText(`group:${groupId}`, 'still here');
    await until(() => alice.texts.includes('still here'), 'the upgraded account keeps the room');
    await g.c.sendText(carol.name, 'now a full account');
    await until(() => carol.texts.includes('now a full account'), 'DM to anyone after upgrade');
    await g.c.close();
    // The password now opens the account on a new device, which is then asked to link (the
    // identity key is kept); a wrong one is refused before that.
    const again = party();
    expect(await apiCode(again.c.login(name, 'not the password'))).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(again.c.login(name, 'a password of my own'))).toBe('LINK_REQUIRED');
  });

  it('expires a guest left idle: the broker closes its connection and its session is gone', async () => {
    const short = await startServer({ args: ['--guest-idle-ms', '1500'] });
    try {
      const g = party(short);
      const { username } = await g.c.continueAsGuest();
      await g.c.start();
      expect(g.c.connectionState).toBe('online');
      await until(() => g.c.connectionState !== 'online', 'the expired guest is disconnected');
      expect(await apiCode(g.c.http.refresh())).toBe('INVALID_REFRESH_TOKEN');
      expect(username).toMatch(/^guest_/);
      await g.c.close();
    } finally {
      await short.close();
    }
  });
});
