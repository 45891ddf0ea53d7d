/**
 * The signed, hash-chained group membership log (PROTOCOL.md §8.1, DESIGN.md §3).
 *
 * Every change to a group's member list is a record signed by the user identity
 * key (UIK, Ed25519) of the member who made it and linked to the previous
 * record by hash. The key server stores and serves the chain and derives the
 * broker ACL from it; clients verify the whole chain before they hand a sender
 * key to anyone, so the server cannot add a member by itself.
 *
 * `chain.ts` (the rules: genesis, change, apply, verify, join policies) builds on
 * `record.ts` (the record format, its hash and signature) and `invite.ts` (invite
 * keys and the joiner's proof).
 *
 * Runtime: any.
 */
export {
  MEMBERSHIP_RECORD_VERSION,
  MAX_GROUP_MEMBERS,
  MAX_GROUP_NAME_BYTES,
  MEMBERSHIP_SIGNATURE_CONTEXT,
  MembershipOp,
  type MembershipOpName,
  type MemberRef,
  type CreateRecord,
  type SubjectRecord,
  type LeaveRecord,
  JoinPolicy,
  type JoinPolicyName,
  MAX_GROUP_TOPIC_BYTES,
  type PolicyRecord,
  type InviteRecord,
  type RevokeRecord,
  type InviteProof,
  type JoinRecord,
  type RenameRecord,
  type MembershipRecord,
  type UnsignedMembershipRecord,
  membershipSigningBytes,
  encodeMembershipRecord,
  decodeMembershipRecord,
  hashMembershipRecord,
  signMembershipRecord,
} from './membership/record.ts';
export * from './membership/chain.ts';
export * from './membership/invite.ts';
