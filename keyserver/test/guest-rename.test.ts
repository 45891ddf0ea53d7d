/**
 * A guest's upgrade to a username of its choice (issue 17, docs/API.md "Guests", PROTOCOL.md
 * §3.3): the statement and certificate its identity key signs, the move of the account, the log
 * leaves, the reserved old name, and the chain's rename record — and the forgeries refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  decodeKeyLogLeaf,
  decodeRenameLogLeaf,
  encodeDeviceCertificate,
  encodeRenameStatement,
  fromBase64,
  generateUserIdentity,
  issueDeviceCertificate,
  signMembershipRecord,
  signRenameStatement,
  toBase64,
  type GroupState,
  type KeyPair,
  type MembershipRecord,
} from '@sotto/crypto';
import {
  bearer,
  encodeRecord,
  guestWithKeys,
  makeServer,
  registeredDevice,
  type TestServer,
  tokenClaims,
} from './fixtures.ts';

let s: TestServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

type Guest = Awaited<ReturnType<typeof guestWithKeys>>;

/** The rename fields of an upgrade: statement and certificate, signed by `signer`. */
function renameBody(g: Guest, to: string, signer: KeyPair = g.uik, deviceId = g.deviceId) {
  const st = signRenameStatement(signer, { from: g.username, to, at: Date.now() });
  const cert = issueDeviceCertificate(signer, {
    username: to,
    deviceId,
    kind: 'user',
    signingKey: g.device.signing.publicKey,
    identityKey: g.device.identity.publicKey,
    issuedAt: Date.now(),
  });
  return {
    username: to,
    rename: toBase64(encodeRenameStatement(st)),
    certificate: toBase64(encodeDeviceCertificate(cert)),
  };
}

function upgrade(srv: TestServer, token: string, payload: Record<string, unknown>) {
  return srv.app.inject({
    method: 'POST',
    url: '/v1/guests/upgrade',
    headers: bearer(token),
    payload: { password: 'a new password', ...payload },
  });
}

/** alice's open room `room` with the guest joined; returns the state and a poster. */
async function roomWithGuest(srv: TestServer, g: Guest) {
  const alice = await registeredDevice(srv.app, 'alice');
  const genesis = createGenesis({
    groupId: 'room',
    name: 'Room',
    creator: { username: 'alice', uik: alice.uik },
    members: [],
    createdAt: Date.now(),
  });
  const post = (rec: MembershipRecord, token: string) =>
    srv.app.inject({
      method: 'POST',
      url: rec.op === 'create' ? '/v1/groups' : '/v1/groups/room/changes',
      headers: bearer(token),
      payload: { record: encodeRecord(rec) },
    });
  expect((await post(genesis, alice.accessToken)).statusCode).toBe(201);
  let state: GroupState = applyMembershipRecord(null, genesis);
  const policy = createChange(state, {
    op: 'policy',
    actor: { username: 'alice', uik: alice.uik },
    join: 'open',
    announce: false,
    listed: false,
    topic: '',
    createdAt: Date.now(),
  });
  expect((await post(policy, alice.accessToken)).statusCode).toBe(200);
  state = applyMembershipRecord(state, policy);
  const join = createChange(state, {
    op: 'join',
    actor: { username: g.username, uik: g.uik },
    proof: null,
    createdAt: Date.now(),
  });
  expect((await post(join, g.accessToken)).statusCode).toBe(200);
  return { state: applyMembershipRecord(state, join), post, alice };
}

