import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  encodeMembershipRecord,
  fromBase64,
  toBase64,
  verifyMembershipChain,
  type GroupState,
  type KeyPair,
  type MembershipRecord,
} from '@sotto/crypto';
import { bearer, encodeRecord, makeServer, registeredDevice, type TestServer } from './fixtures.ts';

let s: TestServer;
const users: Record<string, { uik: KeyPair; token: string }> = {};

beforeEach(async () => {
  s = await makeServer();
  for (const name of ['alice', 'bob', 'carol']) {
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

function genesis(members = ['bob'], groupId = 'g1'): { rec: MembershipRecord; state: GroupState } {
  const rec = createGenesis({
    groupId,
    name: 'Team',
    creator: { username: 'alice', uik: u('alice').uik },
    members: members.map(ref),
    createdAt: Date.now(),
  });
  return { rec, state: applyMembershipRecord(null, rec) };
}

const create = (token: string, rec: MembershipRecord) =>
  s.app.inject({
    method: 'POST',
    url: '/v1/groups',
    headers: bearer(token),
    payload: { record: encodeRecord(rec) },
  });
const change = (token: string, rec: MembershipRecord, gid = 'g1') =>
  s.app.inject({
    method: 'POST',
    url: `/v1/groups/${gid}/changes`,
    headers: bearer(token),
    payload: { record: encodeRecord(rec) },
  });

describe('groups', () => {
  it('creates a group from a signed genesis and derives the member list for the ACL', async () => {
    const { rec } = genesis(['bob']);
    const r = await create(u('alice').token, rec);
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({
      groupId: 'g1',
      seq: 0,
      members: [
        { username: 'alice', admin: true },
        { username: 'bob', admin: false },
      ],
    });
    expect(await s.store.groupMembers('g1')).toEqual(['alice', 'bob']);
    expect(s.events).toContainEqual({
      type: 'group-changed',
      groupId: 'g1',
      removed: [],
      added: ['alice', 'bob'],
    });
    expect(s.notices.map((n) => n.topic).sort()).toEqual([
      'sotto/v1/control/alice/d1',
      'sotto/v1/control/bob/d1',
    ]);
    expect(s.notices[0]?.notice).toEqual({ type: 'group-changed', groupId: 'g1', seq: 0 });
  });

  it('serves the chain to members, and 404 to everyone else', async () => {
    const { rec } = genesis(['bob']);
    await create(u('alice').token, rec);
    const r = await s.app.inject({
      method: 'GET',
      url: '/v1/groups/g1',
      headers: bearer(u('bob').token),
    });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.records).toEqual([encodeRecord(rec)]);
    expect(verifyMembershipChain(body.records.map(fromBase64)).members.size).toBe(2);
    const carol = await s.app.inject({
      method: 'GET',
      url: '/v1/groups/g1',
      headers: bearer(u('carol').token),
    });
    expect(carol.statusCode).toBe(404);
    expect(carol.json().error).toBe('GROUP_NOT_FOUND');
    const missing = await s.app.inject({
      method: 'GET',
      url: '/v1/groups/zz',
      headers: bearer(u('bob').token),
    });
    expect(missing.statusCode).toBe(404);
  });

  it('appends an admin-signed add and a remove, reporting who was removed', async () => {
    const g = genesis(['bob']);
    await create(u('alice').token, g.rec);
    const add = createChange(g.state, {
      actor: { username: 'alice', uik: u('alice').uik },
      createdAt: Date.now(),
      op: 'add',
      subject: ref('carol'),
    });
    const r1 = await change(u('alice').token, add);
    expect(r1.statusCode).toBe(200);
    expect(s.events).toContainEqual({
      type: 'group-changed',
      groupId: 'g1',
      removed: [],
      added: ['carol'],
    });
    expect(r1.json().members.map((m: { username: string }) => m.username)).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    const s1 = applyMembershipRecord(g.state, add);
    const remove = createChange(s1, {
      actor: { username: 'alice', uik: u('alice').uik },
      createdAt: Date.now(),
      op: 'remove',
      subject: ref('bob'),
    });
    s.notices.length = 0;
    const r2 = await change(u('alice').token, remove);
    expect(r2.statusCode).toBe(200);
    expect(r2.json().seq).toBe(2);
    expect(await s.store.isGroupMember('g1', 'bob')).toBe(false);
    expect(s.events).toContainEqual({
      type: 'group-changed',
      groupId: 'g1',
      removed: ['bob'],
      added: [],
    });
    // The removed member hears about it too, with the record: it cannot fetch the chain now.
    expect(s.notices.map((n) => n.topic)).toContain('sotto/v1/control/bob/d1');
    expect(s.notices.find((n) => n.topic === 'sotto/v1/control/bob/d1')?.notice).toEqual({
      type: 'group-changed',
      groupId: 'g1',
      seq: 2,
      record: encodeRecord(remove),
    });
  });

  it('lets a member leave with a record signed by the leaver', async () => {
    const g = genesis(['bob']);
    await create(u('alice').token, g.rec);
    const leave = createChange(g.state, {
      actor: { username: 'bob', uik: u('bob').uik },
      createdAt: Date.now(),
      op: 'leave',
    });
    const r = await change(u('bob').token, leave);
    expect(r.statusCode).toBe(200);
    expect(await s.store.groupMembers('g1')).toEqual(['alice']);
  });

  it('refuses a change signed by a non-admin with 403 NOT_AUTHORIZED', async () => {
    const g = genesis(['bob']);
    await create(u('alice').token, g.rec);
    // bob is no admin: build the record by hand-signing through a state that believes he is.
    const fake: GroupState = {
      ...g.state,
      members: new Map([...g.state.members].map(([k, v]) => [k, { ...v, admin: true }])),
    };
    const add = createChange(fake, {
      actor: { username: 'bob', uik: u('bob').uik },
      createdAt: Date.now(),
      op: 'add',
      subject: ref('carol'),
    });
    const r = await change(u('bob').token, add);
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toBe('NOT_AUTHORIZED');
    expect(await s.store.groupMembers('g1')).toEqual(['alice', 'bob']);
  });

  it('refuses a record that does not extend the current head with 409', async () => {
    const g = genesis(['bob']);
    await create(u('alice').token, g.rec);
    const actor = { username: 'alice', uik: u('alice').uik };
    const first = createChange(g.state, {
      actor,
      createdAt: Date.now(),
      op: 'add',
      subject: ref('carol'),
    });
    const competing = createChange(g.state, {
      actor,
      createdAt: Date.now() + 1,
      op: 'promote',
      subject: ref('bob'),
    });
    expect((await change(u('alice').token, first)).statusCode).toBe(200);
    const r = await change(u('alice').token, competing);
    expect(r.statusCode).toBe(409);
    expect(['CHAIN_BROKEN', 'FORK']).toContain(r.json().error);
  });

  it('refuses a record signed by someone other than the caller with 403', async () => {
    const g = genesis(['bob']);
    await create(u('alice').token, g.rec);
    const add = createChange(g.state, {
      actor: { username: 'alice', uik: u('alice').uik },
      createdAt: Date.now(),
      op: 'add',
      subject: ref('carol'),
    });
    const r = await change(u('bob').token, add);
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toBe('FORBIDDEN');
  });

  it('refuses a genesis naming an unknown user or a wrong key', async () => {
    const ghost = createGenesis({
      groupId: 'g2',
      name: 'x',
      creator: { username: 'alice', uik: u('alice').uik },
      members: [{ username: 'ghost', uik: u('bob').uik.publicKey }],
      createdAt: Date.now(),
    });
    const r1 = await create(u('alice').token, ghost);
    expect(r1.statusCode).toBe(400);
    expect(r1.json().error).toBe('UNKNOWN_MEMBER');
    const wrongKey = createGenesis({
      groupId: 'g3',
      name: 'x',
      creator: { username: 'alice', uik: u('alice').uik },
      members: [{ username: 'bob', uik: u('carol').uik.publicKey }],
      createdAt: Date.now(),
    });
    const r2 = await create(u('alice').token, wrongKey);
    expect(r2.statusCode).toBe(409);
    expect(r2.json().error).toBe('IDENTITY_MISMATCH');
    expect(await s.store.groupMembers('g2')).toBeNull();
  });

  it('refuses a genesis signed by another user than the caller', async () => {
    const r = await create(u('bob').token, genesis(['bob']).rec);
    expect(r.statusCode).toBe(403);
  });

  it('refuses a second group with the same id with 409 GROUP_EXISTS', async () => {
    await create(u('alice').token, genesis(['bob']).rec);
    const r = await create(u('alice').token, genesis(['carol']).rec);
    expect(r.statusCode).toBe(409);
    expect(r.json().error).toBe('GROUP_EXISTS');
  });

  it('rejects a tampered or truncated record with a 4xx and the error shape', async () => {
    const bytes = encodeMembershipRecord(genesis(['bob']).rec);
    const flipped = bytes.slice();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    for (const b of [flipped, bytes.slice(0, 20), new Uint8Array([9, 9, 9])]) {
      const r = await s.app.inject({
        method: 'POST',
        url: '/v1/groups',
        headers: bearer(u('alice').token),
        payload: { record: toBase64(b) },
      });
      expect(r.statusCode).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
      expect(Object.keys(r.json()).sort()).toEqual(['error', 'message']);
    }
  });
});
