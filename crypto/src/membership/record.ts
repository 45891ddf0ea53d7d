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
import { ed25519Sign } from '../internal/groups-ed25519.ts';
import { hash, LABELS } from '../kdf.ts';
import type { KeyPair } from '../keys.ts';
import { checkRenameNames } from '../rename.ts';
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
  /** An admin sets the join policy, announcement-only and directory listing. */
  policy: 7,
  /** An admin creates an invite: its public key, expiry and use limit. */
  invite: 8,
  /** An admin revokes an invite. */
  revoke: 9,
  /** A non-member joins as allowed by the policy; signed by the joiner. */
  join: 10,
  /** A guest member now goes by a new username (same UIK, same role); signed by that member. */
  rename: 11,
} as const;

/** Who may join a group without an admin adding them, and their wire bytes (PROTOCOL.md §8.1). */
export const JoinPolicy = {
  /** Only admins add members (the default of every chain). */
  'admins-add': 0,
  /** Anyone holding a valid invite joins with a `join` record. */
  invite: 1,
  /** Anyone joins with a `join` record. */
  open: 2,
} as const;

/** Name of a join policy. */
export type JoinPolicyName = keyof typeof JoinPolicy;

const POLICY_BY_BYTE = new Map<number, JoinPolicyName>(
  Object.entries(JoinPolicy).map(([name, byte]) => [byte, name as JoinPolicyName]),
);

/** Longest room topic (directory description), in UTF-8 bytes. */
export const MAX_GROUP_TOPIC_BYTES = 200;

/** Bits of a policy record's flags byte; any other bit set is MALFORMED. */
const POLICY_FLAG = { announce: 1, listed: 2 } as const;

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

/** An admin sets the group's policy (replacing the previous one as a whole). */
export interface PolicyRecord extends MembershipRecordBase {
  op: 'policy';
  join: JoinPolicyName;
  /** Announcement-only: only admins post. */
  announce: boolean;
  /** Listed in the server's public room directory (only meaningful with `open`). */
  listed: boolean;
  /** Short public description for the directory; may be empty. */
  topic: string;
}

/** An admin creates an invite; joiners prove they hold its secret (invite.ts). */
export interface InviteRecord extends MembershipRecordBase {
  op: 'invite';
  /** Ed25519 public key derived from the link secret ({@link inviteKeyPair}). */
  invite: Uint8Array;
  /** Milliseconds since the epoch after which no join may use it. */
  expiresAt: number;
  /** Most joins it admits; 0 = no limit. */
  maxUses: number;
}

/** An admin revokes an invite. */
export interface RevokeRecord extends MembershipRecordBase {
  op: 'revoke';
  invite: Uint8Array;
}

/** Proof that the joiner holds an invite's secret (invite.ts). */
export interface InviteProof {
  /** The invite's public key, as its `invite` record names it. */
  invite: Uint8Array;
  /** Ed25519 signature by the invite key over {@link inviteProofBytes}. */
  signature: Uint8Array;
}

/** A non-member joins; the actor is the joiner, signing with their own UIK. */
export interface JoinRecord extends MembershipRecordBase {
  op: 'join';
  /** Required under policy `invite`; `null` for a join into an `open` group. */
  proof: InviteProof | null;
}

/**
 * A member renames itself (PROTOCOL.md §3.3): the actor is the member under its old (guest)
 * name, signing with the UIK the chain holds for it; `to` is its new name.
 */
export interface RenameRecord extends MembershipRecordBase {
  op: 'rename';
  to: string;
}

/** One record of a group's membership chain. */
export type MembershipRecord =
  | RenameRecord
  | CreateRecord
  | SubjectRecord
  | LeaveRecord
  | PolicyRecord
  | InviteRecord
  | RevokeRecord
  | JoinRecord;

/** A record before it is signed. */
export type UnsignedMembershipRecord =
  | Omit<RenameRecord, 'signature'>
  | Omit<CreateRecord, 'signature'>
  | Omit<SubjectRecord, 'signature'>
  | Omit<LeaveRecord, 'signature'>
  | Omit<PolicyRecord, 'signature'>
  | Omit<InviteRecord, 'signature'>
  | Omit<RevokeRecord, 'signature'>
  | Omit<JoinRecord, 'signature'>;

