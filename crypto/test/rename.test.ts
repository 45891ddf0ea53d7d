import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/sodium.ts';
import { isCryptoError, type CryptoErrorCode } from '../src/errors.ts';
import { ed25519KeyPair } from '../src/internal/groups-ed25519.ts';
import type { KeyPair } from '../src/keys.ts';
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  decodeMembershipRecord,
  encodeMembershipRecord,
  JoinPolicy,
  signMembershipRecord,
  type GroupState,
} from '../src/membership.ts';
import {
  decodeRenameLogLeaf,
  decodeRenameStatement,
  encodeRenameStatement,
  renameLogLeaf,
  signRenameStatement,
  verifyRenameStatement,
} from '../src/rename.ts';

interface User {
  username: string;
  uik: KeyPair;
}
let alice: User, guest: User, mallory: User;

function expectCode(fn: () => unknown, code: CryptoErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isCryptoError(thrown), `expected CryptoError ${code}, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
}

beforeAll(async () => {
  await ready();
  alice = { username: 'alice', uik: ed25519KeyPair(new Uint8Array(32).fill(1)) };
  guest = { username: 'guest_0a1b2c3d', uik: ed25519KeyPair(new Uint8Array(32).fill(2)) };
  mallory = { username: 'mallory', uik: ed25519KeyPair(new Uint8Array(32).fill(3)) };
});

describe('rename statement', () => {
  it('round-trips and verifies under the signing UIK', () => {
    const st = signRenameStatement(guest.uik, { from: guest.username, to: 'bob', at: 5 });
    const back = decodeRenameStatement(encodeRenameStatement(st));
    expect(back).toEqual(st);
    verifyRenameStatement(back, { from: guest.username, to: 'bob', uik: guest.uik.publicKey });
  });

  it('refuses a statement signed by another key than the pinned one', () => {
    const forged = signRenameStatement(mallory.uik, { from: guest.username, to: 'bob', at: 5 });
    expectCode(() => verifyRenameStatement(forged, { uik: guest.uik.publicKey }), 'NOT_AUTHORIZED');
  });

  it('refuses a statement whose signature does not match its fields', () => {
    const st = signRenameStatement(guest.uik, { from: guest.username, to: 'bob', at: 5 });
    expectCode(() => verifyRenameStatement({ ...st, to: 'bobby' }), 'BAD_SIGNATURE');
    expectCode(() => verifyRenameStatement(st, { to: 'carol' }), 'NOT_AUTHORIZED');
  });

  it('renames only a guest name, and never to a guest name', () => {
    expect(() => signRenameStatement(alice.uik, { from: 'alice', to: 'alicia', at: 1 })).toThrow(
      RangeError,
    );
    expect(() =>
      signRenameStatement(guest.uik, { from: guest.username, to: 'guest_ffffffff', at: 1 }),
    ).toThrow(RangeError);
    const st = signRenameStatement(guest.uik, { from: guest.username, to: 'bob', at: 5 });
    const bytes = encodeRenameStatement(st);
    // Rewrite `from` to a full account's name of the same length: the decoder refuses it.
    const tampered = bytes.slice();
    tampered.set(new TextEncoder().encode('alice_xxxxxxxx'), 2);
    expectCode(() => decodeRenameStatement(tampered), 'MALFORMED');
  });

  it('files a log leaf under either name and decodes it strictly', () => {
    const st = signRenameStatement(guest.uik, { from: guest.username, to: 'bob', at: 5 });
    for (const name of [guest.username, 'bob']) {
      const entry = decodeRenameLogLeaf(renameLogLeaf(name, st));
      expect(entry.username).toBe(name);
      expect(entry.statement).toEqual(st);
    }
    expect(() => renameLogLeaf('carol', st)).toThrow(RangeError);
    const leaf = renameLogLeaf('bob', st);
    expectCode(() => decodeRenameLogLeaf(leaf.subarray(0, leaf.length - 1)), 'MALFORMED');
  });
});

describe('membership rename record', () => {
  function room(): GroupState {
    const genesis = createGenesis({
      groupId: 'grp_r',
      name: 'Room',
      creator: alice,
      members: [{ username: guest.username, uik: guest.uik.publicKey }],
      createdAt: 1,
    });
    return applyMembershipRecord(null, genesis);
  }

  it('moves the member to the new name with the same UIK and role, in an admins-add room', () => {
    const state = room();
    expect(state.policy.join).toBe('admins-add');
    const rec = createChange(state, { op: 'rename', actor: guest, to: 'bob', createdAt: 2 });
    const after = applyMembershipRecord(state, decodeMembershipRecord(encodeMembershipRecord(rec)));
    expect(after.members.has(guest.username)).toBe(false);
    expect(after.members.get('bob')).toEqual({ uik: guest.uik.publicKey, admin: false });
    expect(JoinPolicy['admins-add']).toBe(0);
  });

  it('refuses a rename signed for another member by a member', () => {
    const state = room();
    // mallory claims to be the guest but holds another key: not the chain's UIK for that name.
    const unsigned = {
      version: 1,
      groupId: state.groupId,
      seq: 1,
      prevHash: state.head,
      op: 'rename',
      actor: { username: guest.username, uik: alice.uik.publicKey },
      to: 'alicia',
      createdAt: 2,
    } as const;
    expectCode(
      () => applyMembershipRecord(state, signMembershipRecord(unsigned, alice.uik)),
      'NOT_AUTHORIZED',
    );
    // The guest's UIK named, signed by someone else: the signature does not verify.
    const claimed = signMembershipRecord(
      { ...unsigned, actor: { username: guest.username, uik: alice.uik.publicKey } },
      alice.uik,
    );
    const swapped = { ...claimed, actor: { username: guest.username, uik: guest.uik.publicKey } };
    expectCode(() => applyMembershipRecord(state, swapped), 'BAD_SIGNATURE');
  });

  it('refuses a rename to a name that is already a member', () => {
    const state = room();
    const carol = { username: 'carol', uik: mallory.uik.publicKey };
    const withCarol = applyMembershipRecord(
      state,
      createChange(state, { op: 'add', actor: alice, subject: carol, createdAt: 2 }),
    );
    for (const to of ['alice', 'carol']) {
      expectCode(
        () => createChange(withCarol, { op: 'rename', actor: guest, to, createdAt: 3 }),
        'NOT_AUTHORIZED',
      );
    }
  });

  it('refuses renaming a member that is not a guest', () => {
    const state = room();
    // The signing helpers refuse to build it at all…
    expect(() =>
      createChange(state, { op: 'rename', actor: alice, to: 'alicia', createdAt: 2 }),
    ).toThrow(RangeError);
    // …and a verifier refuses one built by hand, before looking at its signature.
    const rec = {
      version: 1,
      groupId: state.groupId,
      seq: 1,
      prevHash: state.head,
      op: 'rename',
      actor: { username: 'alice', uik: alice.uik.publicKey },
      to: 'alicia',
      createdAt: 2,
      signature: new Uint8Array(64),
    } as const;
    expectCode(() => applyMembershipRecord(state, rec), 'MALFORMED');
  });
});
