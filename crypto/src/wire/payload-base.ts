/**
 * The fields every payload has (PROTOCOL.md §12), on their own so that a kind defined in its own
 * module (call.ts) and the payload union (payload.ts) both build on them without importing each
 * other.
 */

/** Fields every payload has. */
export interface PayloadBase {
  /** Message id: base64url (no padding) of 16 random bytes, 22 characters. */
  id: string;
  /** Sender's clock, ms since the Unix epoch. */
  ts: number;
}
