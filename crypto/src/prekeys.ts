/**
 * Prekeys and prekey bundles (PROTOCOL.md §4).
 *
 * A device publishes, signed with its Ed25519 signing key: one X25519 signed
 * prekey (rotated), X-Wing KEM prekeys (one last-resort, plus one-time ones —
 * signed too, as in Signal's PQXDH), and unsigned one-time X25519 prekeys.
 * Each object has one canonical binary encoding; the key server stores and
 * serves those bytes (base64url in JSON) and checks them with the decoders and
 * verifiers here.
 *
 * Runtime: any (`.std`).
 */
import { ByteReader, ByteWriter, wipe } from './bytes.ts';
import { CryptoError } from './errors.ts';
import {
  type CertificateExpectation,
  decodeDeviceCertificate,
  type DeviceCertificate,
  verifyDeviceCertificate,
} from './identity.ts';
import { sign, verify } from './internal/ed25519.ts';
import {
  asBytes,
  checkId,
  kemTbs,
  parseOneTimePrekey,
  parseSignedPrekey,
  PREKEY_DOMAINS,
  PREKEY_VERSION,
  readVersion,
  spkTbs,
  verifySignedPrekeySignature,
  type KemPrekey,
  type OneTimePrekey,
  type SignedPrekey,
} from './internal/prekey-wire.ts';
import { randomBytes } from './internal/random.ts';
import { assertValidX25519PublicKey, generateX25519KeyPair } from './internal/x25519.ts';
import type { KeyPair } from './keys.ts';
import { sodium } from './sodium.ts';

export { PREKEY_DOMAINS, PREKEY_VERSION };
// The prekey shapes live with their encodings (internal/prekey-wire.ts), so that file needs
// nothing from this one; they are public through here.
export type { KemPrekey, OneTimePrekey, SignedPrekey };

/** A freshly generated prekey and its secret, which never leaves the device. */
export interface PrekeyPair<T> {
  prekey: T;
  secretKey: Uint8Array;
}

/** What the key server hands out for one device (one OPK and one KEM prekey consumed). */
export interface PrekeyBundle {
  certificate: DeviceCertificate;
  signedPrekey: SignedPrekey;
  kemPrekey: KemPrekey;
  oneTimePrekey?: OneTimePrekey | undefined;
}

// ---------------------------------------------------------------------------
// Signed X25519 prekey

/**
 * Generate and sign an X25519 prekey with the device signing key pair.
 * `seed` (`crypto_box_SEEDBYTES`) is for known-answer vectors only.
 */
export function generateSignedPrekey(
  signing: KeyPair,
  id: number,
  createdAt: number,
  seed?: Uint8Array,
): PrekeyPair<SignedPrekey> {
  checkId(id);
  if (!Number.isSafeInteger(createdAt) || createdAt < 0)
    throw new RangeError('createdAt must be a non-negative integer');
  const kp = generateX25519KeyPair(seed);
  const signature = sign(
    signing.secretKey,
    PREKEY_DOMAINS.signedPrekey,
    spkTbs(id, createdAt, kp.publicKey),
  );
  return { prekey: { id, publicKey: kp.publicKey, createdAt, signature }, secretKey: kp.secretKey };
}

/** `u8 version ‖ u32 id ‖ u64 createdAt ‖ publicKey[32] ‖ signature[64]`. */
export function encodeSignedPrekey(p: SignedPrekey): Uint8Array {
  checkId(p.id);
  return new ByteWriter()
    .raw(spkTbs(p.id, p.createdAt, p.publicKey))
    .raw(p.signature)
    .finish();
}

/**
 * Parse a signed prekey. Throws MALFORMED / UNSUPPORTED_VERSION, or
 * INVALID_KEY if the public key is not a valid X25519 key. Does not check the
 * signature: see {@link verifySignedPrekey}.
 */
export function decodeSignedPrekey(bytes: Uint8Array): SignedPrekey {
  const p = parseSignedPrekey(bytes);
  assertValidX25519PublicKey(p.publicKey, 'signed prekey');
  return p;
}

/**
 * Check a signed prekey against the device's Ed25519 signing key. Throws
 * INVALID_KEY (bad X25519 key) or BAD_SIGNATURE.
 */
