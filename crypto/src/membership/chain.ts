/**
 * The membership chain's rules (PROTOCOL.md §8.1): building the genesis and the
 * next record, applying a record to a verified state, detecting forks and
 * verifying a whole chain. The record format itself is in `record.ts`.
 *
 * Runtime: any.
 */
import { equalBytes, toHex } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { ed25519Require } from '../internal/groups-ed25519.ts';
import type { KeyPair } from '../keys.ts';
import { verifyInviteProof } from './invite.ts';
import {
  MAX_GROUP_MEMBERS,
  MEMBERSHIP_RECORD_VERSION,
  type CreateRecord,
  type InviteProof,
  type JoinPolicyName,
  type JoinRecord,
  type MemberRef,
  type MembershipRecord,
  type UnsignedMembershipRecord,
  decodeMembershipRecord,
  encodeMembershipRecord,
  hashMembershipRecord,
  membershipSigningBytes,
  signMembershipRecord,
  zeroHash,
} from './record.ts';

/** A member's entry in {@link GroupState}. */
export interface GroupMember {
  uik: Uint8Array;
  admin: boolean;
}

/** The group's policy as the last `policy` record set it (defaults before any). */
export interface GroupPolicy {
  join: JoinPolicyName;
  /** Only admins post (the broker and every member's client enforce it). */
  announce: boolean;
  /** The admins asked the server to list the room in its public directory. */
  listed: boolean;
  topic: string;
}

/** The policy of a chain without any `policy` record. */
export const DEFAULT_GROUP_POLICY: Readonly<GroupPolicy> = Object.freeze({
  join: 'admins-add',
  announce: false,
  listed: false,
  topic: '',
});

/** An invite as the chain records it. */
export interface GroupInvite {
  /** The invite's Ed25519 public key. */
  invite: Uint8Array;
  expiresAt: number;
  /** 0 = no limit. */
  maxUses: number;
  /** Joins that used it so far. */
  uses: number;
  revoked: boolean;
  /** The admin who made it. */
  createdBy: string;
  /** Seq of its `invite` record. */
  seq: number;
}

/** The group as a verified chain leaves it. */
export interface GroupState {
  groupId: string;
  name: string;
  /** Seq of the last applied record. */
  seq: number;
  /** Hash of the last applied record: the next record's `prevHash`. */
  head: Uint8Array;
  members: Map<string, GroupMember>;
  policy: GroupPolicy;
  /** Every invite ever made, keyed by the hex of its public key. */
  invites: Map<string, GroupInvite>;
}

/**
 * Grace for clocks when a fresh `join` is checked against an invite's expiry
 * ({@link ApplyOptions.now}): 5 minutes.
 */
export const JOIN_CLOCK_SKEW_MS = 5 * 60_000;

/** Options of {@link applyMembershipRecord}. */
export interface ApplyOptions {
  /**
   * The verifier's clock (ms). When given, a `join` is also refused if the
   * invite it uses expired more than {@link JOIN_CLOCK_SKEW_MS} before `now`
   * or the record claims a creation time that far in the future: a record
   * being accepted now cannot be back-dated past its invite's expiry. Omit it
   * when re-verifying history (a join long ago stays valid).
   */
  now?: number;
}

/** Why a `join` record is refused (the `reason` of {@link JoinRefusedError}). */
export type JoinRefusal =
  | 'POLICY'
  | 'NO_INVITE'
  | 'INVITE_UNKNOWN'
  | 'INVITE_EXPIRED'
  | 'INVITE_REVOKED'
  | 'INVITE_USED_UP'
  | 'BAD_PROOF';

/** A `NOT_AUTHORIZED` refusal of a `join`, with the rule it broke. */
export class JoinRefusedError extends CryptoError {
  constructor(
    readonly reason: JoinRefusal,
    message: string,
  ) {
    super('NOT_AUTHORIZED', message);
  }
}

