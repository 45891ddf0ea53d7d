import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  createInviteSecret,
  inviteKeyPair,
  signInviteProof,
  signMembershipRecord,
  toBase64,
  type GroupState,
  type InviteProof,
  type KeyPair,
  type MembershipRecord,
} from '@sotto/crypto';
import { bearer, encodeRecord, makeServer, registeredDevice, type TestServer } from './fixtures.ts';

let s: TestServer;
const users: Record<string, { uik: KeyPair; token: string }> = {};

beforeEach(async () => {
  s = await makeServer();
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    const d = await registeredDevice(s.app, name, 'd1');
    users[name] = { uik: d.uik, token: d.accessToken };
  }
});
afterEach(async () => {
  await s.close();
});

const u = (name: string) => {
  const x = users[name];
  if (!x) throw new Error(name);
  return x;
};
const ref = (name: string) => ({ username: name, uik: u(name).uik.publicKey });
const actor = (name: string) => ({ username: name, uik: u(name).uik });

/** The group as the server holds it, kept in step with every accepted record. */
let state: GroupState;

async function post(token: string, rec: MembershipRecord, gid = 'g1') {
  const r = await s.app.inject({
    method: 'POST',
    url: `/v1/groups/${gid}/changes`,
    headers: bearer(token),
    payload: { record: encodeRecord(rec) },
  });
  if (r.statusCode === 200) state = applyMembershipRecord(state, rec);
  return r;
}

/** alice creates `gid` with bob and sets `join`. */
async function room(
  join: 'admins-add' | 'invite' | 'open',
  gid = 'g1',
  policy: { listed?: boolean; topic?: string; announce?: boolean } = {},
): Promise<void> {
  const g = createGenesis({
    groupId: gid,
    name: `Room ${gid}`,
    creator: actor('alice'),
    members: [ref('bob')],
    createdAt: Date.now(),
  });
  const r = await s.app.inject({
    method: 'POST',
    url: '/v1/groups',
    headers: bearer(u('alice').token),
    payload: { record: encodeRecord(g) },
  });
  expect(r.statusCode).toBe(201);
  state = applyMembershipRecord(null, g);
  const p = createChange(state, {
    op: 'policy',
    actor: actor('alice'),
    join,
    announce: policy.announce ?? false,
    listed: policy.listed ?? false,
    topic: policy.topic ?? '',
    createdAt: Date.now(),
  });
  expect((await post(u('alice').token, p, gid)).statusCode).toBe(200);
}

async function invite(
  secret: Uint8Array,
  opts: { expiresAt?: number; maxUses?: number } = {},
  gid = 'g1',
) {
  const rec = createChange(state, {
    op: 'invite',
    actor: actor('alice'),
    invite: inviteKeyPair(secret).publicKey,
    expiresAt: opts.expiresAt ?? Date.now() + 3_600_000,
    maxUses: opts.maxUses ?? 0,
    createdAt: Date.now(),
  });
  expect((await post(u('alice').token, rec, gid)).statusCode).toBe(200);
}

/** A join record signed by `signer` (default: the joiner's registered UIK), no rule checked. */
function joinRecord(
  who: string,
  proof: InviteProof | null,
  opts: { createdAt?: number; signer?: KeyPair; gid?: string } = {},
): MembershipRecord {
  const signer = opts.signer ?? u(who).uik;
  return signMembershipRecord(
    {
      version: 1,
      groupId: opts.gid ?? state.groupId,
      seq: state.seq + 1,
      prevHash: state.head,
      op: 'join',
      actor: { username: who, uik: signer.publicKey },
      proof,
      createdAt: opts.createdAt ?? Date.now(),
    },
    signer,
  );
}

const proofFor = (secret: Uint8Array, who: string, gid = 'g1') =>
  signInviteProof(secret, gid, ref(who));

function preview(token: string, body: Record<string, string> = {}, gid = 'g1') {
  return s.app.inject({
    method: 'POST',
    url: `/v1/groups/${gid}/preview`,
    headers: bearer(token),
    payload: body,
  });
}

const proofBody = (p: InviteProof) => ({
  invite: toBase64(p.invite),
  proof: toBase64(p.signature),
});

