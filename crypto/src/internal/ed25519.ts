/**
 * Ed25519 signing and verification as the protocol uses it (PROTOCOL.md §2.5).
 * Every signed object is signed over `string8(domain) ‖ message`, so a
 * signature made for one purpose never verifies for another.
 */
import { ByteWriter } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { sodium } from '../sodium.ts';

/** The exact bytes that are signed: `string8(domain) ‖ message`. */
export function signedMessage(domain: string, message: Uint8Array): Uint8Array {
  return new ByteWriter().string8(domain).raw(message).finish();
}

/** Detached Ed25519 signature over the domain-separated message. */
export function sign(secretKey: Uint8Array, domain: string, message: Uint8Array): Uint8Array {
  return sodium().crypto_sign_detached(signedMessage(domain, message), secretKey);
}

/**
 * Verify a detached Ed25519 signature over raw bytes (no domain). libsodium
 * rejects non-canonical `S`, small-order `R` and public keys, and non-canonical
 * encodings (checked against Wycheproof in test/wycheproof.test.ts). Throws
 * `CryptoError('BAD_SIGNATURE')` on any failure.
 */
export function verifyRaw(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
  const s = sodium();
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== s.crypto_sign_PUBLICKEYBYTES) {
    throw new CryptoError(
      'BAD_SIGNATURE',
      `Ed25519 public key must be ${s.crypto_sign_PUBLICKEYBYTES} bytes`,
    );
  }
  if (!(signature instanceof Uint8Array) || signature.length !== s.crypto_sign_BYTES) {
    throw new CryptoError(
      'BAD_SIGNATURE',
      `Ed25519 signature must be ${s.crypto_sign_BYTES} bytes`,
    );
  }
  let ok = false;
  try {
    ok = s.crypto_sign_verify_detached(signature, message, publicKey);
  } catch (cause) {
    throw new CryptoError('BAD_SIGNATURE', 'signature does not verify', { cause });
  }
  if (!ok) throw new CryptoError('BAD_SIGNATURE', 'signature does not verify');
}

/** Verify a signature made by {@link sign}; throws `CryptoError('BAD_SIGNATURE')`. */
export function verify(
  publicKey: Uint8Array,
  domain: string,
  message: Uint8Array,
  signature: Uint8Array,
): void {
  verifyRaw(publicKey, signedMessage(domain, message), signature);
}