/** Arguments of {@link createGenesis}. */
export interface GenesisOptions {
  groupId: string;
  name: string;
  /** The creator: username and UIK key pair. Becomes the group's first admin. */
  creator: { username: string; uik: KeyPair };
  /** The other initial members (the creator is added if absent). */
  members: MemberRef[];
  /** Milliseconds since the epoch (the caller's clock). */
  createdAt: number;
}

/** Build and sign a genesis (`create`) record; the result verifies with {@link applyMembershipRecord}. */
export function createGenesis(opts: GenesisOptions): CreateRecord {
  const creator: MemberRef = { username: opts.creator.username, uik: opts.creator.uik.publicKey };
  const byName = new Map<string, MemberRef>();
  for (const m of [...opts.members, creator]) {
    const seen = byName.get(m.username);
    if (seen && !equalBytes(seen.uik, m.uik)) {
      throw new RangeError(`member ${m.username} listed with two different UIKs`);
    }
    byName.set(m.username, m);
  }
  const members = [...byName.values()].sort((a, b) =>
    a.username < b.username ? -1 : a.username > b.username ? 1 : 0,
  );
  const rec = signMembershipRecord(
    {
      version: MEMBERSHIP_RECORD_VERSION,
      groupId: opts.groupId,
      seq: 0,
      prevHash: zeroHash(),
      op: 'create',
      actor: creator,
      name: opts.name,
      members,
      createdAt: opts.createdAt,
    },
    opts.creator.uik,
  ) as CreateRecord;
  applyMembershipRecord(null, rec);
  return rec;
}

/** Arguments of {@link createChange}. */
export type ChangeOptions = {
  /** The member making the change (the joiner for `join`): username and UIK key pair. */
  actor: { username: string; uik: KeyPair };
  createdAt: number;
} & (
  | { op: 'add' | 'remove' | 'promote' | 'demote'; subject: MemberRef }
  | { op: 'leave' }
  | ({ op: 'policy' } & GroupPolicy)
  | { op: 'invite'; invite: Uint8Array; expiresAt: number; maxUses: number }
  | { op: 'revoke'; invite: Uint8Array }
  | { op: 'join'; proof: InviteProof | null }
  | { op: 'rename'; to: string }
);

/**
 * Build and sign the next record after `state`. Throws the same `CryptoError`
 * the verifier would (NOT_AUTHORIZED…) when the change is not allowed, so a
 * client never publishes a record others will refuse.
 */
export function createChange(state: GroupState, opts: ChangeOptions): MembershipRecord {
  const base = {
    version: MEMBERSHIP_RECORD_VERSION,
    groupId: state.groupId,
    seq: state.seq + 1,
    prevHash: state.head.slice(),
    actor: { username: opts.actor.username, uik: opts.actor.uik.publicKey },
    createdAt: opts.createdAt,
  } as const;
  let unsigned: UnsignedMembershipRecord;
  switch (opts.op) {
    case 'leave':
      unsigned = { ...base, op: 'leave' };
      break;
    case 'policy':
      unsigned = {
        ...base,
        op: 'policy',
        join: opts.join,
        announce: opts.announce,
        listed: opts.listed,
        topic: opts.topic,
      };
      break;
    case 'invite':
      unsigned = {
        ...base,
        op: 'invite',
        invite: opts.invite.slice(),
        expiresAt: opts.expiresAt,
        maxUses: opts.maxUses,
      };
      break;
    case 'revoke':
      unsigned = { ...base, op: 'revoke', invite: opts.invite.slice() };
      break;
    case 'join':
      unsigned = { ...base, op: 'join', proof: opts.proof };
      break;
    case 'rename':
      unsigned = { ...base, op: 'rename', to: opts.to };
      break;
    default:
      unsigned = { ...base, op: opts.op, subject: { ...opts.subject } };
  }
  const rec = signMembershipRecord(unsigned, opts.actor.uik);
  applyMembershipRecord(state, rec, { now: opts.createdAt });
  return rec;
}

