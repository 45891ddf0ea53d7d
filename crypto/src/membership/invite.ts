/**
 * Invites into a group (PROTOCOL.md §8.1 "Join policies and invites").
 *
 * An invite link carries a random secret in its URL fragment, which the key
 * server never sees. From the secret both sides derive an Ed25519 key pair;
 * the admin's `invite` record publishes only its public key. A joiner proves
 * they hold the secret by signing their own identity (group id, username, UIK)
 * with the invite key, so the key server and every member can check the proof
 * without learning the secret, and a proof made for one joiner or one group
 * is worthless for another.
 *
 * Runtime: any.
 */
import { ByteWriter } from '../bytes.ts';
import { ed25519KeyPair, ed25519Sign, ed25519Verify } from '../internal/groups-ed25519.ts';
import { kdf } from '../kdf.ts';
import type { KeyPair } from '../keys.ts';
import { sodium } from '../sodium.ts';
import type { InviteProof, MemberRef } from './record.ts';

/** Length of an invite secret in bytes (the link carries it as base64url). */
export const INVITE_SECRET_BYTES = 32;

/** KDF label: invite secret → Ed25519 seed of the invite key. */
export const INVITE_KEY_LABEL = 'Sotto_v1_InviteKey';

/** Domain string of the joiner's proof signature. */
export const INVITE_PROOF_CONTEXT = 'Sotto_v1_InviteProof';

/** A fresh random invite secret (libsodium randomness). */
export function createInviteSecret(): Uint8Array {
  return sodium().randombytes_buf(INVITE_SECRET_BYTES);
}

/** The invite key pair: `Ed25519Seed(KDF(secret, –, "Sotto_v1_InviteKey", 32))`. */
export function inviteKeyPair(secret: Uint8Array): KeyPair {
  if (!(secret instanceof Uint8Array) || secret.length !== INVITE_SECRET_BYTES) {
    throw new RangeError(`secret must be ${INVITE_SECRET_BYTES} bytes`);
  }
  const seed = kdf(secret, null, INVITE_KEY_LABEL, sodium().crypto_sign_SEEDBYTES);
  const kp = ed25519KeyPair(seed);
  sodium().memzero(seed);
  return kp;
}

/**
 * What the invite key signs for a joiner:
 * `string8("Sotto_v1_InviteProof") ‖ string8 groupId ‖ string8 username ‖ uik[32] ‖ invite[32]`.
 */
export function inviteProofBytes(
  groupId: string,
  joiner: MemberRef,
  invite: Uint8Array,
): Uint8Array {
  return new ByteWriter()
    .string8(INVITE_PROOF_CONTEXT)
    .string8(groupId)
    .string8(joiner.username)
    .raw(joiner.uik)
    .raw(invite)
    .finish();
}

/** The proof a joiner puts into their `join` record. */
export function signInviteProof(
  secret: Uint8Array,
  groupId: string,
  joiner: MemberRef,
): InviteProof {
  const kp = inviteKeyPair(secret);
  const signature = ed25519Sign(inviteProofBytes(groupId, joiner, kp.publicKey), kp.secretKey);
  sodium().memzero(kp.secretKey);
  return { invite: kp.publicKey, signature };
}

/** True when `proof` is the invite key's signature over this joiner in this group. Never throws. */
export function verifyInviteProof(groupId: string, joiner: MemberRef, proof: InviteProof): boolean {
  let message: Uint8Array;
  try {
    message = inviteProofBytes(groupId, joiner, proof.invite);
  } catch {
    return false;
  }
  return ed25519Verify(proof.signature, message, proof.invite);
}
