/**
 * Device linking (PROTOCOL.md §13): an existing device hands the user identity
 * key (UIK) to a new device of the same user over an authenticated ephemeral
 * channel.
 *
 * The new device makes an ephemeral X25519 key pair and a random secret and
 * shows them as a link code (text / QR). The existing device reads the code
 * out of band, then seals the UIK (and an opaque application state) to the
 * code's ephemeral key: X25519 with its own fresh ephemeral key, the code's
 * secret as KDF salt, XChaCha20-Poly1305 with the whole code in the associated
 * data. The sealed bytes travel as a LINK envelope through the (untrusted)
 * broker; without the code a relay can neither read nor forge them.
 *
 * Pure: no clock (expiry is a field the caller checks), randomness only from
 * libsodium or the seeds of the known-answer vectors. Runtime: any (`.std`).
 */
import { ByteReader, ByteWriter, concat, equalBytes, fromBase64, toBase64, wipe } from './bytes.ts';
import { EnvelopeType, frameEnvelope, unframeEnvelope } from './envelope.ts';
import { CryptoError } from './errors.ts';
import { kdf, LABELS } from './kdf.ts';
import { aeadOpen, aeadSeal } from './internal/aead.ts';
import { randomBytes } from './internal/random.ts';
import { assertValidX25519PublicKey, generateX25519KeyPair, x25519 } from './internal/x25519.ts';
import type { KeyPair } from './keys.ts';
import { pad, unpad } from './padding.ts';
import { sodium } from './sodium.ts';
import { DEVICE_ID_PATTERN, USERNAME_PATTERN } from './wire/topics.ts';

/** Version byte of the link code and of the sealed link bundle. */
export const LINK_VERSION = 1;

/** Bytes of the random secret in a link code (128 bits: never guessable within a code's lifetime). */
export const LINK_SECRET_BYTES = 16;

/** Largest application state a link bundle carries (contacts, verification marks, groups). */
export const MAX_LINK_STATE_BYTES = 128 * 1024;

/** What a link code says: shown by the new device, read by the existing one. */
export interface LinkCode {
  /** The user both devices belong to. */
  username: string;
  /** The new device's id (its token names it; its inbox receives the sealed bundle). */
  deviceId: string;
  /** The new device's ephemeral X25519 public key. */
  ephemeralKey: Uint8Array;
  /** {@link LINK_SECRET_BYTES} random bytes, known only to whoever saw the code. */
  secret: Uint8Array;
  /** After this time (ms since the Unix epoch) the code is refused by both sides. */
  expiresAt: number;
}

/** What travels inside the sealed LINK envelope. */
export interface LinkBundle {
  /** The user identity key pair (Ed25519). */
  uik: KeyPair;
  /** Opaque application state (the client sends JSON: contacts, verified marks, groups). */
  state: Uint8Array;
}

function checkCode(code: LinkCode): void {
  const s = sodium();
  if (typeof code.username !== 'string' || !USERNAME_PATTERN.test(code.username))
    throw new TypeError(`username must match ${String(USERNAME_PATTERN)}`);
  if (typeof code.deviceId !== 'string' || !DEVICE_ID_PATTERN.test(code.deviceId))
    throw new TypeError(`deviceId must match ${String(DEVICE_ID_PATTERN)}`);
  if (code.ephemeralKey?.length !== s.crypto_scalarmult_BYTES)
    throw new TypeError('ephemeralKey must be an X25519 public key');
  if (code.secret?.length !== LINK_SECRET_BYTES)
    throw new TypeError(`secret must be ${LINK_SECRET_BYTES} bytes`);
  if (!Number.isSafeInteger(code.expiresAt) || code.expiresAt < 0)
    throw new RangeError('expiresAt must be a non-negative integer (ms)');
}

/** Canonical bytes of a code: `u8 1 ‖ string8 username ‖ string8 deviceId ‖ ephemeralKey[32] ‖ secret[16] ‖ u64 expiresAt`. */
function codeBytes(code: LinkCode): Uint8Array {
  checkCode(code);
  return new ByteWriter()
    .u8(LINK_VERSION)
    .string8(code.username)
    .string8(code.deviceId)
    .raw(code.ephemeralKey)
    .raw(code.secret)
    .u64(code.expiresAt)
    .finish();
}

/**
 * A fresh link code for the new device and the ephemeral secret key that opens
 * what is sealed to it. Seeds are for known-answer vectors only.
 */
export function createLinkCode(
  fields: { username: string; deviceId: string; expiresAt: number },
  seeds?: { ephemeral?: Uint8Array; secret?: Uint8Array },
): { code: LinkCode; secretKey: Uint8Array } {
  const eph = generateX25519KeyPair(seeds?.ephemeral);
  const secret = seeds?.secret ?? randomBytes(LINK_SECRET_BYTES);
  const code: LinkCode = { ...fields, ephemeralKey: eph.publicKey, secret };
  checkCode(code);
  return { code, secretKey: eph.secretKey };
}

/** The code as text: base64url (no padding) of its canonical bytes; also the QR payload. */
export function encodeLinkCode(code: LinkCode): string {
  return toBase64(codeBytes(code));
}

/**
 * Parse a code typed, pasted or scanned on the existing device (surrounding
 * white space is ignored). Throws `CryptoError` MALFORMED (not a code, bad
 * username or device id, invalid key) or UNSUPPORTED_VERSION. Does not check
 * expiry: the caller has the clock.
 */
