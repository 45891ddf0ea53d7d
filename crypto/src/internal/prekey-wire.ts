/**
 * The prekey encodings' shared pieces (PROTOCOL.md §4), and the two checks a
 * handshake makes in its own order: parsing a served prekey with the X25519
 * encoding checks only, and a signed prekey's signature alone. A handshake
 * multiplies every such key in a DH that refuses an all-zero output (§2.3),
 * so it needs no separate small-order multiplication; everything else uses the
 * public decoders and verifiers of `prekeys.ts`, which make it. The prekey
 * shapes are defined here, next to their encodings; `prekeys.ts` re-exports them.
 */
import { ByteReader, ByteWriter } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { sodium } from '../sodium.ts';
import { verify } from './ed25519.ts';
import { assertX25519Encoding } from './x25519.ts';

/** Version byte of every prekey encoding. */
export const PREKEY_VERSION = 1;

/** Signature domains: the device signing key signs `string8(domain) ‖ tbs`. */
export const PREKEY_DOMAINS = {
  signedPrekey: 'Sotto_v1_SignedPrekey',
  kemPrekey: 'Sotto_v1_KemPrekey',
} as const;

/** Signed X25519 prekey (SPK). */
export interface SignedPrekey {
  /** u32 id chosen by the device; names the secret in the responder's store. */
  id: number;
  /** X25519 public key. */
  publicKey: Uint8Array;
  /** Creation time, ms since the Unix epoch (passed in by the caller). */
  createdAt: number;
  /** Ed25519 signature by the device signing key. */
  signature: Uint8Array;
}

/** Signed X-Wing KEM prekey (PQSPK when last-resort, PQOPK when one-time). */
export interface KemPrekey {
  id: number;
  /** X-Wing public key (`crypto_kem_xwing_PUBLICKEYBYTES`). */
  publicKey: Uint8Array;
  /** True for the device's last-resort KEM prekey (served when no one-time KEM prekey is left). */
  lastResort: boolean;
  signature: Uint8Array;
}

/** Unsigned one-time X25519 prekey (OPK). */
export interface OneTimePrekey {
  id: number;
  publicKey: Uint8Array;
}

export function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff)
    throw new RangeError(`prekey id must be a u32: ${id}`);
}

export function spkTbs(id: number, createdAt: number, publicKey: Uint8Array): Uint8Array {
  return new ByteWriter().u8(PREKEY_VERSION).u32(id).u64(createdAt).raw(publicKey).finish();
}

export function kemTbs(id: number, lastResort: boolean, publicKey: Uint8Array): Uint8Array {
  return new ByteWriter()
    .u8(PREKEY_VERSION)
    .u32(id)
    .u8(lastResort ? 1 : 0)
    .raw(publicKey)
    .finish();
}

export function readVersion(r: ByteReader, what: string): void {
  const v = r.u8(`${what} version`);
  if (v !== PREKEY_VERSION)
    throw new CryptoError('UNSUPPORTED_VERSION', `${what} version ${v} is not ${PREKEY_VERSION}`);
}

export function asBytes(bytes: Uint8Array, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError('MALFORMED', `${what} is not bytes`);
  return bytes;
}

/**
 * Parse a signed prekey; its X25519 key gets the encoding checks (INVALID_KEY)
 * but not the small-order multiplication. MALFORMED / UNSUPPORTED_VERSION.
 */
export function parseSignedPrekey(bytes: Uint8Array): SignedPrekey {
  const s = sodium();
  const r = new ByteReader(asBytes(bytes, 'signed prekey'));
  readVersion(r, 'signed prekey');
  const id = r.u32('prekey id');
  const createdAt = r.u64('createdAt');
  const publicKey = r.raw(s.crypto_scalarmult_BYTES, 'prekey public key');
  const signature = r.raw(s.crypto_sign_BYTES, 'prekey signature');
  r.end('signed prekey');
  assertX25519Encoding(publicKey, 'signed prekey');
  return { id, publicKey, createdAt, signature };
}

/** Parse a one-time prekey, with the same X25519 checks as {@link parseSignedPrekey}. */
export function parseOneTimePrekey(bytes: Uint8Array): OneTimePrekey {
  const r = new ByteReader(asBytes(bytes, 'one-time prekey'));
  readVersion(r, 'one-time prekey');
  const id = r.u32('prekey id');
  const publicKey = r.raw(sodium().crypto_scalarmult_BYTES, 'prekey public key');
  r.end('one-time prekey');
  assertX25519Encoding(publicKey, 'one-time prekey');
  return { id, publicKey };
}

/**
 * The signed prekey's signature by the device signing key (BAD_SIGNATURE),
 * after the X25519 encoding checks (INVALID_KEY), without the small-order
 * multiplication.
 */
export function verifySignedPrekeySignature(signingKey: Uint8Array, p: SignedPrekey): void {
  assertX25519Encoding(p.publicKey, 'signed prekey');
  let tbs: Uint8Array;
  try {
    checkId(p.id);
    tbs = spkTbs(p.id, p.createdAt, p.publicKey);
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'signed prekey fields are malformed', { cause });
  }
  verify(signingKey, PREKEY_DOMAINS.signedPrekey, tbs, p.signature);
}
