/**
 * Plaintext padding before encryption (PROTOCOL.md §9.3), so ciphertext length
 * says little about message length.
 *
 * Choice: a 256-byte minimum bucket, then Padmé. Almost every chat message,
 * receipt and typing notice fits in 256 bytes and so looks the same size on
 * the wire; larger payloads (long texts, sender-key distributions, file
 * descriptors) grow by Padmé, which leaks O(log log L) bits of the length
 * with at most 12% overhead (Nikitin et al., "Reducing Metadata Leakage from
 * Encrypted Files and Communication with PURBs", PETS 2019).
 *
 * Length encoding: ISO/IEC 7816-4, as Signal does: the message, one 0x80
 * byte, then zero bytes up to the padded length. The decoder is strict: the
 * padded length must be exactly the one {@link paddedLength} gives for the
 * recovered message, so every message has exactly one valid padding.
 *
 * Runtime: any.
 */
import { CryptoError } from './errors.ts';

/** Smallest padded size: every payload up to 255 bytes becomes 256 bytes. */
export const PAD_MIN_BYTES = 256;

/** Largest message {@link pad} accepts (1 GiB). */
export const PAD_MAX_BYTES = 1 << 30;

const MARKER = 0x80;

/** Padmé length for `n ≥ 2` bytes: round n up so only its top ⌊log2 ⌊log2 n⌋⌋ + 1 bits are non-zero. */
function padme(n: number): number {
  // Integer logs (n < 2^31 here): no floating-point rounding at powers of two.
  const e = 31 - Math.clz32(n);
  const s = 32 - Math.clz32(e);
  const lastBits = e - s;
  const step = 2 ** lastBits;
  return Math.ceil(n / step) * step;
}

/** Padded size for a message of `messageLength` bytes (message + marker, bucketed). */
export function paddedLength(messageLength: number): number {
  if (!Number.isInteger(messageLength) || messageLength < 0 || messageLength > PAD_MAX_BYTES) {
    throw new RangeError(`message length out of range: ${messageLength}`);
  }
  const n = messageLength + 1;
  return n <= PAD_MIN_BYTES ? PAD_MIN_BYTES : padme(n);
}

/** `message ‖ 0x80 ‖ 0x00…` up to {@link paddedLength}. */
export function pad(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(paddedLength(message.length));
  out.set(message);
  out[message.length] = MARKER;
  return out;
}

/**
 * Remove padding. Throws `CryptoError('MALFORMED')` unless `padded` is exactly
 * what {@link pad} produces for some message.
 */
export function unpad(padded: Uint8Array): Uint8Array {
  if (!(padded instanceof Uint8Array))
    throw new CryptoError('MALFORMED', 'padded input is not bytes');
  let i = padded.length - 1;
  while (i >= 0 && padded[i] === 0) i--;
  if (i < 0 || padded[i] !== MARKER) throw new CryptoError('MALFORMED', 'padding marker missing');
  if (i > PAD_MAX_BYTES || paddedLength(i) !== padded.length) {
    throw new CryptoError('MALFORMED', 'padding length is not canonical');
  }
  return padded.slice(0, i);
}
