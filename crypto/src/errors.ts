/**
 * Typed errors for everything the protocol library rejects. Callers switch on
 * `code`, never on message text; the codes are stable and documented in
 * docs/PROTOCOL.md §9.
 */

/** Every reason the library rejects input. */
export type CryptoErrorCode =
  /** Bytes do not parse: too short, bad length prefix, trailing bytes. */
  | 'MALFORMED'
  /** Version byte this implementation does not speak. */
  | 'UNSUPPORTED_VERSION'
  /** Envelope or record type byte is unknown. */
  | 'UNKNOWN_TYPE'
  /** An input exceeds a protocol size limit. */
  | 'OVERSIZED'
  /** A public key is not a valid key of its kind (wrong length, low order). */
  | 'INVALID_KEY'
  /** An Ed25519 signature does not verify. */
  | 'BAD_SIGNATURE'
  /** A device certificate is malformed, expired, or not signed by the user key. */
  | 'BAD_CERTIFICATE'
  /** AEAD authentication failed: tampered, truncated or for another key. */
  | 'DECRYPT_FAILED'
  /** The message key was already used: a replay or duplicate delivery. */
  | 'DUPLICATE_MESSAGE'
  /** Decrypting would skip more message keys than the protocol allows. */
  | 'TOO_MANY_SKIPPED'
  /** The message belongs to a session or sender chain we do not have. */
  | 'NO_SESSION'
  /** A one-time prekey referenced by a prekey message is not (or no longer) held. */
  | 'PREKEY_NOT_FOUND'
  /** A membership record does not link to the previous record by hash. */
  | 'CHAIN_BROKEN'
  /** A membership record is not signed by a current admin, or makes an illegal change. */
  | 'NOT_AUTHORIZED'
  /** Two different records claim the same position in a membership chain. */
  | 'FORK'
  /** Attachment stream ended early, out of order, or past its final chunk. */
  | 'TRUNCATED';

/** An error raised by `@sotto/crypto` for bad input; `code` says which kind. */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';

  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is a {@link CryptoError}, optionally of the given code. */
export function isCryptoError(err: unknown, code?: CryptoErrorCode): err is CryptoError {
  return err instanceof CryptoError && (code === undefined || err.code === code);
}
