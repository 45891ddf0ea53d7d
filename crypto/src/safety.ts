/**
 * Safety numbers and their QR payload (PROTOCOL.md §9.1; Signal's numeric
 * fingerprint as the model).
 *
 * Each user's fingerprint is an iterated BLAKE2b-512 over their UIK and
 * username; the 60-digit safety number is the two 30-digit halves sorted, so
 * both sides compute the same string. The QR payload carries both
 * fingerprints, the shower's own first, so a scanner can tell "same keys" from
 * "keys differ" without typing digits.
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter, equalBytes } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { LABELS } from './kdf.ts';
import { sodium } from './sodium.ts';
import { USERNAME_PATTERN } from './wire/topics.ts';

/** Format version, hashed into every fingerprint and first byte of the QR payload. */
export const SAFETY_NUMBER_VERSION = 1;

/**
 * BLAKE2b-512 iterations per fingerprint. Like Signal's 5200 SHA-512 rounds,
 * it makes grinding a key whose digits collide with a target expensive; one
 * fingerprint costs a few tens of milliseconds.
 */
export const SAFETY_NUMBER_ITERATIONS = 5200;

/** Digits per side (six 5-digit chunks). */
export const SAFETY_DIGITS_PER_SIDE = 30;

/** Bytes of each fingerprint carried in the QR payload. */
export const SAFETY_QR_FINGERPRINT_BYTES = 32;

/** One side of a safety number: a username and its UIK (Ed25519 public key). */
export interface SafetyIdentity {
  username: string;
  uik: Uint8Array;
}

/** A user's fingerprint: the 30 digits shown and the bytes put in the QR payload. */
export interface SafetyFingerprint {
  digits: string;
  bytes: Uint8Array;
}

/**
 * Iterated fingerprint of one identity:
 * `h0 = ""`, `h(i) = BLAKE2b-512(string8(label) ‖ u8 version ‖ uik ‖ string8(username) ‖ h(i-1))`
 * for i = 1..{@link SAFETY_NUMBER_ITERATIONS}. Digits: the first 30 bytes of
 * the final hash as six 5-byte big-endian integers, each mod 100000, written
 * with five digits. QR bytes: the first 32 bytes.
 */
export function safetyFingerprint(id: SafetyIdentity): SafetyFingerprint {
  const s = sodium();
  if (!USERNAME_PATTERN.test(id.username)) throw new RangeError('invalid username');
  if (!(id.uik instanceof Uint8Array) || id.uik.length !== s.crypto_sign_PUBLICKEYBYTES) {
    throw new RangeError(`uik must be ${s.crypto_sign_PUBLICKEYBYTES} bytes`);
  }
  const prefix = new ByteWriter()
    .string8(LABELS.safetyNumber)
    .u8(SAFETY_NUMBER_VERSION)
    .raw(id.uik)
    .string8(id.username)
    .finish();
  const outLen = s.crypto_generichash_BYTES_MAX;
  // One buffer, prefix then the previous hash; h0 is empty, so the first round hashes the prefix alone.
  const buf = new Uint8Array(prefix.length + outLen);
  buf.set(prefix);
  let h = s.crypto_generichash(outLen, prefix, null);
  for (let i = 1; i < SAFETY_NUMBER_ITERATIONS; i++) {
    buf.set(h, prefix.length);
    h = s.crypto_generichash(outLen, buf, null);
  }
  let digits = '';
  for (let c = 0; c < SAFETY_DIGITS_PER_SIDE / 5; c++) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 256 + h[c * 5 + j]!;
    digits += String(v % 100000).padStart(5, '0');
  }
  return { digits, bytes: h.slice(0, SAFETY_QR_FINGERPRINT_BYTES) };
}

/**
 * The 60-digit safety number of two users: their 30-digit fingerprints,
 * lower one first, so `safetyNumber(a, b) === safetyNumber(b, a)`.
 */
export function safetyNumber(a: SafetyIdentity, b: SafetyIdentity): string {
  const x = safetyFingerprint(a).digits;
  const y = safetyFingerprint(b).digits;
  return x <= y ? x + y : y + x;
}

/** `"12345 67890 …"`: twelve groups of five digits for display. */
export function formatSafetyNumber(digits: string): string {
  if (!/^\d{60}$/.test(digits)) throw new RangeError('a safety number is 60 digits');
  return digits.match(/\d{5}/g)!.join(' ');
}

/**
 * QR payload shown by `local` to `remote`:
 * `u8 version ‖ fingerprint(local)[32] ‖ fingerprint(remote)[32]`.
 */
export function encodeSafetyQr(local: SafetyIdentity, remote: SafetyIdentity): Uint8Array {
  return new ByteWriter()
    .u8(SAFETY_NUMBER_VERSION)
    .raw(safetyFingerprint(local).bytes)
    .raw(safetyFingerprint(remote).bytes)
    .finish();
}

/**
 * Check a QR payload scanned from the peer's screen. True only when it is the
 * peer's view of the same two keys (their fingerprint first, ours second);
 * false when the keys differ. A payload that is not a safety QR at all throws
 * `CryptoError` (MALFORMED or UNSUPPORTED_VERSION).
 */
export function verifySafetyQr(
  scanned: Uint8Array,
  local: SafetyIdentity,
  remote: SafetyIdentity,
): boolean {
  if (!(scanned instanceof Uint8Array))
    throw new CryptoError('MALFORMED', 'QR payload is not bytes');
  const r = new ByteReader(scanned);
  const version = r.u8('version');
  if (version !== SAFETY_NUMBER_VERSION) {
    throw new CryptoError('UNSUPPORTED_VERSION', `safety QR version ${version}`);
  }
  const theirs = r.raw(SAFETY_QR_FINGERPRINT_BYTES, 'fingerprint');
  const ours = r.raw(SAFETY_QR_FINGERPRINT_BYTES, 'fingerprint');
  r.end('safety QR payload');
  const okTheirs = equalBytes(theirs, safetyFingerprint(remote).bytes);
  const okOurs = equalBytes(ours, safetyFingerprint(local).bytes);
  return okTheirs && okOurs;
}