export function verifySignedPrekey(signingKey: Uint8Array, p: SignedPrekey): void {
  assertValidX25519PublicKey(p.publicKey, 'signed prekey');
  verifySignedPrekeySignature(signingKey, p);
}

// ---------------------------------------------------------------------------
// X-Wing KEM prekey

/**
 * Generate and sign an X-Wing KEM prekey. `lastResort` marks the one served when
 * no one-time KEM prekey is left. `seed` (`crypto_kem_xwing_SEEDBYTES`) is for
 * known-answer vectors only.
 */
export function generateKemPrekey(
  signing: KeyPair,
  id: number,
  lastResort: boolean,
  seed?: Uint8Array,
): PrekeyPair<KemPrekey> {
  const s = sodium();
  checkId(id);
  if (seed !== undefined && seed.length !== s.crypto_kem_xwing_SEEDBYTES) {
    throw new RangeError(`seed must be ${s.crypto_kem_xwing_SEEDBYTES} bytes`);
  }
  const effectiveSeed = seed ?? randomBytes(s.crypto_kem_xwing_SEEDBYTES);
  const kp = s.crypto_kem_xwing_seed_keypair(effectiveSeed);
  if (!seed) wipe(effectiveSeed);
  const signature = sign(
    signing.secretKey,
    PREKEY_DOMAINS.kemPrekey,
    kemTbs(id, lastResort, kp.publicKey),
  );
  return {
    prekey: { id, publicKey: kp.publicKey, lastResort, signature },
    secretKey: kp.privateKey,
  };
}

/**
 * Generate and sign `count` one-time X-Wing KEM prekeys (`lastResort = false`)
 * with ids `startId`, `startId + 1`, …
 */
export function generateKemPrekeys(
  signing: KeyPair,
  startId: number,
  count: number,
): PrekeyPair<KemPrekey>[] {
  checkId(startId);
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`count must be a non-negative integer`);
  checkId(startId + Math.max(0, count - 1));
  const out: PrekeyPair<KemPrekey>[] = [];
  for (let i = 0; i < count; i++) out.push(generateKemPrekey(signing, startId + i, false));
  return out;
}

/** `u8 version ‖ u32 id ‖ u8 lastResort (0|1) ‖ publicKey[1216] ‖ signature[64]`. */
export function encodeKemPrekey(p: KemPrekey): Uint8Array {
  checkId(p.id);
  return new ByteWriter()
    .raw(kemTbs(p.id, p.lastResort, p.publicKey))
    .raw(p.signature)
    .finish();
}

/** Parse a KEM prekey. Throws MALFORMED / UNSUPPORTED_VERSION. Signature: {@link verifyKemPrekey}. */
export function decodeKemPrekey(bytes: Uint8Array): KemPrekey {
  const s = sodium();
  const r = new ByteReader(asBytes(bytes, 'KEM prekey'));
  readVersion(r, 'KEM prekey');
  const id = r.u32('prekey id');
  const flag = r.u8('lastResort');
  if (flag > 1) throw new CryptoError('MALFORMED', 'lastResort flag must be 0 or 1');
  const publicKey = r.raw(s.crypto_kem_xwing_PUBLICKEYBYTES, 'KEM public key');
  const signature = r.raw(s.crypto_sign_BYTES, 'prekey signature');
  r.end('KEM prekey');
  return { id, publicKey, lastResort: flag === 1, signature };
}

/**
 * Check a KEM prekey against the device's Ed25519 signing key. Throws
 * INVALID_KEY (wrong length) or BAD_SIGNATURE.
 */
export function verifyKemPrekey(signingKey: Uint8Array, p: KemPrekey): void {
  if (
    !(p.publicKey instanceof Uint8Array) ||
    p.publicKey.length !== sodium().crypto_kem_xwing_PUBLICKEYBYTES
  ) {
    throw new CryptoError('INVALID_KEY', 'KEM prekey is not an X-Wing public key');
  }
  let tbs: Uint8Array;
  try {
    checkId(p.id);
    tbs = kemTbs(p.id, p.lastResort, p.publicKey);
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'KEM prekey fields are malformed', { cause });
  }
  verify(signingKey, PREKEY_DOMAINS.kemPrekey, tbs, p.signature);
}

