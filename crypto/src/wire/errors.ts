/**
 * The one error the wire-contract decoders throw (docs/PROTOCOL.md §7 "Wire contract").
 * Callers switch on `code`, never on message text.
 */

/** Every reason a wire decoder rejects its input. */
export type WireErrorCode =
  /** Not UTF-8 JSON, not an object, or a field is missing or of the wrong type or shape. */
  | 'MALFORMED'
  /**
   * A well-formed message whose `type` this implementation does not know. Receivers of
   * control notices ignore these (newer key servers may send more kinds).
   */
  | 'UNKNOWN_TYPE'
  /** A conversation id that is neither `dm:{user}` nor `group:{groupId}` with valid ids. */
  | 'BAD_CONVERSATION_ID'
  /**
   * An MQTT client id that is not `{username}:{deviceId}`, `thing:{owner}:{thing}` or
   * `service:keyserver:{instance}` with valid parts.
   */
  | 'BAD_CLIENT_ID';

/** Raised by `@sotto/crypto/wire` for input that is not part of the wire contract. */
export class WireError extends Error {
  override readonly name = 'WireError';

  constructor(
    readonly code: WireErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is a {@link WireError}, optionally of the given code. */
export function isWireError(err: unknown, code?: WireErrorCode): err is WireError {
  return err instanceof WireError && (code === undefined || err.code === code);
}
