/**
 * The abstract store suite: every Store implementation must pass it
 * (aedes-persistence's `abstract.js` pattern). Each test gets a fresh store
 * from the factory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashThingSecret } from '../src/store/secrets.ts';
import type { Store } from '../src/store/types.ts';
import { guestSuite } from './store.guests.suite.ts';

/** Creates an empty store; `cleanup` runs after each test. */
export type StoreFactory = () => Promise<{ store: Store; cleanup?: () => Promise<void> }>;

const bytes = (...v: number[]) => new Uint8Array(v);
const pk = (id: number) => ({ id, data: bytes(id, id + 1, id + 2) });

/** Register the shared store tests under `name`. */
export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`${name} store`, () => {
    let store: Store;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });
    afterEach(async () => {
      await store.close();
      await cleanup?.();
    });

    async function userWithKeys(username = 'alice', deviceId = 'd1') {
      await store.createUser({ username, passwordHash: 'h', createdAt: 1 });
      await store.activateDevice(username, deviceId);
      await store.setDeviceKeys(username, deviceId, {
        kind: 'user',
        certificate: bytes(1),
        signedPrekey: bytes(2),
        kemPrekey: bytes(3),
        logIndex: 0,
      });
    }

    it('creates a user once and refuses a second account with the same name', async () => {
      expect(await store.createUser({ username: 'alice', passwordHash: 'h1', createdAt: 5 })).toBe(
        true,
      );
      expect(await store.createUser({ username: 'alice', passwordHash: 'h2', createdAt: 6 })).toBe(
        false,
      );
      expect(await store.getUser('alice')).toEqual({
        username: 'alice',
        passwordHash: 'h1',
        uik: null,
        createdAt: 5,
      });
      expect(await store.userExists('alice')).toBe(true);
      expect(await store.userExists('bob')).toBe(false);
      expect(await store.getUser('bob')).toBeNull();
    });

    it('updates the password hash and the identity key', async () => {
      await store.createUser({ username: 'alice', passwordHash: 'h1', createdAt: 5 });
      await store.setPasswordHash('alice', 'h2');
      await store.setUserIdentity('alice', bytes(9, 9));
      const u = await store.getUser('alice');
      expect(u?.passwordHash).toBe('h2');
      expect(u?.uik).toEqual(bytes(9, 9));
    });

    it('keeps per-user settings: defaults until changed, null for unknown users', async () => {
      await store.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
      await store.createUser({ username: 'bob', passwordHash: 'h', createdAt: 1 });
      expect(await store.getUserSettings('alice')).toEqual({ presenceVisible: true });
      expect(await store.updateUserSettings('alice', { presenceVisible: false })).toEqual({
        presenceVisible: false,
      });
      expect(await store.getUserSettings('alice')).toEqual({ presenceVisible: false });
      // An empty patch changes nothing; other users are untouched.
      expect(await store.updateUserSettings('alice', {})).toEqual({ presenceVisible: false });
      expect(await store.getUserSettings('bob')).toEqual({ presenceVisible: true });
      // Other account changes keep the setting.
      await store.setPasswordHash('alice', 'h2');
      expect(await store.getUserSettings('alice')).toEqual({ presenceVisible: false });
      expect(await store.updateUserSettings('alice', { presenceVisible: true })).toEqual({
        presenceVisible: true,
      });
      expect(await store.getUserSettings('nobody')).toBeNull();
      expect(await store.updateUserSettings('nobody', { presenceVisible: false })).toBeNull();
      expect(await store.userExists('nobody')).toBe(false);
    });

    it('activates, lists and deactivates devices, dropping keys on deactivation', async () => {
      await userWithKeys();
      await store.activateDevice('alice', 'd0');
      expect((await store.listDevices('alice')).map((d) => d.deviceId)).toEqual(['d0', 'd1']);
      expect(await store.isDeviceActive('alice', 'd1')).toBe(true);
      await store.addOneTimePrekeys('alice', 'd1', { x25519: [pk(1)], kem: [pk(2)] }, 100);
      await store.deactivateDevice('alice', 'd1');
      expect(await store.isDeviceActive('alice', 'd1')).toBe(false);
      expect(await store.isDeviceActive('alice', 'nope')).toBe(false);
      const d = await store.getDevice('alice', 'd1');
      expect(d).toMatchObject({
        active: false,
        certificate: null,
        signedPrekey: null,
        kemPrekey: null,
      });
      expect(await store.countOneTimePrekeys('alice', 'd1')).toEqual({
        oneTimePrekeys: 0,
        oneTimeKemPrekeys: 0,
      });
      expect(await store.claimPrekeyBundle('alice', 'd1')).toBeNull();
      await store.activateDevice('alice', 'd1');
      expect(await store.isDeviceActive('alice', 'd1')).toBe(true);
    });

    it('stores device keys and keeps prekeys when an update passes null', async () => {
      await userWithKeys();
      await store.setDeviceKeys('alice', 'd1', {
        kind: 'bot',
        certificate: bytes(7),
        signedPrekey: null,
        kemPrekey: null,
        logIndex: 4,
      });
      expect(await store.getDevice('alice', 'd1')).toMatchObject({
        kind: 'bot',
        active: true,
        certificate: bytes(7),
        signedPrekey: bytes(2),
        kemPrekey: bytes(3),
        logIndex: 4,
      });
    });

    it('removes every other device of a user on identity reset', async () => {
      await userWithKeys();
      await store.activateDevice('alice', 'd2');
      await store.activateDevice('alice', 'd3');
      await store.addOneTimePrekeys('alice', 'd2', { x25519: [pk(1)], kem: [] }, 100);
      expect((await store.removeOtherDevices('alice', 'd1')).sort()).toEqual(['d2', 'd3']);
      expect((await store.listDevices('alice')).map((d) => d.deviceId)).toEqual(['d1']);
      expect(await store.countOneTimePrekeys('alice', 'd2')).toEqual({
        oneTimePrekeys: 0,
        oneTimeKemPrekeys: 0,
      });
    });

    it('counts one-time prekeys, replaces duplicate ids and trims to the cap', async () => {
      await userWithKeys();
      const c1 = await store.addOneTimePrekeys(
        'alice',
        'd1',
        { x25519: [pk(1), pk(2), pk(3)], kem: [pk(10)] },
        100,
      );
      expect(c1).toEqual({ oneTimePrekeys: 3, oneTimeKemPrekeys: 1 });
      const c2 = await store.addOneTimePrekeys(
        'alice',
        'd1',
        { x25519: [pk(3), pk(4)], kem: [] },
        3,
      );
      expect(c2).toEqual({ oneTimePrekeys: 3, oneTimeKemPrekeys: 1 });
      await store.clearOneTimePrekeys('alice', 'd1');
      expect(await store.countOneTimePrekeys('alice', 'd1')).toEqual({
        oneTimePrekeys: 0,
        oneTimeKemPrekeys: 0,
      });
    });

    it('hands out one-time prekeys in upload order and falls back to the last-resort KEM prekey', async () => {
      await userWithKeys();
      await store.addOneTimePrekeys('alice', 'd1', { x25519: [pk(1), pk(2)], kem: [pk(20)] }, 100);
      const b1 = await store.claimPrekeyBundle('alice', 'd1');
      expect(b1).toEqual({
        certificate: bytes(1),
        signedPrekey: bytes(2),
        kemPrekey: pk(20).data,
        kemLastResort: false,
        oneTimePrekey: pk(1).data,
        remaining: { oneTimePrekeys: 1, oneTimeKemPrekeys: 0 },
      });
      const b2 = await store.claimPrekeyBundle('alice', 'd1');
      expect(b2).toMatchObject({
        kemPrekey: bytes(3),
        kemLastResort: true,
        oneTimePrekey: pk(2).data,
        remaining: { oneTimePrekeys: 0, oneTimeKemPrekeys: 0 },
      });
      const b3 = await store.claimPrekeyBundle('alice', 'd1');
      expect(b3).toMatchObject({ kemLastResort: true, oneTimePrekey: null });
      expect(await store.claimPrekeyBundle('alice', 'nope')).toBeNull();
    });

    it('gives one claimant at most its quota of one-time prekeys per device, then bundles without', async () => {
      await userWithKeys('alice', 'd1');
      await userWithKeys('alice', 'd2');
      const many = Array.from({ length: 20 }, (_, i) => pk(i + 1));
      await store.addOneTimePrekeys('alice', 'd1', { x25519: many, kem: many.slice(0, 10) }, 100);
      await store.addOneTimePrekeys('alice', 'd2', { x25519: many, kem: [] }, 100);
      const quota = (claimant: string) => ({ claimant, max: 3, windowMs: 60_000 });
      // Concurrent claims of one claimant (one transaction / one script call) still count.
      const mallory = await Promise.all(
        Array.from({ length: 8 }, () => store.claimPrekeyBundle('alice', 'd1', quota('mallory'))),
      );
      expect(mallory.filter((b) => b?.oneTimePrekey !== null)).toHaveLength(3);
      expect(mallory.filter((b) => b?.kemLastResort === false)).toHaveLength(3);
      const over = mallory.filter((b) => b?.oneTimePrekey === null);
      expect(over).toHaveLength(5);
      for (const b of over) {
        // Over the quota: still a usable bundle, with the last-resort KEM prekey.
        expect(b).toMatchObject({ certificate: bytes(1), signedPrekey: bytes(2) });
        expect(b).toMatchObject({ kemPrekey: bytes(3), kemLastResort: true });
      }
      expect(await store.countOneTimePrekeys('alice', 'd1')).toEqual({
        oneTimePrekeys: 17,
        oneTimeKemPrekeys: 7,
      });
      // Another claimant, and the same claimant on another device, have their own counts.
      const bob = await store.claimPrekeyBundle('alice', 'd1', quota('bob'));
      expect(bob?.oneTimePrekey).not.toBeNull();
      expect(bob?.remaining).toEqual({ oneTimePrekeys: 16, oneTimeKemPrekeys: 6 });
      expect(
        (await store.claimPrekeyBundle('alice', 'd2', quota('mallory')))?.oneTimePrekey,
      ).toEqual(pk(1).data);
      // A claim without a quota is not limited.
      expect((await store.claimPrekeyBundle('alice', 'd1'))?.oneTimePrekey).not.toBeNull();
    });

    it('starts a new quota window once the old one has passed', async () => {
      await userWithKeys();
      const many = Array.from({ length: 10 }, (_, i) => pk(i + 1));
      await store.addOneTimePrekeys('alice', 'd1', { x25519: many, kem: [] }, 100);
      const quota = { claimant: 'mallory', max: 1, windowMs: 300 };
      expect((await store.claimPrekeyBundle('alice', 'd1', quota))?.oneTimePrekey).toEqual(
        pk(1).data,
      );
      expect((await store.claimPrekeyBundle('alice', 'd1', quota))?.oneTimePrekey).toBeNull();
      await new Promise((r) => setTimeout(r, 400));
      expect((await store.claimPrekeyBundle('alice', 'd1', quota))?.oneTimePrekey).toEqual(
        pk(2).data,
      );
      expect((await store.claimPrekeyBundle('alice', 'd1', quota))?.oneTimePrekey).toBeNull();
    });

    it('does not count a claim that found no one-time prekey against the quota', async () => {
      await userWithKeys();
      const quota = { claimant: 'bob', max: 1, windowMs: 60_000 };
      expect((await store.claimPrekeyBundle('alice', 'd1', quota))?.oneTimePrekey).toBeNull();
      await store.addOneTimePrekeys('alice', 'd1', { x25519: [pk(1)], kem: [] }, 100);
      expect((await store.claimPrekeyBundle('alice', 'd1', quota))?.oneTimePrekey).toEqual(
        pk(1).data,
      );
    });

    it('gives each of 50 concurrent claims a different one-time prekey', async () => {
      await userWithKeys();
      const many = Array.from({ length: 60 }, (_, i) => pk(i + 1));
      await store.addOneTimePrekeys('alice', 'd1', { x25519: many, kem: many.slice(0, 50) }, 100);
      const claims = await Promise.all(
        Array.from({ length: 50 }, () => store.claimPrekeyBundle('alice', 'd1')),
      );
      const ids = claims.map((c) => c?.oneTimePrekey?.[0]);
      expect(new Set(ids).size).toBe(50);
      expect(new Set(claims.map((c) => c?.kemPrekey[0])).size).toBe(50);
      expect(await store.countOneTimePrekeys('alice', 'd1')).toEqual({
        oneTimePrekeys: 10,
        oneTimeKemPrekeys: 0,
      });
    });

    it('answers concurrent claims of several devices each with its own bundle, in order', async () => {
      // Concurrent claims share one transaction (SQLite) or one script call (Redis);
      // a device without keys among them gets null and does not spoil the others.
      await userWithKeys();
      const many = Array.from({ length: 200 }, (_, i) => pk(i + 1)); // first bytes distinct
      await store.addOneTimePrekeys('alice', 'd1', { x25519: many, kem: [] }, 300);
      const asks = Array.from({ length: 240 }, (_, i) => (i % 3 === 1 ? 'nope' : 'd1'));
      const claims = await Promise.all(asks.map((d) => store.claimPrekeyBundle('alice', d)));
      expect(claims.map((c) => c === null)).toEqual(asks.map((d) => d === 'nope'));
      const ids = claims.filter((c) => c !== null).map((c) => c.oneTimePrekey?.[0]);
      expect(ids).toHaveLength(160);
      expect(new Set(ids).size).toBe(160);
      expect(await store.countOneTimePrekeys('alice', 'd1')).toEqual({
        oneTimePrekeys: 40,
        oneTimeKemPrekeys: 0,
      });
    });

    it('checks a token (not revoked, device active) in one call', async () => {
      await userWithKeys();
      const [ok, unknown] = await Promise.all([
        store.isTokenUsable('t1', 'alice', 'd1'),
        store.isTokenUsable('t1', 'alice', 'nope'),
      ]);
      expect([ok, unknown]).toEqual([true, false]);
      await store.revokeToken('t1', Date.now() + 60_000);
      expect(await store.isTokenUsable('t1', 'alice', 'd1')).toBe(false);
      expect(await store.isTokenUsable('t2', 'alice', 'd1')).toBe(true);
      await store.deactivateDevice('alice', 'd1');
      expect(await store.isTokenUsable('t2', 'alice', 'd1')).toBe(false);
    });

    it('revokes single tokens until they expire', async () => {
      const future = Date.now() + 60_000;
      expect(await store.isTokenRevoked('j1')).toBe(false);
      await store.revokeToken('j1', future);
      expect(await store.isTokenRevoked('j1')).toBe(true);
      await store.revokeToken('j2', Date.now() - 1);
      expect(await store.isTokenRevoked('j2')).toBe(false);
    });

    it('revokes the live access tokens and refresh families of one device or one user', async () => {
      const exp = Date.now() + 60_000;
      await store.recordAccessToken({
        jti: 'a1',
        username: 'alice',
        deviceId: 'd1',
        expiresAt: exp,
      });
      await store.recordAccessToken({
        jti: 'a2',
        username: 'alice',
        deviceId: 'd2',
        expiresAt: exp,
      });
      await store.recordAccessToken({ jti: 'b1', username: 'bob', deviceId: 'd1', expiresAt: exp });
      await store.putRefreshToken({
        tokenHash: 'r1',
        familyId: 'f1',
        username: 'alice',
        deviceId: 'd1',
        expiresAt: exp,
      });
      await store.putRefreshToken({
        tokenHash: 'r2',
        familyId: 'f2',
        username: 'alice',
        deviceId: 'd2',
        expiresAt: exp,
      });
      const dev = await store.revokeDeviceTokens('alice', 'd1');
      expect(dev.map((t) => t.jti)).toEqual(['a1']);
      expect(await store.isTokenRevoked('a1')).toBe(true);
      expect(await store.isTokenRevoked('a2')).toBe(false);
      expect((await store.useRefreshToken('r1', Date.now())).status).toBe('reused');
      const all = await store.revokeUserTokens('alice');
      expect(all.map((t) => t.jti)).toEqual(['a2']);
      expect(await store.isTokenRevoked('a2')).toBe(true);
      expect(await store.isTokenRevoked('b1')).toBe(false);
      expect((await store.useRefreshToken('r2', Date.now())).status).toBe('reused');
    });

    it('accepts a refresh token once, then reports reuse, and forgets unknown or expired ones', async () => {
      const rec = {
        tokenHash: 'h1',
        familyId: 'f',
        username: 'alice',
        deviceId: 'd1',
        expiresAt: Date.now() + 60_000,
      };
      await store.putRefreshToken(rec);
      expect(await store.useRefreshToken('h1', Date.now())).toEqual({ status: 'ok', record: rec });
      expect(await store.useRefreshToken('h1', Date.now())).toEqual({
        status: 'reused',
        record: rec,
      });
      expect(await store.useRefreshToken('nope', Date.now())).toEqual({ status: 'unknown' });
      await store.putRefreshToken({ ...rec, tokenHash: 'h2' });
      expect((await store.useRefreshToken('h2', rec.expiresAt + 1)).status).toBe('unknown');
      await store.putRefreshToken({ ...rec, tokenHash: 'h3' });
      await store.revokeRefreshFamily('f');
      expect((await store.useRefreshToken('h3', Date.now())).status).toBe('reused');
    });

    it("keeps a refresh token's auth time through use, and none when it had none", async () => {
      const rec = {
        tokenHash: 'h1',
        familyId: 'f',
        username: 'alice',
        deviceId: 'd1',
        expiresAt: Date.now() + 60_000,
        authTime: 1_700_000_000,
      };
      await store.putRefreshToken(rec);
      const used = await store.useRefreshToken('h1', Date.now());
      expect(used).toEqual({ status: 'ok', record: rec });
      expect(used.status === 'ok' && used.record.authTime).toBe(1_700_000_000);
      const { authTime: _, ...old } = { ...rec, tokenHash: 'h2' };
      await store.putRefreshToken(old);
      const r2 = await store.useRefreshToken('h2', Date.now());
      expect(r2.status === 'ok' && 'authTime' in r2.record).toBe(false);
    });

    it('lets exactly one of two concurrent uses of a refresh token succeed', async () => {
      const rec = {
        tokenHash: 'h1',
        familyId: 'f',
        username: 'alice',
        deviceId: 'd1',
        expiresAt: Date.now() + 60_000,
      };
      await store.putRefreshToken(rec);
      const results = await Promise.all([
        store.useRefreshToken('h1', Date.now()),
        store.useRefreshToken('h1', Date.now()),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['ok', 'reused']);
    });

    it('creates a group once, appends by compare-and-set and derives members', async () => {
      const m1 = [{ username: 'alice', admin: true }];
      expect(await store.createGroup('g1', bytes(0), m1)).toBe(true);
      expect(await store.createGroup('g1', bytes(0), m1)).toBe(false);
      const m2 = [...m1, { username: 'bob', admin: false }];
      expect(await store.appendGroupRecord('g1', 1, bytes(1), m2)).toBe(true);
      expect(await store.appendGroupRecord('g1', 1, bytes(9), m1)).toBe(false);
      expect(await store.appendGroupRecord('g1', 3, bytes(9), m1)).toBe(false);
      expect(await store.getGroupChain('g1')).toEqual([bytes(0), bytes(1)]);
      expect(await store.getGroup('g1')).toEqual({ groupId: 'g1', seq: 1, members: m2 });
      expect(await store.groupMembers('g1')).toEqual(['alice', 'bob']);
      expect(await store.isGroupMember('g1', 'bob')).toBe(true);
      expect(await store.appendGroupRecord('g1', 2, bytes(2), m1)).toBe(true);
      expect(await store.isGroupMember('g1', 'bob')).toBe(false);
      expect(await store.groupMembers('nope')).toBeNull();
      expect(await store.getGroupChain('nope')).toBeNull();
      expect(await store.getGroup('nope')).toBeNull();
      expect(await store.appendGroupRecord('nope', 1, bytes(1), m1)).toBe(false);
    });

    it('keeps group info: posters of announcement-only groups, a searchable directory of open listed rooms', async () => {
      const members = [
        { username: 'alice', admin: true },
        { username: 'bob', admin: false },
        { username: 'carol', admin: false },
      ];
      expect(await store.createGroup('climb', bytes(0), members)).toBe(true);
      expect(await store.createGroup('chess', bytes(0), members.slice(0, 1))).toBe(true);
      expect(await store.createGroup('secret', bytes(0), members)).toBe(true);
      expect(await store.getGroupInfo('climb')).toBeNull();
      expect(await store.groupPosters('climb')).toEqual(['alice', 'bob', 'carol']);
      const open = { join: 'open', announce: false, listed: true } as const;
      await store.setGroupInfo('climb', { ...open, name: 'Climbing', topic: 'Boulder 100%_fun' });
      await store.setGroupInfo('chess', { ...open, name: 'Chess club', topic: '' });
      // Listed but not open: never in the directory.
      await store.setGroupInfo('secret', {
        ...open,
        join: 'invite',
        name: 'Climbing 2',
        topic: '',
      });
      expect(await store.getGroupInfo('climb')).toEqual({
        ...open,
        name: 'Climbing',
        topic: 'Boulder 100%_fun',
      });
      expect(await store.listDirectory('', 10)).toEqual([
        { groupId: 'climb', name: 'Climbing', topic: 'Boulder 100%_fun', memberCount: 3 },
        { groupId: 'chess', name: 'Chess club', topic: '', memberCount: 1 },
      ]);
      expect((await store.listDirectory('CLIMB', 10)).map((r) => r.groupId)).toEqual(['climb']);
      expect((await store.listDirectory('100%_', 10)).map((r) => r.groupId)).toEqual(['climb']);
      expect(await store.listDirectory('b%n', 10)).toEqual([]);
      expect((await store.listDirectory('', 1)).map((r) => r.groupId)).toEqual(['climb']);
      await store.setGroupInfo('climb', { ...open, announce: true, name: 'Climbing', topic: '' });
      expect(await store.groupPosters('climb')).toEqual(['alice']);
      await store.setGroupInfo('climb', { ...open, listed: false, name: 'Climbing', topic: '' });
      expect((await store.listDirectory('', 10)).map((r) => r.groupId)).toEqual(['chess']);
      expect(await store.groupPosters('climb')).toEqual(['alice', 'bob', 'carol']);
      expect(await store.groupPosters('nope')).toBeNull();
    });

    it('registers, verifies and revokes thing credentials', async () => {
      const t = {
        owner: 'alice',
        thing: 'lamp',
        secretHash: hashThingSecret('s3cret'),
        createdAt: 2,
      };
      expect(await store.createThing(t)).toBe(true);
      expect(await store.createThing(t)).toBe(false);
      expect(await store.verifyThingCredential('alice', 'lamp', 's3cret')).toBe(true);
      expect(await store.verifyThingCredential('alice', 'lamp', 'wrong')).toBe(false);
      expect(await store.verifyThingCredential('alice', 'nope', 's3cret')).toBe(false);
      expect(await store.isThingActive('alice', 'lamp')).toBe(true);
      expect(await store.listThings('alice')).toEqual([
        { owner: 'alice', thing: 'lamp', active: true, createdAt: 2 },
      ]);
      expect(await store.revokeThing('alice', 'lamp')).toBe(true);
      expect(await store.revokeThing('alice', 'lamp')).toBe(false);
      expect(await store.isThingActive('alice', 'lamp')).toBe(false);
      expect(await store.verifyThingCredential('alice', 'lamp', 's3cret')).toBe(false);
      expect(await store.createThing({ ...t, secretHash: hashThingSecret('new') })).toBe(true);
      expect(await store.verifyThingCredential('alice', 'lamp', 'new')).toBe(true);
    });

    it('stores blob metadata once per content id and deletes it', async () => {
      const b = { id: 'ab', owner: 'alice', size: 10, createdAt: 3 };
      expect(await store.putBlob(b)).toBe(true);
      expect(await store.putBlob({ ...b, owner: 'bob' })).toBe(false);
      expect(await store.getBlob('ab')).toEqual(b);
      expect(await store.deleteBlob('ab')).toBe(true);
      expect(await store.deleteBlob('ab')).toBe(false);
      expect(await store.getBlob('ab')).toBeNull();
    });

    it('appends log leaves with dense indices, also under concurrency', async () => {
      expect(await store.logSize()).toBe(0);
      const idx = await Promise.all([1, 2, 3, 4].map((i) => store.appendLogLeaf(bytes(i))));
      expect([...idx].sort()).toEqual([0, 1, 2, 3]);
      expect(await store.logSize()).toBe(4);
      const leaves = await store.getLogLeaves(0, 4);
      expect(leaves.map((l, i) => [l[0], i]).every(([v, i]) => idx[(v ?? 0) - 1] === i)).toBe(true);
      expect(await store.getLogLeaves(1, 3)).toHaveLength(2);
    });

    it('keeps a device name, platform, creation and last activity; renames and removes one device', async () => {
      await store.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
      await store.activateDevice('alice', 'd1', {
        name: 'Chrome on Linux',
        platform: 'web',
        at: 100,
      });
      // A later login keeps the name the device has and records the activity.
      await store.activateDevice('alice', 'd1', {
        name: 'Firefox on Linux',
        platform: 'web',
        at: 200,
      });
      expect(await store.getDevice('alice', 'd1')).toMatchObject({
        name: 'Chrome on Linux',
        platform: 'web',
        createdAt: 100,
        lastActiveAt: 200,
      });
      await store.touchDevice('alice', 'd1', 300);
      expect((await store.getDevice('alice', 'd1'))?.lastActiveAt).toBe(300);
      expect(await store.setDeviceName('alice', 'd1', 'work laptop')).toBe(true);
      expect(await store.setDeviceName('alice', 'nope', 'x')).toBe(false);
      expect(await store.setDeviceName('bob', 'd1', 'x')).toBe(false);
      await store.activateDevice('alice', 'd1', {
        name: 'Chrome on Linux',
        platform: 'web',
        at: 400,
      });
      expect((await store.getDevice('alice', 'd1'))?.name).toBe('work laptop');
      // Touching an unknown device creates nothing.
      await store.touchDevice('alice', 'ghost', 5);
      expect(await store.getDevice('alice', 'ghost')).toBeNull();

      await store.activateDevice('alice', 'd2', { name: 'sotto CLI', platform: 'cli', at: 500 });
      await store.addOneTimePrekeys('alice', 'd2', { x25519: [pk(1)], kem: [pk(2)] }, 100);
      expect(await store.removeDevice('alice', 'd2')).toBe(true);
      expect(await store.removeDevice('alice', 'd2')).toBe(false);
      expect(await store.getDevice('alice', 'd2')).toBeNull();
      expect(await store.isDeviceActive('alice', 'd2')).toBe(false);
      expect((await store.listDevices('alice')).map((d) => d.deviceId)).toEqual(['d1']);
      expect(await store.countOneTimePrekeys('alice', 'd2')).toEqual({
        oneTimePrekeys: 0,
        oneTimeKemPrekeys: 0,
      });
    });

    it('keeps a sealed TOTP secret and accepts each time step once, never an older one', async () => {
      await store.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
      expect(await store.getTotp('alice')).toBeNull();
      expect(await store.useTotpStep('alice', 10)).toBe(false); // no TOTP: nothing accepted
      await store.setTotp('alice', bytes(1, 2, 3), false);
      expect(await store.getTotp('alice')).toEqual({
        sealedSecret: bytes(1, 2, 3),
        enabled: false,
        lastStep: 0,
      });
      await store.setTotp('alice', bytes(1, 2, 3), true);
      expect(await store.useTotpStep('alice', 10)).toBe(true);
      expect(await store.useTotpStep('alice', 10)).toBe(false); // replay
      expect(await store.useTotpStep('alice', 9)).toBe(false); // older code after a newer one
      const both = await Promise.all([
        store.useTotpStep('alice', 11),
        store.useTotpStep('alice', 11),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
      // A new secret keeps the last step: codes already used stay used.
      await store.setTotp('alice', bytes(4), true);
      expect(await store.getTotp('alice')).toEqual({
        sealedSecret: bytes(4),
        enabled: true,
        lastStep: 11,
      });
      await store.deleteTotp('alice');
      expect(await store.getTotp('alice')).toBeNull();
    });

    it('uses each recovery code once and replaces the whole set on regeneration', async () => {
      await store.setRecoveryCodes('alice', ['a', 'b', 'c']);
      expect(await store.countRecoveryCodes('alice')).toBe(3);
      const both = await Promise.all([
        store.useRecoveryCode('alice', 'a'),
        store.useRecoveryCode('alice', 'a'),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect(await store.useRecoveryCode('bob', 'b')).toBe(false);
      expect(await store.countRecoveryCodes('alice')).toBe(2);
      await store.setRecoveryCodes('alice', ['x', 'y']);
      expect(await store.useRecoveryCode('alice', 'b')).toBe(false);
      expect(await store.useRecoveryCode('alice', 'x')).toBe(true);
      expect(await store.countRecoveryCodes('alice')).toBe(1);
      await store.setRecoveryCodes('alice', []);
      expect(await store.countRecoveryCodes('alice')).toBe(0);
    });

    it('registers passkeys once, lists, renames and removes only the owner’s, records use', async () => {
      const p = {
        credentialId: 'cred-1',
        username: 'alice',
        publicKey: bytes(1, 2),
        counter: 0,
        transports: ['internal'],
        name: 'Laptop',
        createdAt: 10,
        lastUsedAt: null,
      };
      expect(await store.addPasskey(p)).toBe(true);
      expect(await store.addPasskey({ ...p, username: 'bob' })).toBe(false);
      expect(
        await store.addPasskey({ ...p, credentialId: 'cred-2', name: 'Phone', createdAt: 20 }),
      ).toBe(true);
      expect(await store.getPasskey('cred-1')).toEqual(p);
      expect((await store.listPasskeys('alice')).map((x) => x.name)).toEqual(['Laptop', 'Phone']);
      expect(await store.listPasskeys('bob')).toEqual([]);
      expect(await store.renamePasskey('bob', 'cred-1', 'mine')).toBe(false);
      expect(await store.renamePasskey('alice', 'cred-1', 'Work laptop')).toBe(true);
      await store.usePasskey('cred-1', 7, 99);
      expect(await store.getPasskey('cred-1')).toMatchObject({
        name: 'Work laptop',
        counter: 7,
        lastUsedAt: 99,
      });
      expect(await store.removePasskey('bob', 'cred-1')).toBe(false);
      expect(await store.removePasskey('alice', 'cred-1')).toBe(true);
      expect(await store.getPasskey('cred-1')).toBeNull();
      await store.usePasskey('cred-1', 8, 100); // a removed passkey is not recreated
      expect(await store.getPasskey('cred-1')).toBeNull();
      expect((await store.listPasskeys('alice')).map((x) => x.credentialId)).toEqual(['cred-2']);
    });

    it('grants and takes the operator role, only to existing users', async () => {
      await store.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
      await store.createUser({ username: 'bob', passwordHash: 'h', createdAt: 1 });
      expect(await store.isOperator('alice')).toBe(false);
      expect(await store.setOperator('alice', true)).toBe(true);
      expect(await store.setOperator('bob', true)).toBe(true);
      expect(await store.setOperator('nobody', true)).toBe(false);
      expect(await store.listOperators()).toEqual(['alice', 'bob']);
      expect(await store.setOperator('bob', false)).toBe(true);
      expect(await store.isOperator('bob')).toBe(false);
      expect(await store.listOperators()).toEqual(['alice']);
    });

    it('bans and unbans existing users and lists bans newest first', async () => {
      await store.createUser({ username: 'mallory', passwordHash: 'h', createdAt: 1 });
      await store.createUser({ username: 'eve', passwordHash: 'h', createdAt: 1 });
      expect(await store.getBan('mallory')).toBeNull();
      expect(await store.setBan('mallory', { by: 'op', at: 10, reason: 'spam' })).toBe(true);
      expect(await store.setBan('eve', { by: 'op', at: 20, reason: '' })).toBe(true);
      expect(await store.setBan('ghost', { by: 'op', at: 30, reason: '' })).toBe(false);
      expect(await store.getBan('mallory')).toEqual({
        username: 'mallory',
        by: 'op',
        at: 10,
        reason: 'spam',
      });
      expect((await store.listBans()).map((b) => b.username)).toEqual(['eve', 'mallory']);
      expect(await store.setBan('mallory', null)).toBe(true);
      expect(await store.getBan('mallory')).toBeNull();
      expect((await store.listBans()).map((b) => b.username)).toEqual(['eve']);
    });

    it('closes a group: its chain stays, nobody may use its topic until it is reopened', async () => {
      await store.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
      await store.createGroup('g1', bytes(1), [{ username: 'alice', admin: true }]);
      expect(await store.setGroupClosed('g1', true)).toBe(true);
      expect(await store.setGroupClosed('nope', true)).toBe(false);
      expect(await store.isGroupClosed('g1')).toBe(true);
      expect(await store.listClosedGroups()).toEqual(['g1']);
      expect(await store.groupMembers('g1')).toEqual([]);
      // Nor post in it (the brokers ask who may post before who is a member).
      expect(await store.groupPosters('g1')).toEqual([]);
      expect(await store.getGroupChain('g1')).toHaveLength(1);
      expect(await store.setGroupClosed('g1', false)).toBe(true);
      expect(await store.groupMembers('g1')).toEqual(['alice']);
      expect(await store.groupPosters('g1')).toEqual(['alice']);
      expect(await store.listClosedGroups()).toEqual([]);
    });

    it('keeps each user’s block list', async () => {
      await store.setBlocked('alice', 'mallory', true);
      await store.setBlocked('alice', 'eve', true);
      await store.setBlocked('alice', 'eve', true);
      expect(await store.listBlocked('alice')).toEqual(['eve', 'mallory']);
      expect(await store.listBlocked('mallory')).toEqual([]);
      await store.setBlocked('alice', 'eve', false);
      expect(await store.listBlocked('alice')).toEqual(['mallory']);
    });

    it('stores reports once, lists them newest first and closes only open ones', async () => {
      const r = { reporter: 'alice', reported: 'mallory', groupId: null };
      expect(await store.createReport({ ...r, id: 'r1', at: 1 })).toBe(true);
      expect(await store.createReport({ ...r, id: 'r1', at: 5 })).toBe(false);
      expect(await store.createReport({ ...r, id: 'r2', groupId: 'g1', at: 2 })).toBe(true);
      expect((await store.listReports()).map((x) => x.id)).toEqual(['r2', 'r1']);
      expect(await store.setReportStatus('r1', 'dismissed', 'op')).toBe(true);
      expect(await store.setReportStatus('r1', 'actioned', 'op')).toBe(false);
      expect(await store.setReportStatus('zz', 'actioned', 'op')).toBe(false);
      expect(await store.listReports({ status: 'open' })).toEqual([
        { ...r, id: 'r2', groupId: 'g1', at: 2, status: 'open', handledBy: null },
      ]);
      expect((await store.listReports({ status: 'dismissed' }))[0]).toMatchObject({
        id: 'r1',
        handledBy: 'op',
      });
      expect(await store.listReports({ limit: 1 })).toHaveLength(1);
    });

    it('appends to the moderation log with dense sequence numbers and pages back', async () => {
      for (let i = 0; i < 5; i++) {
        const e = await store.appendModerationLog({
          at: i,
          actor: 'op',
          action: 'ban',
          target: `u${i}`,
          detail: '',
        });
        expect(e.seq).toBe(i + 1);
      }
      const page = await store.listModerationLog({ limit: 2 });
      expect(page.map((e) => e.target)).toEqual(['u4', 'u3']);
      const next = await store.listModerationLog({ limit: 2, before: page[1]!.seq });
      expect(next.map((e) => e.target)).toEqual(['u2', 'u1']);
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
    guestSuite(() => store);
  });
}
