/**
 * The signed, hash-chained group membership log (PROTOCOL.md §8.1, DESIGN.md §3).
 *
 * Every change to a group's member list is a record signed by the user identity
 * key (UIK, Ed25519) of the member who made it and linked to the previous
 * record by hash. The key server stores and serves the chain and derives the
 * broker ACL from it; clients verify the whole chain before they hand a sender
 * key to anyone, so the server cannot add a member by itself.
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter, equalBytes, fromUtf8, utf8 } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { ed25519Require, ed25519Sign } from '../internal/groups-ed25519.ts';
import { hash, LABELS } from '../kdf.ts';
import type { KeyPair } from '../keys.ts';
import { sodium } from '../sodium.ts';
import { GROUP_ID_PATTERN, USERNAME_PATTERN } from '../wire/topics.ts';

/** The only membership record version this implementation speaks. */
export const MEMBERSHIP_RECORD_VERSION = 1;

/** Most members a group may have (PROTOCOL.md §8.1). */
export const MAX_GROUP_MEMBERS = 1000;

/** Longest group name, in UTF-8 bytes. */
export const MAX_GROUP_NAME_BYTES = 128;

/**
 * Domain string prepended (as `string8`) to the bytes an actor signs, so a
 * membership signature can never be replayed as any other UIK signature.
 */
export const MEMBERSHIP_SIGNATURE_CONTEXT = 'Sotto_v1_MembershipRecordSignature';

/** Membership operations and their wire bytes. */
export const MembershipOp = {
  /** Genesis: the creator (admin) and the initial members. Always seq 0. */
  create: 1,
  /** An admin adds a new member (not admin). */
  add: 2,
  /** An admin removes another member. */
  remove: 3,
  /** An admin makes a member an admin. */
  promote: 4,
  /** An admin takes admin rights from an admin. */
  demote: 5,
  /** A member leaves; signed by the leaver. */
  leave: 6,
} as const;

/** Name of a membership operation. */
export type MembershipOpName = keyof typeof MembershipOp;

const OP_BY_BYTE = new Map<number, MembershipOpName>(
  Object.entries(MembershipOp).map(([name, byte]) => [byte, name as MembershipOpName]),
);

/** A user as the membership chain names them: username and UIK (Ed25519 public key). */
export interface MemberRef {
  username: string;
  uik: Uint8Array;
}

/** Fields every membership record has. */
interface MembershipRecordBase {
  version: typeof MEMBERSHIP_RECORD_VERSION;
  groupId: string;
  /** Position in the chain: 0 for the genesis record. */
  seq: number;
  /** Hash of the previous record ({@link hashMembershipRecord}); 32 zero bytes for genesis. */
  prevHash: Uint8Array;
  /** Who made (and signed) the change. */
  actor: MemberRef;
  /** Milliseconds since the epoch, as the actor's clock said. Informational only. */
  createdAt: number;
  /** Ed25519 signature by `actor.uik` over {@link membershipSigningBytes}. */
  signature: Uint8Array;
}

/** Genesis record: group name and the initial members (sorted by username, creator included). */
export interface CreateRecord extends MembershipRecordBase {
  op: 'create';
  name: string;
  members: MemberRef[];
}

/** A change naming one other member. */
export interface SubjectRecord extends MembershipRecordBase {
  op: 'add' | 'remove' | 'promote' | 'demote';
  subject: MemberRef;
}

/** The actor leaves the group. */
export interface LeaveRecord extends MembershipRecordBase {
  op: 'leave';
}

/** One record of a group's membership chain. */
export type MembershipRecord = CreateRecord | SubjectRecord | LeaveRecord;

/** A record before it is signed. */
export type UnsignedMembershipRecord =
  | Omit<CreateRecord, 'signature'>
  | Omit<SubjectRecord, 'signature'>
  | Omit<LeaveRecord, 'signature'>;

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

function zeroHash(): Uint8Array {
  return new Uint8Array(sodium().crypto_generichash_BYTES);
}

function uikBytes(): number {
  return sodium().crypto_sign_PUBLICKEYBYTES;
}

