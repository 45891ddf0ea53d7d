/**
 * Typed errors of the client engine. Callers (UI, CLI) switch on `code`; the
 * CLI maps codes to exit statuses. Key server failures are `ApiError`
 * (http.ts), protocol failures `CryptoError` (@sotto/crypto) and payload
 * failures `PayloadError` (payload.ts); this covers what the engine itself
 * refuses.
 */

/** Every reason the engine refuses an operation. */
export type ClientErrorCode =
  /** No account on this device: register or log in first. */
  | 'NOT_REGISTERED'
  /** The user already has an identity key on another device: link this device from it. */
  | 'LINK_REQUIRED'
  /** A link code that does not parse, or names this device or one already linked. */
  | 'BAD_CODE'
  /** A link code of another user: only devices of the same user can be linked. */
  | 'WRONG_USER'
  /** The link code expired before the devices finished linking. */
  | 'LINK_EXPIRED'
  /** The identity key handed over is not the one the key server publishes for the user. */
  | 'LINK_MISMATCH'
  /** Waiting for a link was cancelled on this device. */
  | 'LINK_CANCELLED'
  /** A message-history export (linking) that does not check out: size, digest, gzip, a record. */
  | 'HISTORY_INVALID'
  /** The device is linked but the history from the other device could not be imported. */
  | 'HISTORY_NOT_IMPORTED'
  /** A verified contact's identity key changed: accept the new key before sending. */
  | 'KEY_CHANGED'
  /** The user has no device with keys yet. */
  | 'NO_DEVICES'
  /** This user is not a member of the group (or the group is unknown). */
  | 'NOT_MEMBER'
  /** Only admins may do this. */
  | 'NOT_ADMIN'
  /**
   * Our identity was reset and the group's membership chain still names our old identity key:
   * nobody gives this device the group's keys until an admin re-adds us with the new key.
   */
  | 'REKEY_PENDING'
  /**
   * The key server served this group's membership chain forked or rolled back (PROTOCOL.md §8.7):
   * the group is frozen on this device, nothing is sent to it.
   */
  | 'GROUP_FROZEN'
  /** Re-keying a member whose recorded identity key already is the one this device trusts. */
  | 'NO_KEY_CHANGE'
  /** The message to edit/delete/react to is unknown or not ours. */
  | 'UNKNOWN_MESSAGE'
  /** A downloaded attachment does not match the hash in its message. */
  | 'HASH_MISMATCH'
  /** A key-transparency check failed: a key not in the log, a bad proof, an inconsistent log. */
  | 'KT_FAILURE'
  /**
   * An envelope from a (user, device) the key directory and log do not vouch for (PROTOCOL.md
   * §6.7): dropped before any key agreement, reported as a `securityNotice`.
   */
  | 'UNTRUSTED_SENDER'
  /** More undecryptable envelopes from one sender than its budget allows: dropped untried. */
  | 'SENDER_FLOOD'
  /** The engine is closed or was never started. */
  | 'NOT_STARTED'
  /** The local database is locked by a passphrase (app lock) and none was given. */
  | 'STORE_LOCKED'
  /** The passphrase given does not unlock the local database; nothing was changed. */
  | 'WRONG_PASSPHRASE'
  /**
   * A sealed record of the local database does not open: changed on disk, moved to another row
   * or table, or sealed under another storage key (PROTOCOL.md §14).
   */
  | 'STORE_TAMPERED'
  /**
   * Call signalling refused (PROTOCOL.md §12.1): a group-call offer from someone who is not a
   * member of that group, or for a group we are not in.
   */
  | 'CALL_REFUSED'
  /** A bad argument (unknown conversation id format…). */
  | 'BAD_INPUT';

/** An error raised by the client engine; `code` says which kind. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is a {@link ClientError}, optionally of the given code. */
export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}
