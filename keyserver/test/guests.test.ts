/**
 * Guest accounts on the key server (issue 17, docs/API.md "Guests"): made without a password
 * and limited per IP; refused what only full accounts may do (create rooms or things, claim the
 * keys of someone they share no room with); upgraded with a password; expired when idle.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  signMembershipRecord,
  type KeyPair,
  type MembershipRecord,
} from '@sotto/crypto';
import {
  bearer,
  encodeRecord,
  guestSession,
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

const guest = guestSession;

/** alice makes an open room `gid` (with bob) and returns its state. */
async function openRoom(
  srv: TestServer,
  alice: { uik: KeyPair; accessToken: string },
  gid: string,
) {
  const bob = await registeredDevice(srv.app, `bob_${gid}`);
  const g = createGenesis({
    groupId: gid,
    name: 'Lobby',
    creator: { username: `alice_${gid}`, uik: alice.uik },
    members: [{ username: `bob_${gid}`, uik: bob.uik.publicKey }],
    createdAt: Date.now(),
  });
  const post = (url: string, rec: MembershipRecord, token = alice.accessToken) =>
    srv.app.inject({
      method: 'POST',
      url,
      headers: bearer(token),
      payload: { record: encodeRecord(rec) },
    });
  expect((await post('/v1/groups', g)).statusCode).toBe(201);
  let state = applyMembershipRecord(null, g);
  const p = createChange(state, {
    op: 'policy',
    actor: { username: `alice_${gid}`, uik: alice.uik },
    join: 'open',
    announce: false,
    listed: true,
    topic: '',
    createdAt: Date.now(),
  });
  expect((await post(`/v1/groups/${gid}/changes`, p)).statusCode).toBe(200);
  state = applyMembershipRecord(state, p);
  return { state, post };
}