function checkMemberArg(ref: MemberRef, name: string): void {
  if (!USERNAME_PATTERN.test(ref.username)) {
    throw new RangeError(`${name}.username is not a valid username`);
  }
  if (!(ref.uik instanceof Uint8Array) || ref.uik.length !== uikBytes()) {
    throw new RangeError(`${name}.uik must be ${uikBytes()} bytes`);
  }
}

function writeMember(w: ByteWriter, ref: MemberRef, name: string): void {
  checkMemberArg(ref, name);
  w.string8(ref.username).raw(ref.uik);
}

function readMember(r: ByteReader, what: string): MemberRef {
  const username = r.string8(`${what} username`);
  if (!USERNAME_PATTERN.test(username))
    throw new CryptoError('MALFORMED', `${what} username invalid`);
  const uik = r.raw(uikBytes(), `${what} uik`);
  return { username, uik };
}

/**
 * The to-be-signed encoding (PROTOCOL.md §8.1):
 *
 *     u8 version ‖ string8 groupId ‖ u32 seq ‖ prevHash[32] ‖ u8 op ‖
 *     string8 actor ‖ actorUik[32] ‖ opBody ‖ u64 createdAt
 *
 * opBody: create → `string8 name ‖ u16 n ‖ n × (string8 username ‖ uik[32])` (sorted, unique);
 * add/remove/promote/demote → `string8 subject ‖ subjectUik[32]`; leave → empty.
 */
function encodeUnsigned(rec: UnsignedMembershipRecord): Uint8Array {
  if (rec.version !== MEMBERSHIP_RECORD_VERSION) throw new RangeError('unsupported record version');
  if (!GROUP_ID_PATTERN.test(rec.groupId)) throw new RangeError('groupId is not a valid group id');
  if (!Number.isInteger(rec.seq) || rec.seq < 0 || rec.seq > 0xffffffff) {
    throw new RangeError('seq out of range');
  }
  if (!(rec.prevHash instanceof Uint8Array) || rec.prevHash.length !== zeroHash().length) {
    throw new RangeError('prevHash must be 32 bytes');
  }
  const w = new ByteWriter()
    .u8(rec.version)
    .string8(rec.groupId)
    .u32(rec.seq)
    .raw(rec.prevHash)
    .u8(MembershipOp[rec.op]);
  writeMember(w, rec.actor, 'actor');
  switch (rec.op) {
    case 'create': {
      const nameBytes = utf8(rec.name);
      if (nameBytes.length > MAX_GROUP_NAME_BYTES) {
        throw new RangeError(`name longer than ${MAX_GROUP_NAME_BYTES} bytes`);
      }
      if (rec.members.length < 1 || rec.members.length > MAX_GROUP_MEMBERS) {
        throw new RangeError(`members must number 1..${MAX_GROUP_MEMBERS}`);
      }
      w.bytes8(nameBytes).u16(rec.members.length);
      let prev = '';
      for (const m of rec.members) {
        if (m.username <= prev)
          throw new RangeError('members must be sorted by username and unique');
        prev = m.username;
        writeMember(w, m, 'member');
      }
      break;
    }
    case 'add':
    case 'remove':
    case 'promote':
    case 'demote':
      writeMember(w, rec.subject, 'subject');
      break;
    case 'leave':
      break;
  }
  return w.u64(rec.createdAt).finish();
}

/**
 * The exact bytes an actor signs: `string8(MEMBERSHIP_SIGNATURE_CONTEXT) ‖ tbs`.
 */
export function membershipSigningBytes(rec: UnsignedMembershipRecord): Uint8Array {
  return new ByteWriter().string8(MEMBERSHIP_SIGNATURE_CONTEXT).raw(encodeUnsigned(rec)).finish();
}

/** Canonical encoding of a record: the to-be-signed bytes followed by the 64-byte signature. */
export function encodeMembershipRecord(rec: MembershipRecord): Uint8Array {
  if (
    !(rec.signature instanceof Uint8Array) ||
    rec.signature.length !== sodium().crypto_sign_BYTES
  ) {
    throw new RangeError(`signature must be ${sodium().crypto_sign_BYTES} bytes`);
  }
  return new ByteWriter().raw(encodeUnsigned(rec)).raw(rec.signature).finish();
}

