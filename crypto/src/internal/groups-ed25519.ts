/**
 * Tiny Ed25519 helpers for the group modules (sender keys, membership chain,
 * Merkle tree heads). They call libsodium directly so the group code does not
 * depend on the pairwise-session modules; every failure is a `CryptoError`.
 *
 * Runtime: any.
 */
import { CryptoError } from '../errors.ts';
import type { KeyPair } from '../keys.ts';
import { sodium } from '../sodium.ts';

/** Ed25519 key pair, from a 32-byte seed when given (deterministic vectors), else random. */
export function ed25519KeyPair(seed?: Uint8Array): KeyPair {
  const s = sodium();
  if (seed !== undefined) {
    if (seed.length !== s.crypto_sign_SEEDBYTES) {
      throw new RangeError(`seed must be ${s.crypto_sign_SEEDBYTES} bytes`);
    }
    const kp = s.crypto_sign_seed_keypair(seed);
    return { publicKey: kp.publicKey, secretKey: kp.privateKey };
  }
  const kp = s.crypto_sign_keypair();
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/** Detached Ed25519 signature of `message` with a 64-byte libsodium secret key. */
export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const s = sodium();
  if (secretKey.length !== s.crypto_sign_SECRETKEYBYTES) {
    throw new RangeError(`secretKey must be ${s.crypto_sign_SECRETKEYBYTES} bytes`);
  }
  return s.crypto_sign_detached(message, secretKey);
}

/**
 * True when `signature` is a valid Ed25519 signature of `message` by `publicKey`.
 * Wrong lengths, small-order keys and non-canonical signatures are all false
 * (libsodium rejects the latter two itself); never throws.
 */
export function ed25519Verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  const s = sodium();
  if (signature.length !== s.crypto_sign_BYTES) return false;
  if (publicKey.length !== s.crypto_sign_PUBLICKEYBYTES) return false;
  try {
    return s.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** Throws `CryptoError('BAD_SIGNATURE')` unless {@link ed25519Verify} accepts. */
export function ed25519Require(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  what: string,
): void {
  if (!ed25519Verify(signature, message, publicKey)) {
    throw new CryptoError('BAD_SIGNATURE', `${what}: signature does not verify`);
  }
}
