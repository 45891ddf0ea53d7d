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
}
