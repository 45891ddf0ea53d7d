/**
 * The guest part of the abstract store suite (issue 17, docs/API.md "Guests"), run by every
 * backend through `storeSuite`. Kept apart so the main suite stays readable.
 */
import { expect, it } from 'vitest';
import type { Store } from '../src/store/types.ts';

const m = (username: string, admin = false) => ({ username, admin });

/** Register the guest tests; `store()` is the current test's fresh store. */
export function guestSuite(store: () => Store): void {
  it('creates a guest without a password, lists it while active, and refuses a taken name', async () => {
    const s = store();
    await s.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
    expect(await s.createGuest('guest-b', 7)).toBe(true);
    expect(await s.createGuest('guest-b', 8)).toBe(false);
    expect(await s.createGuest('alice', 8)).toBe(false);
    expect(await s.getUser('guest-b')).toMatchObject({ username: 'guest-b', passwordHash: '' });
    expect(await s.guestState('guest-b')).toBe('active');
    expect(await s.guestState('alice')).toBeNull();
    expect(await s.guestState('nobody')).toBeNull();
    expect(await s.createGuest('guest-a', 9)).toBe(true);
    expect(await s.listGuests()).toEqual(['guest-a', 'guest-b']);
  });

  it('expires a guest once, and upgrades one to a full account with a password', async () => {
    const s = store();
    await s.createGuest('guest-a', 1);
    await s.createGuest('guest-b', 1);
    expect(await s.endGuest('guest-a', { as: 'expired' })).toBe(true);
    expect(await s.endGuest('guest-a', { as: 'expired' })).toBe(false);
    expect(await s.endGuest('guest-a', { as: 'upgraded', passwordHash: 'x' })).toBe(false);
    expect(await s.guestState('guest-a')).toBe('expired');
    expect((await s.getUser('guest-a'))?.passwordHash).toBe('');
    expect(await s.endGuest('guest-b', { as: 'upgraded', passwordHash: 'h2' })).toBe(true);
    expect(await s.guestState('guest-b')).toBeNull();
    expect((await s.getUser('guest-b'))?.passwordHash).toBe('h2');
    expect(await s.listGuests()).toEqual([]);
    expect(await s.endGuest('nobody', { as: 'expired' })).toBe(false);
  });

  it('says whether two users share a group that is not closed, following every change', async () => {
    const s = store();
    const bytes = new Uint8Array([0]);
    expect(await s.createGroup('g1', bytes, [m('alice', true), m('bob')])).toBe(true);
    expect(await s.createGroup('g2', bytes, [m('carol', true), m('dave')])).toBe(true);
    expect(await s.sharesGroup('bob', 'alice')).toBe(true);
    expect(await s.sharesGroup('alice', 'bob')).toBe(true);
    expect(await s.sharesGroup('bob', 'carol')).toBe(false);
    expect(await s.sharesGroup('bob', 'nobody')).toBe(false);
    // bob leaves g1 and joins g2.
    expect(await s.appendGroupRecord('g1', 1, bytes, [m('alice', true)])).toBe(true);
    expect(await s.appendGroupRecord('g2', 1, bytes, [m('carol', true), m('dave'), m('bob')])).toBe(
      true,
    );
    expect(await s.sharesGroup('bob', 'alice')).toBe(false);
    expect(await s.sharesGroup('bob', 'dave')).toBe(true);
    expect(await s.setGroupClosed('g2', true)).toBe(true);
    expect(await s.sharesGroup('bob', 'dave')).toBe(false);
  });

  it('renames an active guest once: account, device, keys and log move, the old name stays reserved', async () => {
    const s = store();
    const b = (n: number) => new Uint8Array([n, n]);
    await s.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
    await s.createGuest('guest_a', 1);
    await s.setUserIdentity('guest_a', b(9));
    await s.activateDevice('guest_a', 'd1');
    await s.setDeviceKeys('guest_a', 'd1', {
      kind: 'user',
      certificate: b(1),
      signedPrekey: b(2),
      kemPrekey: b(3),
      logIndex: 0,
    });
    await s.addOneTimePrekeys('guest_a', 'd1', { x25519: [{ id: 1, data: b(4) }], kem: [] }, 100);
    await s.appendLogLeaf(b(1));
    const req = {
      from: 'guest_a',
      to: 'bob',
      passwordHash: 'hb',
      deviceId: 'd1',
      certificate: b(5),
      statement: b(6),
      leaves: [b(5), b(7), b(8)] as [Uint8Array, Uint8Array, Uint8Array],
      at: 50,
    };
    // A name that is taken, or a full account, is refused and nothing moves.
    expect(await s.renameGuest({ ...req, to: 'alice' })).toEqual({ ok: false, reason: 'taken' });
    expect(await s.renameGuest({ ...req, from: 'alice', to: 'carol' })).toEqual({
      ok: false,
      reason: 'not-guest',
    });
    expect(await s.logSize()).toBe(1);
    expect(await s.renameGuest(req)).toEqual({ ok: true, logIndexes: [1, 2, 3] });
    expect(await s.getLogLeaves(1, 4)).toEqual([b(5), b(7), b(8)]);
    expect(await s.getUser('bob')).toMatchObject({ passwordHash: 'hb', uik: b(9) });
    expect(await s.guestState('bob')).toBeNull();
    expect(await s.listDevices('bob')).toMatchObject([
      { deviceId: 'd1', username: 'bob', active: true, certificate: b(5), logIndex: 1 },
    ]);
    expect(await s.countOneTimePrekeys('bob', 'd1')).toMatchObject({ oneTimePrekeys: 1 });
    expect(await s.listDevices('guest_a')).toEqual([]);
    expect(await s.isDeviceActive('guest_a', 'd1')).toBe(false);
    // The old name is a tombstone: no password, not a guest, never created again.
    expect(await s.getUser('guest_a')).toMatchObject({ passwordHash: '', uik: null });
    expect(await s.guestState('guest_a')).toBe('renamed');
    expect(await s.listGuests()).toEqual([]);
    expect(await s.createUser({ username: 'guest_a', passwordHash: 'x', createdAt: 60 })).toBe(
      false,
    );
    expect(await s.createGuest('guest_a', 60)).toBe(false);
    const record = { from: 'guest_a', to: 'bob', statement: b(6), arrivalIndex: 2 };
    expect(await s.getRename('bob')).toMatchObject({ ...record, tombstoneIndex: 3, at: 50 });
    expect(await s.getRename('guest_a')).toEqual(await s.getRename('bob'));
    expect(await s.getRename('alice')).toBeNull();
    // Replayed: the guest is gone, so the same request is refused.
    expect(await s.renameGuest({ ...req, to: 'dave' })).toEqual({ ok: false, reason: 'not-guest' });
    expect(await s.logSize()).toBe(4);
  });
}
