/**
 * The outer binary envelope on `inbox` and `group` topics (PROTOCOL.md §5):
 *
 *   u8 version (= 1) ‖ u8 type ‖ body (the type's header and ciphertext)
 *
 * This module frames and unframes; each type's body is defined once in the
 * module that owns it (`session.ts` for PREKEY/RATCHET/SENDER_KEY, `senderkeys.ts`
 * for GROUP). The type byte is always bound into the AEAD associated data by the
 * body's owner, so a ciphertext can never be accepted under another type.
 */
import { CryptoError } from './errors.ts';

/** The only envelope version this implementation speaks. */
export const ENVELOPE_VERSION = 1;

/** Largest envelope accepted anywhere (a 64 KiB padded payload plus headers). */
export const MAX_ENVELOPE_BYTES = 256 * 1024;

/**
 * Envelope types. Who sends what to whom:
 */
export const EnvelopeType = {
  /** Device → device inbox: first messages of a new pairwise session (PQXDH header + ratchet message). */
  PREKEY: 1,
  /** Device → device inbox: a Double Ratchet message on an established session. */
  RATCHET: 2,
  /** Member device → group topic: a message encrypted once with the sender's chain and signed. */
  GROUP: 3,
  /** Device → device inbox: a ratchet message whose plaintext is a sender-key distribution, never shown to users. */
  SENDER_KEY: 4,
  /**
   * Existing device → new device of the same user, on the new device's inbox: the user
   * identity key sealed to a link code's ephemeral key (link.ts, PROTOCOL.md §13).
   */
  LINK: 5,
} as const;

/** Union of the envelope type values. */
export type EnvelopeTypeValue = (typeof EnvelopeType)[keyof typeof EnvelopeType];

/** Reverse map: type byte → name. */
export const EnvelopeTypeName: Readonly<Record<EnvelopeTypeValue, keyof typeof EnvelopeType>> =
  Object.fromEntries(Object.entries(EnvelopeType).map(([k, v]) => [v, k])) as Record<
    EnvelopeTypeValue,
    keyof typeof EnvelopeType
  >;

/** True for a byte that names a known envelope type. */
export function isEnvelopeType(value: number): value is EnvelopeTypeValue {
  return Object.prototype.hasOwnProperty.call(EnvelopeTypeName, value);
}

/** Frame a body: version ‖ type ‖ body. */
export function frameEnvelope(type: EnvelopeTypeValue, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = ENVELOPE_VERSION;
  out[1] = type;
  out.set(body, 2);
  return out;
}

/**
 * Unframe an envelope. Throws `CryptoError` MALFORMED (too short),
 * OVERSIZED, UNSUPPORTED_VERSION or UNKNOWN_TYPE; never anything else.
 */
export function unframeEnvelope(bytes: Uint8Array): { type: EnvelopeTypeValue; body: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError('MALFORMED', 'envelope is not bytes');
  if (bytes.length > MAX_ENVELOPE_BYTES)
    throw new CryptoError('OVERSIZED', `envelope over ${MAX_ENVELOPE_BYTES} bytes`);
  if (bytes.length < 2) throw new CryptoError('MALFORMED', 'envelope shorter than its header');
  if (bytes[0] !== ENVELOPE_VERSION) {
    throw new CryptoError(
      'UNSUPPORTED_VERSION',
      `envelope version ${bytes[0]} is not ${ENVELOPE_VERSION}`,
    );
  }
  const type = bytes[1]!;
  if (!isEnvelopeType(type))
    throw new CryptoError('UNKNOWN_TYPE', `envelope type ${type} is unknown`);
  return { type, body: bytes.subarray(2) };
}
