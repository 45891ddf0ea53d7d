/**
 * The membership chain's rules (PROTOCOL.md §8.1): building the genesis and the
 * next record, applying a record to a verified state, detecting forks and
 * verifying a whole chain. The record format itself is in `record.ts`.
 *
 * Runtime: any.
 */
import { equalBytes } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { ed25519Require } from '../internal/groups-ed25519.ts';
import type { KeyPair } from '../keys.ts';
import {
  MAX_GROUP_MEMBERS,
  MEMBERSHIP_RECORD_VERSION,
  type CreateRecord,
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

/** The group as a verified chain leaves it. */
export interface GroupState {
  groupId: string;
  name: string;
  /** Seq of the last applied record. */
  seq: number;
  /** Hash of the last applied record: the next record's `prevHash`. */
  head: Uint8Array;
  members: Map<string, GroupMember>;
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
  /** The member making the change: username and UIK key pair. */
  actor: { username: string; uik: KeyPair };
  createdAt: number;
} & ({ op: 'add' | 'remove' | 'promote' | 'demote'; subject: MemberRef } | { op: 'leave' });

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
  const unsigned: UnsignedMembershipRecord =
    opts.op === 'leave'
      ? { ...base, op: 'leave' }
      : { ...base, op: opts.op, subject: { ...opts.subject } };
  const rec = signMembershipRecord(unsigned, opts.actor.uik);
  applyMembershipRecord(state, rec);
  return rec;
}

function copyState(state: GroupState): GroupState {
  const members = new Map<string, GroupMember>();
  for (const [name, m] of state.members) members.set(name, { uik: m.uik.slice(), admin: m.admin });
  return { ...state, head: state.head.slice(), members };
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
 *   (that is `leave`); leave: the actor is a member;
 * - a change may not leave members without any admin (NOT_AUTHORIZED);
 * - the signature by the actor's UIK verifies (BAD_SIGNATURE).
 */
export function applyMembershipRecord(state: GroupState | null, rec: MembershipRecord): GroupState {
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
    return { groupId: rec.groupId, name: rec.name, seq: 0, head: recHash, members };
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
  if (!actor || !equalBytes(actor.uik, rec.actor.uik)) {
    notAuthorized(`${rec.actor.username} is not a member with that UIK`);
  }
  const next = copyState(state);
  if (rec.op === 'leave') {
    next.members.delete(rec.actor.username);
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

/**
 * Verify a whole chain from its genesis and return the final state. Records
 * must come in order; a record at a seq already seen is a FORK if it differs
 * from the one accepted there, CHAIN_BROKEN if it repeats it.
 */
export function verifyMembershipChain(
  records: readonly (MembershipRecord | Uint8Array)[],
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
    state = applyMembershipRecord(state, rec);
    seen[state.seq] = state.head;
  }
  return state!;
}
