/**
 * A guest's upgrade to a username of its choice, end to end (issue 17, PROTOCOL.md §3.3) with
 * the real key server and broker: the guest in an invite room and a DM becomes `zoe…`; the
 * contact's client moves the DM (history kept, "guest_x is now zoe" line), the room's members
 * see the rename record, old tokens are refused and the old name cannot be signed up. A key
 * server that forges a rename of a guest it holds no key of moves nothing on the contact's
 * client and raises FORGED_RENAME; a member's rename record for another member is dropped by the
 * clients (FORGED_GROUP_CHANGE) and refused by the key server.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MEMBERSHIP_RECORD_VERSION,
  encodeDeviceCertificate,
  encodeMembershipRecord,
  encodeRenameStatement,
  generateDeviceKeys,
  generateUserIdentity,
  issueDeviceCertificate,
  keyLogLeaf,
  renameLogLeaf,
  signMembershipRecord,
  signRenameStatement,
  toBase64,
  verifyMembershipChain,
} from '@sotto/crypto';
import { createSqliteStore } from '@sotto/server-core/store';
import type { SottoClient } from '../src/engine.ts';
import type { SecurityNotice } from '../src/internal/context.ts';
import { isApiError } from '../src/http.ts';
import type { ClientStore } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

const PW = 'correct horse battery';
let srv: TestServer;
const clients: SottoClient[] = [];

interface Party {
  c: SottoClient;
  store: ClientStore;
  texts: string[];
  notices: SecurityNotice[];
}

function party(options: Parameters<typeof makeClient>[3] = {}): Party {
  const store = createMemoryStore();
  const c = makeClient(srv, store, undefined, options);
  clients.push(c);
  const p: Party = { c, store, texts: [], notices: [] };
  c.on('message', (m) => {
    if (typeof m.body.text === 'string') p.texts.push(m.body.text);
  });
  c.on('securityNotice', (n) => p.notices.push(n));
  return p;
}

/** alice with a room the guest joins by invite, and a DM between them both ways. */
async function guestInRoomAndDm(aliceOptions: Parameters<typeof makeClient>[3] = {}) {
  const alice = party(aliceOptions);
  const aliceName = uname('alice');
  await alice.c.register(aliceName, PW);
  await alice.c.start();
  const groupId = await alice.c.groups.create('Help desk', []);
  const { secret } = await alice.c.groups.createInvite(groupId);
  const g = party();
  const { username: guestName } = await g.c.continueAsGuest();
  await g.c.start();
  await g.c.groups.join(groupId, secret);
  await g.c.sendText(aliceName, 'hi from the guest');
  await until(() => alice.texts.includes('hi from the guest'), 'alice reads the guest');
  await alice.c.sendText(guestName, 'hi guest');
  await until(() => g.texts.includes('hi guest'), 'the guest reads alice');
  return { alice, aliceName, groupId, g, guestName };
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('guest upgrade with a new username', () => {
  it('moves the DM with its history, the room follows the rename record, the old name is dead', async () => {
    const { alice, aliceName, groupId, g, guestName } = await guestInRoomAndDm();
    const oldToken = (await g.store.getAccount())!.accessToken!;
    const zoe = uname('zoe');
    const info = await g.c.upgradeGuest('a password of my own', { username: zoe });
    expect(info.username).toBe(zoe);
    expect(g.c.account?.username).toBe(zoe);

    // The room: alice's client adopts the rename record (same key, same role) and says so.
    await until(async () => {
      const group = await alice.store.getGroup(groupId);
      return !!group?.members.includes(zoe) && !group.members.includes(guestName);
    }, "alice's room names zoe");
    const roomLines = await alice.store.listMessages(`group:${groupId}`);
    expect(roomLines.some((m) => m.body.op === 'rename' && m.body.to === zoe)).toBe(true);
    await g.c.sendText(`group:${groupId}`, 'zoe in the room');
    await until(() => alice.texts.includes('zoe in the room'), 'alice reads zoe in the room');

    // The DM: zoe writes; alice's client follows the rename and keeps the history.
    await g.c.sendText(aliceName, 'hello as zoe');
    await until(() => alice.texts.includes('hello as zoe'), 'alice reads zoe');
    const dm = await alice.store.listMessages(`dm:${zoe}`);
    expect(dm.map((m) => m.body.text ?? m.body.notice)).toEqual([
      'hi from the guest',
      'hi guest',
      'rename',
      'hello as zoe',
    ]);
    expect(dm.find((m) => m.body.notice === 'rename')?.body).toMatchObject({
      from: guestName,
      to: zoe,
    });
    expect(await alice.store.listMessages(`dm:${guestName}`)).toEqual([]);
    expect((await alice.store.getContact(zoe))?.uik).toEqual(
      (await alice.store.getContact(guestName))?.uik,
    );
    expect(alice.notices.filter((n) => n.code === 'FORGED_RENAME')).toEqual([]);
    await alice.c.sendText(zoe, 'welcome zoe');
    await until(() => g.texts.includes('welcome zoe'), 'zoe reads alice under the new name');

    // The old name: its tokens are refused and nobody can sign up with it.
    const old = await fetch(`${srv.httpUrl}/v1/users/${aliceName}`, {
      headers: { authorization: `Bearer ${oldToken}` },
    });
    expect(old.status).toBe(401);
    const squatter = party();
    let code = 'resolved';
    await squatter.c.register(guestName, PW).catch((err: unknown) => {
      code = isApiError(err) ? err.code : String(err);
    });
    expect(code).toBe('USERNAME_TAKEN');
  });

  it('refuses and warns when the key server forges a rename with another key', async () => {
    // alice looks the guest up afresh on every send, so she meets the forged rename at once.
    const { alice, aliceName, g, guestName } = await guestInRoomAndDm({ directoryTtlMs: 1 });
    // The key server (its own store, written behind the routes' checks) moves the guest's
    // name to an account of its making, with a statement signed by a key of its own.
    const mal = uname('mal');
    const forger = generateUserIdentity();
    const device = generateDeviceKeys();
    const statement = signRenameStatement(forger, { from: guestName, to: mal, at: Date.now() });
    const certificate = encodeDeviceCertificate(
      issueDeviceCertificate(forger, {
        username: mal,
        deviceId: (await g.store.getAccount())!.deviceId,
        kind: 'user',
        signingKey: device.signing.publicKey,
        identityKey: device.identity.publicKey,
        issuedAt: Date.now(),
      }),
    );
    const store = createSqliteStore({ filename: join(srv.dataDir, 'keyserver.db') });
    try {
      const done = await store.renameGuest({
        from: guestName,
        to: mal,
        passwordHash: '',
        deviceId: (await g.store.getAccount())!.deviceId,
        certificate,
        statement: encodeRenameStatement(statement),
        leaves: [
          keyLogLeaf(mal, forger.publicKey, certificate),
          renameLogLeaf(mal, statement),
          renameLogLeaf(guestName, statement),
        ],
        at: Date.now(),
      });
      expect(done.ok).toBe(true);
    } finally {
      await store.close();
    }
    await alice.c.sendText(guestName, 'are you still there?').catch(() => undefined);
    await until(
      () => alice.notices.some((n) => n.code === 'FORGED_RENAME' && n.user === guestName),
      'alice is warned of the forged rename',
    );
    // Nothing moved: the DM stays under the guest name, and mal is nobody alice trusts.
    const dm = await alice.store.listMessages(`dm:${guestName}`);
    expect(dm.map((m) => m.body.text)).toContain('hi from the guest');
    expect(await alice.store.listMessages(`dm:${mal}`)).toEqual([]);
    expect(await alice.store.getContact(mal)).toBeNull();
    expect(aliceName).not.toBe(mal);
  });

  it('drops a rename record a member signs for another member', async () => {
    const { alice, groupId, guestName } = await guestInRoomAndDm();
    const mallory = party();
    const malName = uname('mal');
    await mallory.c.register(malName, PW);
    await mallory.c.start();
    await alice.c.groups.add(groupId, malName);
    await until(async () => !!(await mallory.store.getGroup(groupId)), 'mallory learns the room');
    const state = verifyMembershipChain((await mallory.store.getGroup(groupId))!.chain);
    const account = (await mallory.store.getAccount())!;
    // Mallory moves the guest to her own second name, naming the guest's key but signing with hers.
    const forged = signMembershipRecord(
      {
        version: MEMBERSHIP_RECORD_VERSION,
        groupId,
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'rename',
        actor: { username: guestName, uik: account.uik.publicKey },
        to: uname('mal2'),
        createdAt: Date.now(),
      },
      account.uik,
    );
    const swapped = {
      ...forged,
      actor: { username: guestName, uik: state.members.get(guestName)!.uik },
    };
    for (const rec of [forged, swapped]) {
      await mallory.c.send(`dm:${alice.c.account!.username}`, {
        kind: 'group-change',
        groupId,
        record: toBase64(encodeMembershipRecord(rec)),
      });
    }
    await until(
      () => alice.notices.filter((n) => n.code === 'FORGED_GROUP_CHANGE').length >= 2,
      'alice drops both forged renames',
    );
    expect((await alice.store.getGroup(groupId))?.members).toContain(guestName);
    // The key server refuses the same record: mallory is not the account it renamed.
    let code = 'resolved';
    await mallory.c.http
      .appendGroupChange(groupId, toBase64(encodeMembershipRecord(forged)))
      .catch((err: unknown) => (code = isApiError(err) ? err.code : String(err)));
    expect(code).toBe('FORBIDDEN');
  });
});