describe('guest accounts', () => {
  it('makes a guest without a password whose token says so; nobody can sign up or log in as one', async () => {
    s = await makeServer();
    const g = await guest(s);
    expect(g.username).toMatch(/^guest_[0-9a-f]{8}$/);
    expect(tokenClaims(g.accessToken)).toMatchObject({ sub: g.username, gst: true });
    const alice = await registeredDevice(s.app, 'alice');
    expect(tokenClaims(alice.accessToken).gst).toBeUndefined();
    const seen = await s.app.inject({
      method: 'GET',
      url: `/v1/users/${g.username}`,
      headers: bearer(alice.accessToken),
    });
    expect(seen.json()).toMatchObject({ username: g.username, guest: true });
    const full = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(g.accessToken),
    });
    expect(full.json().guest).toBeUndefined();

    for (const password of ['', 'correct horse battery'])
      expect(
        (
          await s.app.inject({
            method: 'POST',
            url: '/v1/sessions',
            payload: { username: g.username, password },
          })
        ).statusCode,
      ).toBe(401);
    const squat = await s.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: { username: 'guest_0badc0de', password: 'correct horse battery' },
    });
    expect(squat.json()).toMatchObject({ error: 'USERNAME_TAKEN' });
  });

  it('refuses a guest what only full accounts may do: rooms, things, keys of strangers', async () => {
    s = await makeServer();
    const alice = await registeredDevice(s.app, 'alice_lobby');
    const g = await guestWithKeys(s);
    const genesis = createGenesis({
      groupId: 'mine',
      name: 'Mine',
      creator: { username: g.username, uik: g.uik },
      members: [],
      createdAt: Date.now(),
    });
    const create = await s.app.inject({
      method: 'POST',
      url: '/v1/groups',
      headers: bearer(g.accessToken),
      payload: { record: encodeRecord(genesis) },
    });
    expect(create.statusCode).toBe(403);
    expect(create.json().error).toBe('GUEST_NOT_ALLOWED');
    const thing = await s.app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(g.accessToken),
      payload: { name: 'lamp' },
    });
    expect(thing.json()).toMatchObject({ error: 'GUEST_NOT_ALLOWED' });

    const claimOne = () =>
      s!.app.inject({
        method: 'POST',
        url: '/v1/users/alice_lobby/devices/d1/bundle',
        headers: bearer(g.accessToken),
      });
    const claimBatch = () =>
      s!.app.inject({
        method: 'POST',
        url: '/v1/bundles/claim',
        headers: bearer(g.accessToken),
        payload: { devices: [{ username: 'alice_lobby', deviceId: 'd1' }] },
      });
    expect((await claimOne()).json()).toMatchObject({ error: 'GUEST_NOT_ALLOWED' });
    expect((await claimBatch()).json()).toMatchObject({ error: 'GUEST_NOT_ALLOWED' });

    // The guest joins alice's open room: now it may reach her.
    const { state, post } = await openRoom(s, alice, 'lobby');
    const join = signMembershipRecord(
      {
        version: 1,
        groupId: 'lobby',
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'join',
        actor: { username: g.username, uik: g.uik.publicKey },
        proof: null,
        createdAt: Date.now(),
      },
      g.uik,
    );
    expect((await post('/v1/groups/lobby/changes', join, g.accessToken)).statusCode).toBe(200);
    expect((await claimOne()).statusCode).toBe(200);
    expect((await claimBatch()).statusCode).toBe(200);
  });

  it('upgrades a guest with a password: old tokens revoked, the new ones full, login works', async () => {
    s = await makeServer();
    const g = await guest(s);
    const alice = await registeredDevice(s.app, 'alice');
    const notGuest = await s.app.inject({
      method: 'POST',
      url: '/v1/guests/upgrade',
      headers: bearer(alice.accessToken),
      payload: { password: 'a new password' },
    });
    expect(notGuest.json()).toMatchObject({ error: 'GUEST_NOT_ALLOWED' });
    const up = await s.app.inject({
      method: 'POST',
      url: '/v1/guests/upgrade',
      headers: bearer(g.accessToken),
      payload: { password: 'a new password' },
    });
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json().deviceId).toBe(g.deviceId);
    expect(tokenClaims(up.json().accessToken).gst).toBeUndefined();
    expect(s.events).toContainEqual({ type: 'user-revoked', username: g.username });
    const old = await s.app.inject({
      method: 'GET',
      url: '/v1/users/alice',
      headers: bearer(g.accessToken),
    });
    expect(old.statusCode).toBe(401);
    const login = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { username: g.username, password: 'a new password', deviceId: g.deviceId },
    });
    expect(login.statusCode).toBe(200);
    expect(await s.store.guestState(g.username)).toBeNull();
  });

  it('expires a guest left idle: devices signed out, refresh refused', async () => {
    s = await makeServer({ config: { guestIdleMs: 1000 } });
    const g = await guest(s);
    const deadline = Date.now() + 10_000;
    while ((await s.store.guestState(g.username)) !== 'expired') {
      if (Date.now() > deadline) throw new Error('the guest did not expire');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(s.events).toContainEqual({
      type: 'device-revoked',
      username: g.username,
      deviceId: g.deviceId,
    });
    const refresh = await s.app.inject({
      method: 'POST',
      url: '/v1/sessions/refresh',
      payload: { refreshToken: g.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
    expect(await s.store.isDeviceActive(g.username, g.deviceId)).toBe(false);
  });

  it('limits guests per IP, and answers GUESTS_DISABLED when turned off', async () => {
    s = await makeServer({ config: { rateLimit: { enabled: true, guest: 2 } } });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++)
      codes.push((await s.app.inject({ method: 'POST', url: '/v1/guests' })).statusCode);
    expect(codes).toEqual([201, 201, 429]);
    await s.close();
    s = await makeServer({ config: { guests: false } });
    const off = await s.app.inject({ method: 'POST', url: '/v1/guests' });
    expect(off.statusCode).toBe(403);
    expect(off.json().error).toBe('GUESTS_DISABLED');
  });
});