function copyState(state: GroupState): GroupState {
  const members = new Map<string, GroupMember>();
  for (const [name, m] of state.members) members.set(name, { uik: m.uik.slice(), admin: m.admin });
  const invites = new Map<string, GroupInvite>();
  for (const [key, i] of state.invites) invites.set(key, { ...i, invite: i.invite.slice() });
  return { ...state, head: state.head.slice(), members, policy: { ...state.policy }, invites };
}

/**
 * The join rules (PROTOCOL.md §8.1): the policy must be `invite` or `open`;
 * under `invite` a proof is required; a proof, when present, names an invite
 * of this chain that is not revoked, not used up, not expired at the record's
 * creation time (and, with `now`, not expired now), and its signature over the
 * joiner verifies. Returns the invite used, if any.
 */
function checkJoin(
  state: GroupState,
  rec: JoinRecord,
  now: number | undefined,
): GroupInvite | null {
  const refuse = (reason: JoinRefusal, message: string): never => {
    throw new JoinRefusedError(reason, message);
  };
  if (state.policy.join === 'admins-add') refuse('POLICY', 'the group admits no self-joins');
  if (rec.proof === null) {
    if (state.policy.join !== 'open') refuse('NO_INVITE', 'joining this group needs an invite');
    return null;
  }
  const inv = state.invites.get(toHex(rec.proof.invite));
  if (!inv) return refuse('INVITE_UNKNOWN', 'the invite is not one of this group');
  if (inv.revoked) refuse('INVITE_REVOKED', 'the invite was revoked');
  if (inv.maxUses !== 0 && inv.uses >= inv.maxUses)
    refuse('INVITE_USED_UP', 'the invite is used up');
  if (rec.createdAt > inv.expiresAt) refuse('INVITE_EXPIRED', 'the invite had expired');
  if (now !== undefined) {
    if (now > inv.expiresAt + JOIN_CLOCK_SKEW_MS)
      refuse('INVITE_EXPIRED', 'the invite has expired');
    if (rec.createdAt > now + JOIN_CLOCK_SKEW_MS) {
      refuse('INVITE_EXPIRED', 'the join claims a time in the future');
    }
  }
  if (!verifyInviteProof(state.groupId, rec.actor, rec.proof)) {
    refuse('BAD_PROOF', 'the invite proof does not verify for this joiner and group');
  }
  return inv;
}

function notAuthorized(message: string): never {
  throw new CryptoError('NOT_AUTHORIZED', message);
}

function hasAdmin(members: Map<string, GroupMember>): boolean {
  for (const m of members.values()) if (m.admin) return true;
  return false;
}

/**
 * Apply one record to a verified state (`null` before genesis) and return the
 * new state; the input state is never modified. Rules (PROTOCOL.md §8.1):
 *
 * - genesis: seq 0, zero prevHash, creator listed among the members with the
 *   signing UIK; creator becomes the only admin;
 * - otherwise: same groupId, seq = state.seq + 1 and prevHash = state.head
 *   (CHAIN_BROKEN); a different record at the current seq is a FORK;
 * - add/remove/promote/demote: actor is a current admin whose UIK matches the
 *   state; add a non-member; remove/promote/demote an existing member whose UIK
 *   matches; promote a non-admin, demote an admin; nobody removes themself
 *   (that is `leave`); leave: the actor is a member; rename: the actor is a member
 *   with that UIK and `to` is not a member (any policy; the member keeps UIK and role);
 * - a change may not leave members without any admin (NOT_AUTHORIZED);
 * - the signature by the actor's UIK verifies (BAD_SIGNATURE).
 */