/** The all-zero hash a genesis record links to. Internal to `membership/`. */
export function zeroHash(): Uint8Array {
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
 * add/remove/promote/demote → `string8 subject ‖ subjectUik[32]`; leave → empty;
 * policy → `u8 join ‖ u8 flags ‖ string8 topic`; invite → `invite[32] ‖ u64 expiresAt ‖
 * u32 maxUses`; revoke → `invite[32]`; join → `u8 0` or `u8 1 ‖ invite[32] ‖ proof[64]`;
 * rename → `string8 to` (the actor a guest name, `to` not one).
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
    case 'policy': {
      const topic = utf8(rec.topic);
      if (topic.length > MAX_GROUP_TOPIC_BYTES) {
        throw new RangeError(`topic longer than ${MAX_GROUP_TOPIC_BYTES} bytes`);
      }
      if (!(rec.join in JoinPolicy)) throw new RangeError('join is not a join policy');
      const flags =
        (rec.announce ? POLICY_FLAG.announce : 0) | (rec.listed ? POLICY_FLAG.listed : 0);
      w.u8(JoinPolicy[rec.join]).u8(flags).bytes8(topic);
      break;
    }
    case 'invite':
      checkInviteKey(rec.invite);
      if (!Number.isInteger(rec.maxUses) || rec.maxUses < 0 || rec.maxUses > 0xffffffff) {
        throw new RangeError('maxUses out of range');
      }
      w.raw(rec.invite).u64(rec.expiresAt).u32(rec.maxUses);
      break;
    case 'revoke':
      checkInviteKey(rec.invite);
      w.raw(rec.invite);
      break;
    case 'rename':
      checkRenameNames(rec.actor.username, rec.to);
      w.string8(rec.to);
      break;
    case 'join':
      if (rec.proof === null) {
        w.u8(0);
      } else {
        checkInviteKey(rec.proof.invite);
        if (rec.proof.signature.length !== sodium().crypto_sign_BYTES) {
          throw new RangeError(`proof.signature must be ${sodium().crypto_sign_BYTES} bytes`);
        }
        w.u8(1).raw(rec.proof.invite).raw(rec.proof.signature);
      }
      break;
  }
  return w.u64(rec.createdAt).finish();
}

function checkInviteKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== uikBytes()) {
    throw new RangeError(`invite key must be ${uikBytes()} bytes`);
  }
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
    case 'policy': {
      const joinByte = r.u8('join policy');
      const join = POLICY_BY_BYTE.get(joinByte);
      if (join === undefined) throw new CryptoError('MALFORMED', `join policy ${joinByte}`);
      const flags = r.u8('policy flags');
      if ((flags & ~(POLICY_FLAG.announce | POLICY_FLAG.listed)) !== 0) {
        throw new CryptoError('MALFORMED', 'unknown policy flags');
      }
      const topicBytes = r.bytes8('topic');
      if (topicBytes.length > MAX_GROUP_TOPIC_BYTES) {
        throw new CryptoError('MALFORMED', 'topic too long');
      }
      rec = {
        ...base,
        op,
        join,
        announce: (flags & POLICY_FLAG.announce) !== 0,
        listed: (flags & POLICY_FLAG.listed) !== 0,
        topic: fromUtf8(topicBytes),
        createdAt: 0,
        signature: new Uint8Array(0),
      };
      break;
    }
    case 'invite': {
      const invite = r.raw(uikBytes(), 'invite key');
      const expiresAt = r.u64('expiresAt');
      const maxUses = r.u32('maxUses');
      rec = { ...base, op, invite, expiresAt, maxUses, createdAt: 0, signature: new Uint8Array(0) };
      break;
    }
    case 'revoke':
      rec = {
        ...base,
        op,
        invite: r.raw(uikBytes(), 'invite key'),
        createdAt: 0,
        signature: new Uint8Array(0),
      };
      break;
    case 'rename': {
      const to = r.string8('to');
      try {
        checkRenameNames(actor.username, to);
      } catch (cause) {
        throw new CryptoError('MALFORMED', 'rename record is not a guest → user rename', { cause });
      }
      rec = { ...base, op, to, createdAt: 0, signature: new Uint8Array(0) };
      break;
    }
    case 'join': {
      const has = r.u8('proof flag');
      let proof: InviteProof | null = null;
      if (has === 1) {
        const invite = r.raw(uikBytes(), 'invite key');
        proof = { invite, signature: r.raw(sodium().crypto_sign_BYTES, 'invite proof') };
      } else if (has !== 0) {
        throw new CryptoError('MALFORMED', 'proof flag must be 0 or 1');
      }
      rec = { ...base, op, proof, createdAt: 0, signature: new Uint8Array(0) };
      break;
    }
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