describe('guest upgrade with a new username', () => {
  it('moves the account, logs the rename under both names, reserves the old name, and lets the chain follow', async () => {
    s = await makeServer();
    const g = await guestWithKeys(s);
    const { state, post, alice } = await roomWithGuest(s, g);
    const up = await upgrade(s, g.accessToken, renameBody(g, 'zoe'));
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json()).toMatchObject({ username: 'zoe', deviceId: g.deviceId });
    const token = up.json<{ accessToken: string }>().accessToken;
    expect(tokenClaims(token).sub).toBe('zoe');
    expect(s.events).toContainEqual({ type: 'user-revoked', username: g.username });
    // Old tokens are refused; the old name can be neither signed up nor logged into.
    const old = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(g.accessToken),
    });
    expect(old.statusCode).toBe(401);
    const squat = await s.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { username: g.username, password: 'correct horse battery' },
    });
    expect(squat.json()).toMatchObject({ error: 'USERNAME_TAKEN' });
    const login = (username: string) =>
      s!.app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { username, password: 'a new password', deviceId: g.deviceId },
      });
    expect((await login('zoe')).statusCode).toBe(200);
    expect((await login(g.username)).statusCode).toBe(401);

    // The directory: the new name has the device; the old one says where the account went.
    const look = async (name: string) =>
      (
        await s!.app.inject({
          method: 'GET',
          url: `/v1/users/${name}`,
          headers: bearer(alice.accessToken),
        })
      ).json<{
        uik: string | null;
        devices: { certificate: string; logIndex: number }[];
        rename?: {
          from: string;
          to: string;
          statement: string;
          arrivalIndex: number;
          tombstoneIndex: number;
        };
      }>();
    const zoe = await look('zoe');
    const tomb = await look(g.username);
    expect(zoe.uik).toBe(toBase64(g.uik.publicKey));
    expect(zoe.devices).toHaveLength(1);
    expect(tomb).toMatchObject({ uik: null, devices: [] });
    expect(tomb.rename).toEqual(zoe.rename);
    const r = zoe.rename!;
    expect(r).toMatchObject({ from: g.username, to: 'zoe' });
    const leaves = await s.store.getLogLeaves(0, 100);
    expect(decodeKeyLogLeaf(leaves[zoe.devices[0]!.logIndex]!)).toMatchObject({ username: 'zoe' });
    expect(decodeRenameLogLeaf(leaves[r.arrivalIndex]!).username).toBe('zoe');
    expect(decodeRenameLogLeaf(leaves[r.tombstoneIndex]!).username).toBe(g.username);
    expect(toBase64(decodeRenameLogLeaf(leaves[r.arrivalIndex]!).statement.signature)).toBe(
      toBase64(fromBase64(r.statement).subarray(-64)),
    );

    // zoe moves herself in the room with the record signed under her old name.
    const rename = createChange(state, {
      op: 'rename',
      actor: { username: g.username, uik: g.uik },
      to: 'zoe',
      createdAt: Date.now(),
    });
    const moved = await post(rename, token);
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json().members).toEqual([
      { username: 'alice', admin: true },
      { username: 'zoe', admin: false },
    ]);
    expect(await s.store.isGroupMember('room', g.username)).toBe(false);

    // Replayed: the same statement again, from the renamed account, is refused.
    const again = await upgrade(s, token, renameBody(g, 'zoe2'));
    expect(again.json()).toMatchObject({ error: 'GUEST_NOT_ALLOWED' });
  });

  it('refuses a rename signed by another key, for another device, of a full account, or to a taken or reserved name', async () => {
    s = await makeServer();
    const g = await guestWithKeys(s);
    const alice = await registeredDevice(s.app, 'alice');
    const other = generateUserIdentity();
    const forged = await upgrade(s, g.accessToken, renameBody(g, 'zoe', other));
    expect(forged.json()).toMatchObject({ error: 'RENAME_MISMATCH' });
    const statementOnly = { ...renameBody(g, 'zoe'), rename: renameBody(g, 'zoe', other).rename };
    expect((await upgrade(s, g.accessToken, statementOnly)).json()).toMatchObject({
      error: 'RENAME_MISMATCH',
    });
    const otherDevice = await upgrade(s, g.accessToken, renameBody(g, 'zoe', g.uik, 'dX'));
    expect(otherDevice.json()).toMatchObject({ error: 'RENAME_MISMATCH' });
    const wrongName = { ...renameBody(g, 'zoe'), username: 'zed' };
    expect((await upgrade(s, g.accessToken, wrongName)).json()).toMatchObject({
      error: 'RENAME_MISMATCH',
    });
    for (const name of ['alice', 'admin']) {
      expect((await upgrade(s, g.accessToken, renameBody(g, name))).json()).toMatchObject({
        error: 'USERNAME_TAKEN',
      });
    }
    const partial = await upgrade(s, g.accessToken, { username: 'zoe' });
    expect(partial.statusCode).toBe(400);
    // A full account cannot rename, whatever it signs (a statement from its own name does not
    // even encode: crypto/test/rename.test.ts).
    const fullNoGuest = await upgrade(s, alice.accessToken, renameBody(g, 'alicia'));
    expect(fullNoGuest.json()).toMatchObject({ error: 'GUEST_NOT_ALLOWED' });
    // Nothing moved.
    expect(await s.store.guestState(g.username)).toBe('active');
    expect(await s.store.getUser('zoe')).toBeNull();
  });

  it('refuses a rename record the key server did not rename the account for', async () => {
    s = await makeServer();
    const g = await guestWithKeys(s);
    const { state, post } = await roomWithGuest(s, g);
    await registeredDevice(s.app, 'bob');
    // The guest signs its own move to someone else's name: valid to the chain rules alone.
    const toBob = createChange(state, {
      op: 'rename',
      actor: { username: g.username, uik: g.uik },
      to: 'bob',
      createdAt: Date.now(),
    });
    const res = await post(toBob, g.accessToken);
    expect(res.json()).toMatchObject({ error: 'FORBIDDEN' });
    // Another member signs a rename of the guest with its own key.
    const bob = await registeredDevice(s.app, 'bobby');
    const forged = signMembershipRecord(
      {
        version: 1,
        groupId: 'room',
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'rename',
        actor: { username: g.username, uik: bob.uik.publicKey },
        to: 'bobby',
        createdAt: Date.now(),
      },
      bob.uik,
    );
    expect((await post(forged, bob.accessToken)).statusCode).toBe(403);
    expect(await s.store.isGroupMember('room', g.username)).toBe(true);
  });
});