describe('joining rooms by invite or openly', () => {
  it('admits the holder of an invite: preview, then a self-signed join; the ACL follows', async () => {
    await room('invite');
    const secret = createInviteSecret();
    await invite(secret, { maxUses: 5 });
    const proof = proofFor(secret, 'carol');
    // Without the invite the room is invisible, as if it did not exist.
    expect((await preview(u('carol').token)).json()).toMatchObject({ error: 'GROUP_NOT_FOUND' });
    const wrong = proofFor(secret, 'dave'); // dave's proof sent by carol
    expect((await preview(u('carol').token, proofBody(wrong))).statusCode).toBe(404);
    const p = await preview(u('carol').token, proofBody(proof));
    expect(p.statusCode).toBe(200);
    expect(p.json()).toMatchObject({ name: 'Room g1', memberCount: 2, join: 'invite', seq: 2 });
    expect(p.json().records).toHaveLength(3);

    const r = await post(u('carol').token, joinRecord('carol', proof));
    expect(r.statusCode).toBe(200);
    expect(await s.store.groupMembers('g1')).toEqual(['alice', 'bob', 'carol']);
    expect(s.events).toContainEqual({
      type: 'group-changed',
      groupId: 'g1',
      removed: [],
      added: ['carol'],
    });
    // Now a member: the usual member view works.
    const g = await s.app.inject({
      method: 'GET',
      url: '/v1/groups/g1',
      headers: bearer(u('carol').token),
    });
    expect(g.statusCode).toBe(200);
  });

  it('refuses forged joins: no invite, another room, expired, revoked, over the limit, wrong policy', async () => {
    await room('invite');
    // No invite at all.
    expect((await post(u('carol').token, joinRecord('carol', null))).json()).toMatchObject({
      error: 'INVITE_REQUIRED',
    });
    // An invite of another room (g2), proof honest for g2.
    const other = createInviteSecret();
    const saved = state;
    await room('invite', 'g2');
    await invite(other, {}, 'g2');
    state = saved;
    expect(
      (await post(u('carol').token, joinRecord('carol', proofFor(other, 'carol', 'g2')))).json(),
    ).toMatchObject({ error: 'INVITE_INVALID' });
    // A proof over g2 with a key that is also invited here: bound to the other group id.
    await invite(other);
    expect(
      (await post(u('carol').token, joinRecord('carol', proofFor(other, 'carol', 'g2')))).json(),
    ).toMatchObject({ error: 'INVITE_INVALID' });

    // Expired an hour ago; the record back-dated to before the expiry does not help.
    const old = createInviteSecret();
    const expiresAt = Date.now() - 3_600_000;
    await invite(old, { expiresAt });
    const late = await post(u('carol').token, joinRecord('carol', proofFor(old, 'carol')));
    expect(late.json()).toMatchObject({ error: 'INVITE_EXPIRED' });
    const backdated = joinRecord('carol', proofFor(old, 'carol'), { createdAt: expiresAt - 1 });
    expect((await post(u('carol').token, backdated)).json()).toMatchObject({
      error: 'INVITE_EXPIRED',
    });

    // Revoked.
    const revokeMe = createInviteSecret();
    await invite(revokeMe);
    const revoke = createChange(state, {
      op: 'revoke',
      actor: actor('alice'),
      invite: inviteKeyPair(revokeMe).publicKey,
      createdAt: Date.now(),
    });
    expect((await post(u('alice').token, revoke)).statusCode).toBe(200);
    expect(
      (await preview(u('carol').token, proofBody(proofFor(revokeMe, 'carol')))).json(),
    ).toMatchObject({ error: 'INVITE_REVOKED' });
    expect(
      (await post(u('carol').token, joinRecord('carol', proofFor(revokeMe, 'carol')))).json(),
    ).toMatchObject({ error: 'INVITE_REVOKED' });

    // Use limit 1: carol uses it, dave is over the limit.
    const once = createInviteSecret();
    await invite(once, { maxUses: 1 });
    expect(
      (await post(u('carol').token, joinRecord('carol', proofFor(once, 'carol')))).statusCode,
    ).toBe(200);
    expect(
      (await post(u('dave').token, joinRecord('dave', proofFor(once, 'dave')))).json(),
    ).toMatchObject({ error: 'INVITE_USED_UP' });
    expect(await s.store.groupMembers('g1')).toEqual(['alice', 'bob', 'carol']);

    // Policy admins-add: no self-join, invite or not.
    await room('admins-add', 'g3');
    expect((await post(u('dave').token, joinRecord('dave', null), 'g3')).json()).toMatchObject({
      error: 'JOIN_NOT_ALLOWED',
    });
  });

  it('refuses a join signed with a key that is not the joiner’s, or posted by someone else', async () => {
    await room('open');
    // carol's name, dave's key: a valid signature, but not the UIK the directory holds for carol.
    const r = await post(u('carol').token, joinRecord('carol', null, { signer: u('dave').uik }));
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ error: 'IDENTITY_MISMATCH' });
    // bob (a member) cannot post carol's join for her.
    expect((await post(u('bob').token, joinRecord('carol', null))).json()).toMatchObject({
      error: 'FORBIDDEN',
    });
    expect(await s.store.groupMembers('g1')).toEqual(['alice', 'bob']);
    expect((await post(u('carol').token, joinRecord('carol', null))).statusCode).toBe(200);
  });

  it('lists open rooms their admins listed, with search; others stay out of the directory', async () => {
    await room('open', 'climb', { listed: true, topic: 'Bouldering in Leipzig' });
    await room('open', 'quiet'); // open but not listed
    await room('invite', 'club', { listed: true, topic: 'Chess' }); // listed but not open
    const list = (q = '') =>
      s.app.inject({
        method: 'GET',
        url: `/v1/rooms${q}`,
        headers: bearer(u('dave').token),
      });
    const all = await list();
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({
      rooms: [
        {
          groupId: 'climb',
          name: 'Room climb',
          topic: 'Bouldering in Leipzig',
          memberCount: 2,
        },
      ],
    });
    expect((await list('?q=leipzig')).json().rooms).toHaveLength(1);
    expect((await list('?q=chess')).json().rooms).toHaveLength(0);
    expect((await list('?limit=1000')).json()).toMatchObject({ error: 'VALIDATION_FAILED' });
    expect((await list('?other=1')).statusCode).toBe(400);
    // A non-member previews an open room without any invite.
    const p = await preview(u('dave').token, {}, 'climb');
    expect(p.json()).toMatchObject({ name: 'Room climb', memberCount: 2, join: 'open' });
    expect((await preview(u('dave').token, { invite: 'x' }, 'climb')).statusCode).toBe(400);
    const half = { invite: toBase64(new Uint8Array(32)) };
    expect((await preview(u('dave').token, half, 'climb')).json()).toMatchObject({
      error: 'VALIDATION_FAILED',
    });
  });
});