export function applyMembershipRecord(
  state: GroupState | null,
  rec: MembershipRecord,
  opts: ApplyOptions = {},
): GroupState {
  // Encoding also validates every field's shape (RangeError for a hand-built bad record).
  let encoded: Uint8Array;
  try {
    encoded = encodeMembershipRecord(rec);
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'membership record is not well formed', { cause });
  }
  const recHash = hashMembershipRecord(encoded);

  if (state === null) {
    if (rec.op !== 'create') throw new CryptoError('CHAIN_BROKEN', 'chain must start with create');
    if (rec.seq !== 0 || !equalBytes(rec.prevHash, zeroHash())) {
      throw new CryptoError('CHAIN_BROKEN', 'genesis must have seq 0 and a zero prevHash');
    }
    const self = rec.members.find((m) => m.username === rec.actor.username);
    if (!self || !equalBytes(self.uik, rec.actor.uik)) {
      notAuthorized('genesis creator is not among the members with the signing UIK');
    }
    ed25519Require(rec.signature, membershipSigningBytes(rec), rec.actor.uik, 'membership record');
    const members = new Map<string, GroupMember>();
    for (const m of rec.members) {
      members.set(m.username, { uik: m.uik.slice(), admin: m.username === rec.actor.username });
    }
    return {
      groupId: rec.groupId,
      name: rec.name,
      seq: 0,
      head: recHash,
      members,
      policy: { ...DEFAULT_GROUP_POLICY },
      invites: new Map(),
    };
  }

  if (rec.groupId !== state.groupId) {
    throw new CryptoError('CHAIN_BROKEN', 'record belongs to another group');
  }
  if (rec.seq <= state.seq) {
    if (rec.seq === state.seq && !equalBytes(recHash, state.head)) {
      throw new CryptoError('FORK', `a different record already holds seq ${rec.seq}`);
    }
    throw new CryptoError('CHAIN_BROKEN', `seq ${rec.seq} is not after ${state.seq}`);
  }
  if (rec.seq !== state.seq + 1) {
    throw new CryptoError('CHAIN_BROKEN', `seq ${rec.seq} skips past ${state.seq + 1}`);
  }
  if (!equalBytes(rec.prevHash, state.head)) {
    throw new CryptoError('CHAIN_BROKEN', 'prevHash is not the current head');
  }
  if (rec.op === 'create') notAuthorized('create is only valid as genesis');

  const actor = state.members.get(rec.actor.username);
  const next = copyState(state);
  if (rec.op === 'join') {
    if (actor) notAuthorized(`${rec.actor.username} is already a member`);
    const inv = checkJoin(state, rec, opts.now);
    next.members.set(rec.actor.username, { uik: rec.actor.uik.slice(), admin: false });
    if (inv) next.invites.set(toHex(inv.invite), { ...inv, uses: inv.uses + 1 });
  } else if (!actor || !equalBytes(actor.uik, rec.actor.uik)) {
    notAuthorized(`${rec.actor.username} is not a member with that UIK`);
  } else if (rec.op === 'leave') {
    next.members.delete(rec.actor.username);
  } else if (rec.op === 'rename') {
    // Valid under every policy: the member signs for itself, keeps its UIK and role (§3.3).
    if (state.members.has(rec.to)) notAuthorized(`${rec.to} is already a member`);
    next.members.delete(rec.actor.username);
    next.members.set(rec.to, { uik: actor.uik.slice(), admin: actor.admin });
  } else if (rec.op === 'policy' || rec.op === 'invite' || rec.op === 'revoke') {
    if (!actor.admin) notAuthorized(`${rec.actor.username} is not an admin`);
    if (rec.op === 'policy') {
      next.policy = {
        join: rec.join,
        announce: rec.announce,
        listed: rec.listed,
        topic: rec.topic,
      };
    } else if (rec.op === 'invite') {
      const key = toHex(rec.invite);
      if (state.invites.has(key)) notAuthorized('that invite key was already used');
      next.invites.set(key, {
        invite: rec.invite.slice(),
        expiresAt: rec.expiresAt,
        maxUses: rec.maxUses,
        uses: 0,
        revoked: false,
        createdBy: rec.actor.username,
        seq: rec.seq,
      });
    } else {
      const inv = state.invites.get(toHex(rec.invite));
      if (!inv || inv.revoked) notAuthorized('no such live invite to revoke');
      next.invites.set(toHex(rec.invite), { ...inv, revoked: true });
    }
  } else {
    if (!actor.admin) notAuthorized(`${rec.actor.username} is not an admin`);
    const { username, uik } = rec.subject;
    const subject = state.members.get(username);
    if (rec.op === 'add') {
      if (subject) notAuthorized(`${username} is already a member`);
      next.members.set(username, { uik: uik.slice(), admin: false });
    } else {
      if (!subject || !equalBytes(subject.uik, uik)) {
        notAuthorized(`${username} is not a member with that UIK`);
      }
      if (rec.op === 'remove') {
        if (username === rec.actor.username) notAuthorized('use leave to remove yourself');
        next.members.delete(username);
      } else if (rec.op === 'promote') {
        if (subject.admin) notAuthorized(`${username} is already an admin`);
        next.members.set(username, { uik: subject.uik.slice(), admin: true });
      } else {
        if (!subject.admin) notAuthorized(`${username} is not an admin`);
        next.members.set(username, { uik: subject.uik.slice(), admin: false });
      }
    }
  }
  if (next.members.size > MAX_GROUP_MEMBERS) notAuthorized('group is full');
  if (next.members.size > 0 && !hasAdmin(next.members)) {
    notAuthorized('the change would leave the group without an admin');
  }
  ed25519Require(rec.signature, membershipSigningBytes(rec), rec.actor.uik, 'membership record');
  next.seq = rec.seq;
  next.head = recHash;
  return next;
}