/**
 * Strict decoder: every field checked, nothing may trail. Throws `CryptoError`
 * (MALFORMED, UNSUPPORTED_VERSION, UNKNOWN_TYPE). Does not verify the signature
 * or any chain rule: that is {@link applyMembershipRecord}'s job.
 */
export function decodeMembershipRecord(bytes: Uint8Array): MembershipRecord {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError('MALFORMED', 'record is not bytes');
  const r = new ByteReader(bytes);
  const version = r.u8('version');
  if (version !== MEMBERSHIP_RECORD_VERSION) {
    throw new CryptoError('UNSUPPORTED_VERSION', `membership record version ${version}`);
  }
  const groupId = r.string8('groupId');
  if (!GROUP_ID_PATTERN.test(groupId)) throw new CryptoError('MALFORMED', 'groupId invalid');
  const seq = r.u32('seq');
  const prevHash = r.raw(zeroHash().length, 'prevHash');
  const opByte = r.u8('op');
  const op = OP_BY_BYTE.get(opByte);
  if (op === undefined) throw new CryptoError('UNKNOWN_TYPE', `membership op ${opByte}`);
  const actor = readMember(r, 'actor');
  const base = { version: MEMBERSHIP_RECORD_VERSION, groupId, seq, prevHash, actor } as const;
  let rec: MembershipRecord;
  switch (op) {
    case 'create': {
      const nameBytes = r.bytes8('name');
      if (nameBytes.length > MAX_GROUP_NAME_BYTES)
        throw new CryptoError('MALFORMED', 'name too long');
      const name = fromUtf8(nameBytes);
      const n = r.u16('member count');
      if (n < 1 || n > MAX_GROUP_MEMBERS)
        throw new CryptoError('MALFORMED', 'member count out of range');
      const members: MemberRef[] = [];
      let prev = '';
      for (let i = 0; i < n; i++) {
        const m = readMember(r, 'member');
        if (m.username <= prev) throw new CryptoError('MALFORMED', 'members not sorted and unique');
        prev = m.username;
        members.push(m);
      }
      rec = { ...base, op, name, members, createdAt: 0, signature: new Uint8Array(0) };
      break;
    }
    case 'add':
    case 'remove':
    case 'promote':
    case 'demote':
      rec = {
        ...base,
        op,
        subject: readMember(r, 'subject'),
        createdAt: 0,
        signature: new Uint8Array(0),
      };
      break;
    case 'leave':
      rec = { ...base, op, createdAt: 0, signature: new Uint8Array(0) };
      break;
  }
  rec.createdAt = r.u64('createdAt');
  rec.signature = r.raw(sodium().crypto_sign_BYTES, 'signature');
  r.end('membership record');
  return rec;
}

/**
 * Hash of a record, the link to it from the next one:
 * `BLAKE2b-256(string8(LABELS.membership) ‖ encodeMembershipRecord(rec))`.
 */
export function hashMembershipRecord(rec: MembershipRecord | Uint8Array): Uint8Array {
  const encoded = rec instanceof Uint8Array ? rec : encodeMembershipRecord(rec);
  return hash(
    sodium().crypto_generichash_BYTES,
    new ByteWriter().string8(LABELS.membership).finish(),
    encoded,
  );
}

/**
 * Sign an unsigned record with `signer` (the actor's UIK key pair). Checks only
 * that `signer` is the actor's key; no chain rule is checked, so this can also
 * build records a verifier must refuse (tests, fuzzing). Prefer
 * {@link createGenesis} and {@link createChange}.
 */
export function signMembershipRecord(
  unsigned: UnsignedMembershipRecord,
  signer: KeyPair,
): MembershipRecord {
  if (!equalBytes(signer.publicKey, unsigned.actor.uik)) {
    throw new RangeError('signer is not the actor UIK');
  }
  const signature = ed25519Sign(membershipSigningBytes(unsigned), signer.secretKey);
  return { ...unsigned, signature };
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