export function decodeLinkCode(text: string): LinkCode {
  if (typeof text !== 'string') throw new CryptoError('MALFORMED', 'link code is not text');
  const s = sodium();
  const bytes = fromBase64(text.trim());
  const r = new ByteReader(bytes);
  const version = r.u8('link code version');
  if (version !== LINK_VERSION)
    throw new CryptoError('UNSUPPORTED_VERSION', `link code version ${version} is not 1`);
  const username = r.string8('username');
  const deviceId = r.string8('deviceId');
  const ephemeralKey = r.raw(s.crypto_scalarmult_BYTES, 'ephemeral key');
  const secret = r.raw(LINK_SECRET_BYTES, 'secret');
  const expiresAt = r.u64('expiresAt');
  r.end('link code');
  if (!USERNAME_PATTERN.test(username))
    throw new CryptoError('MALFORMED', 'link code username is invalid');
  if (!DEVICE_ID_PATTERN.test(deviceId))
    throw new CryptoError('MALFORMED', 'link code device id is invalid');
  try {
    assertValidX25519PublicKey(ephemeralKey, 'link code ephemeral key');
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'link code ephemeral key is invalid', { cause });
  }
  return { username, deviceId, ephemeralKey, secret, expiresAt };
}

/** AEAD key and nonce of one link channel (§13.3). */
function channelKeys(
  shared: Uint8Array,
  code: LinkCode,
  senderEphemeral: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  const s = sodium();
  const keyBytes = s.crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
  const okm = kdf(
    shared,
    code.secret,
    LABELS.link,
    keyBytes + s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
    concat(senderEphemeral, code.ephemeralKey),
  );
  return { key: okm.slice(0, keyBytes), nonce: okm.slice(keyBytes) };
}

/** Associated data: envelope header ‖ canonical code bytes ‖ sender ephemeral key. */
function linkAd(code: LinkCode, senderEphemeral: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(1, EnvelopeType.LINK), codeBytes(code), senderEphemeral);
}

/**
 * Existing device: seal the UIK and `state` to the new device named by `code`.
 * Returns a complete LINK envelope for the new device's inbox. The caller has
 * already checked the code's user and expiry. `seed` (the sender's ephemeral
 * key) is for known-answer vectors only.
 */
export function sealLinkBundle(code: LinkCode, bundle: LinkBundle, seed?: Uint8Array): Uint8Array {
  const s = sodium();
  if (bundle.uik?.secretKey?.length !== s.crypto_sign_SECRETKEYBYTES)
    throw new TypeError('uik must be an Ed25519 key pair');
  if (!(bundle.state instanceof Uint8Array) || bundle.state.length > MAX_LINK_STATE_BYTES)
    throw new CryptoError('OVERSIZED', `link state over ${MAX_LINK_STATE_BYTES} bytes`);
  const eph = generateX25519KeyPair(seed);
  const shared = x25519(eph.secretKey, code.ephemeralKey);
  const { key, nonce } = channelKeys(shared, code, eph.publicKey);
  const plaintext = pad(
    new ByteWriter().u8(LINK_VERSION).raw(bundle.uik.secretKey).bytes32(bundle.state).finish(),
  );
  const ciphertext = aeadSeal(key, nonce, plaintext, linkAd(code, eph.publicKey));
  wipe(eph.secretKey, shared, key, plaintext);
  return frameEnvelope(EnvelopeType.LINK, concat(eph.publicKey, ciphertext));
}

/**
 * New device: open a LINK envelope with the code it showed and the code's
 * ephemeral secret key. Throws `CryptoError`: UNKNOWN_TYPE (not a LINK
 * envelope), MALFORMED, INVALID_KEY, DECRYPT_FAILED (tampered, or sealed for
 * another code), BAD_SIGNATURE (the key pair inside is not a valid Ed25519
 * pair). The caller still compares the UIK with the one the key server
 * publishes for the user.
 */
export function openLinkBundle(
  code: LinkCode,
  secretKey: Uint8Array,
  envelope: Uint8Array,
): LinkBundle {
  const s = sodium();
  const { type, body } = unframeEnvelope(envelope);
  if (type !== EnvelopeType.LINK)
    throw new CryptoError('UNKNOWN_TYPE', `envelope type ${type} is not LINK`);
  const r = new ByteReader(body);
  const senderEphemeral = r.raw(s.crypto_scalarmult_BYTES, 'sender ephemeral key');
  const ciphertext = r.rest();
  const shared = x25519(secretKey, senderEphemeral);
  const { key, nonce } = channelKeys(shared, code, senderEphemeral);
  let plaintext: Uint8Array;
  try {
    plaintext = aeadOpen(key, nonce, ciphertext, linkAd(code, senderEphemeral));
  } finally {
    wipe(shared, key);
  }
  const inner = new ByteReader(unpad(plaintext));
  const version = inner.u8('link bundle version');
  if (version !== LINK_VERSION)
    throw new CryptoError('UNSUPPORTED_VERSION', `link bundle version ${version} is not 1`);
  const uikSecret = inner.raw(s.crypto_sign_SECRETKEYBYTES, 'uik');
  const state = inner.bytes32('state', MAX_LINK_STATE_BYTES);
  inner.end('link bundle');
  // libsodium's Ed25519 secret key is seed ‖ public key: the halves must agree.
  const derived = s.crypto_sign_seed_keypair(uikSecret.slice(0, s.crypto_sign_SEEDBYTES));
  if (!equalBytes(derived.publicKey, uikSecret.slice(s.crypto_sign_SEEDBYTES))) {
    wipe(derived.privateKey, uikSecret);
    throw new CryptoError('BAD_SIGNATURE', 'link bundle key pair is inconsistent');
  }
  return { uik: { publicKey: derived.publicKey, secretKey: derived.privateKey }, state };
}