// ---------------------------------------------------------------------------
// One-time X25519 prekeys

/** Generate `count` one-time X25519 prekeys with ids `startId`, `startId + 1`, … */
export function generateOneTimePrekeys(
  startId: number,
  count: number,
): PrekeyPair<OneTimePrekey>[] {
  checkId(startId);
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`count must be a non-negative integer`);
  checkId(startId + Math.max(0, count - 1));
  const out: PrekeyPair<OneTimePrekey>[] = [];
  for (let i = 0; i < count; i++) {
    const kp = generateX25519KeyPair();
    out.push({ prekey: { id: startId + i, publicKey: kp.publicKey }, secretKey: kp.secretKey });
  }
  return out;
}

/** Generate one one-time X25519 prekey, optionally from a seed (known-answer vectors only). */
export function generateOneTimePrekey(id: number, seed?: Uint8Array): PrekeyPair<OneTimePrekey> {
  checkId(id);
  const kp = generateX25519KeyPair(seed);
  return { prekey: { id, publicKey: kp.publicKey }, secretKey: kp.secretKey };
}

/** `u8 version ‖ u32 id ‖ publicKey[32]`. */
export function encodeOneTimePrekey(p: OneTimePrekey): Uint8Array {
  checkId(p.id);
  return new ByteWriter().u8(PREKEY_VERSION).u32(p.id).raw(p.publicKey).finish();
}

/** Parse a one-time prekey. Throws MALFORMED / UNSUPPORTED_VERSION, or INVALID_KEY for a bad X25519 key. */
export function decodeOneTimePrekey(bytes: Uint8Array): OneTimePrekey {
  const p = parseOneTimePrekey(bytes);
  assertValidX25519PublicKey(p.publicKey, 'one-time prekey');
  return p;
}

/** Throws INVALID_KEY unless the one-time prekey holds a valid X25519 key. */
export function verifyOneTimePrekey(p: OneTimePrekey): void {
  assertValidX25519PublicKey(p.publicKey, 'one-time prekey');
}

// ---------------------------------------------------------------------------
// Bundles

/**
 * Verify a whole bundle before a handshake: the certificate is signed by the
 * expected UIK for the expected user and device (BAD_CERTIFICATE), both signed
 * prekeys are signed by the certificate's signing key (BAD_SIGNATURE), and every
 * X25519 key is valid (INVALID_KEY).
 */
export function verifyPrekeyBundle(
  bundle: PrekeyBundle,
  expected: CertificateExpectation = {},
): void {
  verifyDeviceCertificate(bundle.certificate, expected);
  verifySignedPrekey(bundle.certificate.signingKey, bundle.signedPrekey);
  verifyKemPrekey(bundle.certificate.signingKey, bundle.kemPrekey);
  if (bundle.oneTimePrekey) verifyOneTimePrekey(bundle.oneTimePrekey);
}

/** A bundle as the key server serves it: the four canonical encodings. */
export interface EncodedPrekeyBundle {
  certificate: Uint8Array;
  signedPrekey: Uint8Array;
  kemPrekey: Uint8Array;
  oneTimePrekey?: Uint8Array | null | undefined;
}

/**
 * Decode a served bundle for {@link initiateSession}, which verifies it: every
 * X25519 key gets the encoding checks of PROTOCOL.md §2.3 (INVALID_KEY), and
 * the small-order multiplication the standalone decoders add is left to the
 * handshake's DHs, which multiply each of these keys and refuse an all-zero
 * output. Anything else that uses the bundle verifies it with
 * {@link verifyPrekeyBundle} first. MALFORMED / UNSUPPORTED_VERSION for bad bytes.
 */
export function decodePrekeyBundle(encoded: EncodedPrekeyBundle): PrekeyBundle {
  return {
    certificate: decodeDeviceCertificate(encoded.certificate),
    signedPrekey: parseSignedPrekey(encoded.signedPrekey),
    kemPrekey: decodeKemPrekey(encoded.kemPrekey),
    oneTimePrekey: encoded.oneTimePrekey ? parseOneTimePrekey(encoded.oneTimePrekey) : undefined,
  };
}