/**
 * True when `a` and `b` are two different records claiming the same position
 * (same group and seq) of a chain: proof that someone signed a fork.
 */
export function detectFork(a: MembershipRecord, b: MembershipRecord): boolean {
  if (a.groupId !== b.groupId || a.seq !== b.seq) return false;
  return !equalBytes(hashMembershipRecord(a), hashMembershipRecord(b));
}

/** Options of {@link verifyMembershipChain}. */
export interface VerifyChainOptions {
  /** The verifier's clock; applied (see {@link ApplyOptions.now}) to records from `freshFrom` on. */
  now?: number;
  /** First seq that is new to the verifier (default 0: all of them). */
  freshFrom?: number;
}

/**
 * Verify a whole chain from its genesis and return the final state. Records
 * must come in order; a record at a seq already seen is a FORK if it differs
 * from the one accepted there, CHAIN_BROKEN if it repeats it.
 */
export function verifyMembershipChain(
  records: readonly (MembershipRecord | Uint8Array)[],
  opts: VerifyChainOptions = {},
): GroupState {
  if (records.length === 0) throw new CryptoError('CHAIN_BROKEN', 'empty membership chain');
  const seen: Uint8Array[] = [];
  let state: GroupState | null = null;
  for (const item of records) {
    const rec = item instanceof Uint8Array ? decodeMembershipRecord(item) : item;
    if (state !== null && rec.seq <= state.seq && rec.groupId === state.groupId) {
      const earlier = seen[rec.seq];
      let h: Uint8Array;
      try {
        h = hashMembershipRecord(rec);
      } catch (cause) {
        throw new CryptoError('MALFORMED', 'membership record is not well formed', { cause });
      }
      if (earlier && !equalBytes(earlier, h)) {
        throw new CryptoError('FORK', `a different record already holds seq ${rec.seq}`);
      }
      throw new CryptoError('CHAIN_BROKEN', `record at seq ${rec.seq} repeated`);
    }
    const fresh = opts.now !== undefined && rec.seq >= (opts.freshFrom ?? 0);
    state = applyMembershipRecord(
      state,
      rec,
      fresh && opts.now !== undefined ? { now: opts.now } : {},
    );
    seen[state.seq] = state.head;
  }
  return state!;
}
