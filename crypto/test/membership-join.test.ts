import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/sodium.ts';
import { isCryptoError } from '../src/errors.ts';
import { ed25519KeyPair } from '../src/internal/groups-ed25519.ts';
import type { KeyPair } from '../src/keys.ts';
import {
  JOIN_CLOCK_SKEW_MS,
  JoinRefusedError,
  applyMembershipRecord,
  createChange,
  createGenesis,
  createInviteSecret,
  decodeMembershipRecord,
  encodeMembershipRecord,
  inviteKeyPair,
  signInviteProof,
  signMembershipRecord,
  verifyMembershipChain,
  type GroupState,
  type InviteProof,
  type JoinRefusal,
  type MembershipRecord,
} from '../src/membership.ts';

interface User {
  username: string;
  uik: KeyPair;
}

let alice: User, bob: User, carol: User, mallory: User;
const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;

function user(username: string, seedByte: number): User {
  return { username, uik: ed25519KeyPair(new Uint8Array(32).fill(seedByte)) };
}

function ref(u: User) {
  return { username: u.username, uik: u.uik.publicKey };
}

function expectRefusal(fn: () => unknown, reason: JoinRefusal): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected a ${reason} refusal`).toBeInstanceOf(JoinRefusedError);
  expect(isCryptoError(thrown, 'NOT_AUTHORIZED')).toBe(true);
  expect((thrown as JoinRefusedError).reason).toBe(reason);
}

/** A group `grp` made by alice (with bob), optionally with a policy. */
function group(
  groupId: string,
  join?: 'admins-add' | 'invite' | 'open',
): { records: MembershipRecord[]; state: GroupState } {
  const genesis = createGenesis({
    groupId,
    name: 'Room',
    creator: alice,
    members: [ref(bob)],
    createdAt: T0,
  });
  const records: MembershipRecord[] = [genesis];
  let state = applyMembershipRecord(null, genesis);
  if (join) {
    const rec = createChange(state, {
      op: 'policy',
      actor: alice,
      join,
      announce: false,
      listed: false,
      topic: '',
      createdAt: T0,
    });
    state = applyMembershipRecord(state, rec);
    records.push(rec);
  }
  return { records, state };
}

/** alice's invite (made at T0) into `state`. */
function invite(
  state: GroupState,
  secret: Uint8Array,
  opts: { expiresAt?: number; maxUses?: number } = {},
): { rec: MembershipRecord; state: GroupState } {
  const rec = createChange(state, {
    op: 'invite',
    actor: alice,
    invite: inviteKeyPair(secret).publicKey,
    expiresAt: opts.expiresAt ?? T0 + 24 * HOUR,
    maxUses: opts.maxUses ?? 0,
    createdAt: T0,
  });
  return { rec, state: applyMembershipRecord(state, rec) };
}

/** A join by `who`, signed by `who`, with no rule checked: what a forger sends. */
function joinRecord(
  state: GroupState,
  who: User,
  proof: InviteProof | null,
  createdAt = T0 + HOUR,
): MembershipRecord {
  return signMembershipRecord(
    {
      version: 1,
      groupId: state.groupId,
      seq: state.seq + 1,
      prevHash: state.head,
      op: 'join',
      actor: ref(who),
      proof,
      createdAt,
    },
    who.uik,
  );
}

beforeAll(async () => {
  await ready();
  alice = user('alice', 1);
  bob = user('bob', 2);
  carol = user('carol', 3);
  mallory = user('mallory', 5);
});

describe('join policies and invites in the membership chain', () => {
  it('round-trips policy, invite, revoke and join records through the strict decoder', () => {
    const secret = createInviteSecret();
    const { records, state: s1 } = group('grp_rt', 'invite');
    const { rec: inv, state: s2 } = invite(s1, secret, { maxUses: 3 });
    const join = createChange(s2, {
      op: 'join',
      actor: carol,
      proof: signInviteProof(secret, 'grp_rt', ref(carol)),
      createdAt: T0 + HOUR,
    });
    const s3 = applyMembershipRecord(s2, join);
    const revoke = createChange(s3, {
      op: 'revoke',
      actor: alice,
      invite: inviteKeyPair(secret).publicKey,
      createdAt: T0 + 2 * HOUR,
    });
    for (const rec of [...records, inv, join, revoke]) {
      const bytes = encodeMembershipRecord(rec);
      expect(decodeMembershipRecord(bytes)).toEqual(rec);
    }
    const final = verifyMembershipChain([...records, inv, join, revoke]);
    expect(final.members.get('carol')).toEqual({ uik: carol.uik.publicKey, admin: false });
    const held = [...final.invites.values()][0]!;
    expect(held).toMatchObject({ uses: 1, maxUses: 3, revoked: true, createdBy: 'alice' });
    expect(final.policy.join).toBe('invite');
  });

  it('refuses every self-join under admins-add, the default policy', () => {
    const { state } = group('grp_default');
    expect(state.policy.join).toBe('admins-add');
    expectRefusal(() => applyMembershipRecord(state, joinRecord(state, carol, null)), 'POLICY');
    // Even with a real invite: the policy decides whether invites admit anyone.
    const secret = createInviteSecret();
    const { state: s2 } = invite(state, secret);
    const proof = signInviteProof(secret, 'grp_default', ref(carol));
    expectRefusal(() => applyMembershipRecord(s2, joinRecord(s2, carol, proof)), 'POLICY');
  });

  it('admits anyone into an open group without an invite', () => {
    const { state } = group('grp_open', 'open');
    const next = applyMembershipRecord(state, joinRecord(state, carol, null));
    expect(next.members.has('carol')).toBe(true);
  });

  it('refuses a join without an invite when the policy is invite', () => {
    const { state } = group('grp_inv', 'invite');
    expectRefusal(() => applyMembershipRecord(state, joinRecord(state, carol, null)), 'NO_INVITE');
  });

  it('refuses an invite of another room', () => {
    const secret = createInviteSecret();
    const other = invite(group('grp_other', 'invite').state, secret).state;
    void other;
    const { state } = group('grp_here', 'invite');
    // Proof made honestly for the other room: its key is no invite of this chain.
    const foreign = signInviteProof(secret, 'grp_other', ref(carol));
    expectRefusal(
      () => applyMembershipRecord(state, joinRecord(state, carol, foreign)),
      'INVITE_UNKNOWN',
    );
    // Same key invited here too, but the proof binds the other group id.
    const here = invite(state, secret).state;
    expectRefusal(() => applyMembershipRecord(here, joinRecord(here, carol, foreign)), 'BAD_PROOF');
  });

  it("refuses someone else's proof: it binds the joiner's name and UIK", () => {
    const secret = createInviteSecret();
    const { state } = invite(group('grp_steal', 'invite').state, secret);
    const carolsProof = signInviteProof(secret, 'grp_steal', ref(carol));
    expectRefusal(
      () => applyMembershipRecord(state, joinRecord(state, mallory, carolsProof)),
      'BAD_PROOF',
    );
    // Claiming carol's name with mallory's key: the record signature is mallory's,
    // the proof is over carol's UIK, so it cannot verify for this actor.
    const forged = signInviteProof(secret, 'grp_steal', {
      username: 'carol',
      uik: mallory.uik.publicKey,
    });
    const rec = joinRecord(state, { username: 'carol', uik: mallory.uik }, forged);
    // That one is internally consistent (a new "carol" with mallory's key) — the key
    // server's IDENTITY_MISMATCH check refuses it; the chain admits the UIK it names.
    expect(applyMembershipRecord(state, rec).members.get('carol')!.uik).toEqual(
      mallory.uik.publicKey,
    );
  });

  it('refuses a join with an expired invite, also when the joiner back-dates it', () => {
    const secret = createInviteSecret();
    const { state } = invite(group('grp_exp', 'invite').state, secret, { expiresAt: T0 + HOUR });
    const proof = signInviteProof(secret, 'grp_exp', ref(carol));
    const late = joinRecord(state, carol, proof, T0 + 2 * HOUR);
    expectRefusal(() => applyMembershipRecord(state, late), 'INVITE_EXPIRED');
    // Back-dated to before the expiry: history alone cannot tell...
    const backdated = joinRecord(state, carol, proof, T0 + HOUR - 1);
    expect(applyMembershipRecord(state, backdated).members.has('carol')).toBe(true);
    // ...but a verifier accepting it now (server, client on a fresh record) can.
    const now = T0 + HOUR + JOIN_CLOCK_SKEW_MS + 1;
    expectRefusal(() => applyMembershipRecord(state, backdated, { now }), 'INVITE_EXPIRED');
    expect(applyMembershipRecord(state, backdated, { now: T0 + HOUR }).members.has('carol')).toBe(
      true,
    );
    // A join dated far in the future is refused against the verifier's clock.
    const future = joinRecord(state, carol, proof, T0 + HOUR - 1);
    expectRefusal(
      () => applyMembershipRecord(state, future, { now: T0 + HOUR - 2 - JOIN_CLOCK_SKEW_MS - 1 }),
      'INVITE_EXPIRED',
    );
  });

  it('refuses a join with a revoked invite', () => {
    const secret = createInviteSecret();
    const { state } = invite(group('grp_rev', 'invite').state, secret);
    const revoke = createChange(state, {
      op: 'revoke',
      actor: alice,
      invite: inviteKeyPair(secret).publicKey,
      createdAt: T0,
    });
    const revoked = applyMembershipRecord(state, revoke);
    const proof = signInviteProof(secret, 'grp_rev', ref(carol));
    expectRefusal(
      () => applyMembershipRecord(revoked, joinRecord(revoked, carol, proof)),
      'INVITE_REVOKED',
    );
    // A second revoke of the same invite is no valid change.
    expect(() =>
      createChange(revoked, {
        op: 'revoke',
        actor: alice,
        invite: inviteKeyPair(secret).publicKey,
        createdAt: T0,
      }),
    ).toThrow(/no such live invite/);
  });

  it('refuses a join over the use limit', () => {
    const secret = createInviteSecret();
    let { state } = invite(group('grp_lim', 'invite').state, secret, { maxUses: 1 });
    state = applyMembershipRecord(
      state,
      joinRecord(state, carol, signInviteProof(secret, 'grp_lim', ref(carol))),
    );
    const second = joinRecord(state, mallory, signInviteProof(secret, 'grp_lim', ref(mallory)));
    expectRefusal(() => applyMembershipRecord(state, second), 'INVITE_USED_UP');
  });

  it('lets only admins set the policy, invite and revoke; members cannot join twice', () => {
    const { state } = group('grp_admin', 'invite');
    const secret = createInviteSecret();
    const byBob = signMembershipRecord(
      {
        version: 1,
        groupId: state.groupId,
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'invite',
        actor: ref(bob),
        invite: inviteKeyPair(secret).publicKey,
        expiresAt: T0 + HOUR,
        maxUses: 0,
        createdAt: T0,
      },
      bob.uik,
    );
    expect(() => applyMembershipRecord(state, byBob)).toThrow(/not an admin/);
    const policyByBob = signMembershipRecord(
      {
        version: 1,
        groupId: state.groupId,
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'policy',
        actor: ref(bob),
        join: 'open',
        announce: false,
        listed: true,
        topic: 'hi',
        createdAt: T0,
      },
      bob.uik,
    );
    expect(() => applyMembershipRecord(state, policyByBob)).toThrow(/not an admin/);
    const open = group('grp_admin2', 'open').state;
    expect(() => applyMembershipRecord(open, joinRecord(open, bob, null))).toThrow(
      /already a member/,
    );
  });

  it('checks the clock only on records new to the verifier', () => {
    const secret = createInviteSecret();
    const { records, state: s1 } = group('grp_fresh', 'invite');
    const { rec: inv, state: s2 } = invite(s1, secret, { expiresAt: T0 + HOUR });
    const join = joinRecord(s2, carol, signInviteProof(secret, 'grp_fresh', ref(carol)), T0 + 1);
    const chain = [...records, inv, join];
    const later = T0 + 48 * HOUR;
    expect(verifyMembershipChain(chain, { now: later, freshFrom: join.seq + 1 }).seq).toBe(
      join.seq,
    );
    expectRefusal(
      () => verifyMembershipChain(chain, { now: later, freshFrom: join.seq }),
      'INVITE_EXPIRED',
    );
  });

  it('decodes strictly: unknown join policy, unknown flags, a bad proof flag', () => {
    const { state } = group('grp_dec', 'open');
    const policy = encodeMembershipRecord(
      createChange(state, {
        op: 'policy',
        actor: alice,
        join: 'open',
        announce: true,
        listed: true,
        topic: 'x',
        createdAt: T0,
      }),
    );
    // Offset of the op body: after version, groupId, seq, prevHash, op, actor, actorUik.
    const body = 1 + 1 + 'grp_dec'.length + 4 + 32 + 1 + 1 + 'alice'.length + 32;
    const badJoin = policy.slice();
    badJoin[body] = 9;
    expect(() => decodeMembershipRecord(badJoin)).toThrow(/join policy/);
    const badFlags = policy.slice();
    badFlags[body + 1] = 4;
    expect(() => decodeMembershipRecord(badFlags)).toThrow(/unknown policy flags/);
    const join = encodeMembershipRecord(joinRecord(state, carol, null));
    const badProof = join.slice();
    badProof[1 + 1 + 'grp_dec'.length + 4 + 32 + 1 + 1 + 'carol'.length + 32] = 2;
    expect(() => decodeMembershipRecord(badProof)).toThrow(/proof flag/);
  });
});
