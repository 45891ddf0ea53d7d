/**
 * User identity keys, device keys and device certificates (PROTOCOL.md §3).
 *
 * A user has one Ed25519 user identity key (UIK). Each device has an Ed25519
 * signing key and an X25519 identity key, bound to the user by a device
 * certificate signed with the UIK. The certificate has exactly one binary
 * encoding ({@link encodeDeviceCertificate}); the key server and clients
 * exchange it as base64url of those bytes.
 *
 * Runtime: any (`.std`).
 */
import { ByteReader, ByteWriter, equalBytes, wipe } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { sign, verify } from './internal/ed25519.ts';
import { randomBytes } from './internal/random.ts';
import { assertValidX25519PublicKey, generateX25519KeyPair } from './internal/x25519.ts';
import type { KeyPair } from './keys.ts';
import { sodium } from './sodium.ts';
import { DEVICE_ID_PATTERN, USERNAME_PATTERN } from './wire/topics.ts';

/** Version byte of the device certificate encoding. */
export const DEVICE_CERTIFICATE_VERSION = 1;

/** Signature domain of device certificates: the UIK signs `string8(domain) ‖ tbs`. */
export const DEVICE_CERTIFICATE_DOMAIN = 'Sotto_v1_DeviceCertificate';

/** What a device is: a person's browser/app, a bot, or a bridge to another network. */
export type DeviceKind = 'user' | 'bot' | 'bridge';

/** Device kinds as encoded on the wire (one byte). */
export const DeviceKindCode = { user: 1, bot: 2, bridge: 3 } as const satisfies Record<
  DeviceKind,
  number
>;

const KIND_BY_CODE = new Map<number, DeviceKind>(
  Object.entries(DeviceKindCode).map(([k, v]) => [v, k as DeviceKind]),
);

/** The two key pairs a device holds. */
export interface DeviceKeys {
  /** Ed25519: signs the device's prekeys. */
  signing: KeyPair;
  /** X25519: the device's long-term DH identity key (IK in PQXDH). */
  identity: KeyPair;
}

/** The fields a certificate states, before it is signed. */
export interface DeviceCertificateFields {
  username: string;
  deviceId: string;
  kind: DeviceKind;
  /** The user's Ed25519 identity key (the signer). */
  uik: Uint8Array;
  /** The device's Ed25519 signing key. */
  signingKey: Uint8Array;
  /** The device's X25519 identity key. */
  identityKey: Uint8Array;
  /** Issue time, milliseconds since the Unix epoch (passed in by the caller). */
  issuedAt: number;
}

/** A device certificate: the fields plus the UIK's Ed25519 signature over them. */
export interface DeviceCertificate extends DeviceCertificateFields {
  signature: Uint8Array;
}

/** What a verifier may insist on besides a valid signature. */
export interface CertificateExpectation {
  uik?: Uint8Array;
  username?: string;
  deviceId?: string;
}

/**
 * A fresh Ed25519 user identity key, or a deterministic one from a
 * `crypto_sign_SEEDBYTES` seed (tests and known-answer vectors only).
 */
export function generateUserIdentity(seed?: Uint8Array): KeyPair {
  return ed25519KeyPair(seed);
}

/**
 * Fresh device keys: an Ed25519 signing key and an X25519 identity key.
 * Seeds are for known-answer vectors only.
 */
export function generateDeviceKeys(seeds?: {
  signing?: Uint8Array;
  identity?: Uint8Array;
}): DeviceKeys {
  return {
    signing: ed25519KeyPair(seeds?.signing),
    identity: generateX25519KeyPair(seeds?.identity),
  };
}

function ed25519KeyPair(seed?: Uint8Array): KeyPair {
  const s = sodium();
  if (seed !== undefined && seed.length !== s.crypto_sign_SEEDBYTES) {
    throw new RangeError(`seed must be ${s.crypto_sign_SEEDBYTES} bytes`);
  }
  const effectiveSeed = seed ?? randomBytes(s.crypto_sign_SEEDBYTES);
  const kp = s.crypto_sign_seed_keypair(effectiveSeed);
  if (!seed) wipe(effectiveSeed);
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

function checkFields(f: DeviceCertificateFields): void {
  const s = sodium();
  if (typeof f.username !== 'string' || !USERNAME_PATTERN.test(f.username)) {
    throw new TypeError(`username must match ${String(USERNAME_PATTERN)}`);
  }
  if (typeof f.deviceId !== 'string' || !DEVICE_ID_PATTERN.test(f.deviceId)) {
    throw new TypeError(`deviceId must match ${String(DEVICE_ID_PATTERN)}`);
  }
  if (!(f.kind in DeviceKindCode)) throw new TypeError(`kind must be user, bot or bridge`);
  if (f.uik?.length !== s.crypto_sign_PUBLICKEYBYTES)
    throw new TypeError('uik must be an Ed25519 public key');
  if (f.signingKey?.length !== s.crypto_sign_PUBLICKEYBYTES) {
    throw new TypeError('signingKey must be an Ed25519 public key');
  }
  if (f.identityKey?.length !== s.crypto_scalarmult_BYTES)
    throw new TypeError('identityKey must be an X25519 public key');
  if (!Number.isSafeInteger(f.issuedAt) || f.issuedAt < 0)
    throw new RangeError('issuedAt must be a non-negative integer (ms)');
}

/** The to-be-signed part: the encoding without the signature. */
function encodeFields(f: DeviceCertificateFields): Uint8Array {
  return new ByteWriter()
    .u8(DEVICE_CERTIFICATE_VERSION)
    .string8(f.username)
    .string8(f.deviceId)
    .u8(DeviceKindCode[f.kind])
    .raw(f.uik)
    .raw(f.signingKey)
    .raw(f.identityKey)
    .u64(f.issuedAt)
    .finish();
}

/**
 * Sign a device certificate with the user identity key. `fields.uik` must be
 * `uik.publicKey` (it is filled in when omitted).
 */
export function issueDeviceCertificate(
  uik: KeyPair,
  fields: Omit<DeviceCertificateFields, 'uik'> & { uik?: Uint8Array },
): DeviceCertificate {
  const full: DeviceCertificateFields = {
    username: fields.username,
    deviceId: fields.deviceId,
    kind: fields.kind,
    uik: uik.publicKey,
    signingKey: fields.signingKey,
    identityKey: fields.identityKey,
    issuedAt: fields.issuedAt,
  };
  if (fields.uik && !equalBytes(fields.uik, uik.publicKey)) {
    throw new TypeError('fields.uik differs from the signing key pair');
  }
  checkFields(full);
  return { ...full, signature: sign(uik.secretKey, DEVICE_CERTIFICATE_DOMAIN, encodeFields(full)) };
}

/**
 * Canonical binary encoding (PROTOCOL.md §3.2):
 * `u8 version ‖ string8 username ‖ string8 deviceId ‖ u8 kind ‖ uik[32] ‖
 * signingKey[32] ‖ identityKey[32] ‖ u64 issuedAt ‖ signature[64]`.
 */
export function encodeDeviceCertificate(cert: DeviceCertificate): Uint8Array {
  checkFields(cert);
  if (cert.signature?.length !== sodium().crypto_sign_BYTES)
    throw new TypeError('signature must be 64 bytes');
  return new ByteWriter().raw(encodeFields(cert)).raw(cert.signature).finish();
}

/**
 * Parse a certificate's canonical encoding. Structure only: call
 * {@link verifyDeviceCertificate} before trusting it. Throws `CryptoError`
 * MALFORMED (bad structure, bad username/device id, unknown kind) or
 * UNSUPPORTED_VERSION.
 */
export function decodeDeviceCertificate(bytes: Uint8Array): DeviceCertificate {
  const s = sodium();
  if (!(bytes instanceof Uint8Array))
    throw new CryptoError('MALFORMED', 'certificate is not bytes');
  const r = new ByteReader(bytes);
  const version = r.u8('certificate version');
  if (version !== DEVICE_CERTIFICATE_VERSION) {
    throw new CryptoError(
      'UNSUPPORTED_VERSION',
      `certificate version ${version} is not ${DEVICE_CERTIFICATE_VERSION}`,
    );
  }
  const username = r.string8('username');
  const deviceId = r.string8('deviceId');
  const kindCode = r.u8('kind');
  const uik = r.raw(s.crypto_sign_PUBLICKEYBYTES, 'uik');
  const signingKey = r.raw(s.crypto_sign_PUBLICKEYBYTES, 'signingKey');
  const identityKey = r.raw(s.crypto_scalarmult_BYTES, 'identityKey');
  const issuedAt = r.u64('issuedAt');
  const signature = r.raw(s.crypto_sign_BYTES, 'signature');
  r.end('device certificate');
  if (!USERNAME_PATTERN.test(username))
    throw new CryptoError('MALFORMED', 'certificate username is invalid');
  if (!DEVICE_ID_PATTERN.test(deviceId))
    throw new CryptoError('MALFORMED', 'certificate deviceId is invalid');
  const kind = KIND_BY_CODE.get(kindCode);
  if (!kind) throw new CryptoError('MALFORMED', `unknown device kind ${kindCode}`);
  return { username, deviceId, kind, uik, signingKey, identityKey, issuedAt, signature };
}

/**
 * Certificates whose signature and identity key passed {@link verifyDeviceCertificate},
 * keyed by their exact signed bytes and signature (oldest first, bounded). The
 * device list, the bundle and every PREKEY envelope of a peer carry the same
 * certificate; a 500-device group would otherwise verify each one twice or more.
 * The `expected` checks, being comparisons, run every time.
 */
const verifiedCertificates = new Map<string, true>();
const VERIFIED_CERTIFICATES_MAX = 4096;

/** Cache key of a certificate: its signed bytes and signature, as one string (null if no 64-byte signature). */
function verifiedKey(tbs: Uint8Array, signature: Uint8Array): string | null {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return null;
  let out = '';
  for (const bytes of [tbs, signature])
    for (let i = 0; i < bytes.length; i += 4096)
      out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return out;
}

/**
 * Verify a certificate: the UIK's signature over its fields, that the device's
 * keys are valid keys of their kind, and any `expected` uik, username and
 * deviceId. Every failure is `CryptoError('BAD_CERTIFICATE')` (the cause says
 * why); a structurally broken object is MALFORMED.
 */
export function verifyDeviceCertificate(
  cert: DeviceCertificate,
  expected: CertificateExpectation = {},
): void {
  try {
    checkFields(cert);
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'certificate fields are malformed', { cause });
  }
  if (expected.uik !== undefined && !equalBytes(expected.uik, cert.uik)) {
    throw new CryptoError(
      'BAD_CERTIFICATE',
      'certificate is not issued by the expected user identity key',
    );
  }
  if (expected.username !== undefined && expected.username !== cert.username) {
    throw new CryptoError(
      'BAD_CERTIFICATE',
      `certificate is for user ${cert.username}, not ${expected.username}`,
    );
  }
  if (expected.deviceId !== undefined && expected.deviceId !== cert.deviceId) {
    throw new CryptoError(
      'BAD_CERTIFICATE',
      `certificate is for device ${cert.deviceId}, not ${expected.deviceId}`,
    );
  }
  const tbs = encodeFields(cert);
  // Same bytes, same answer: a certificate verified before is not verified again.
  const key = verifiedKey(tbs, cert.signature);
  if (key !== null && verifiedCertificates.has(key)) return;
  try {
    verify(cert.uik, DEVICE_CERTIFICATE_DOMAIN, tbs, cert.signature);
  } catch (cause) {
    throw new CryptoError('BAD_CERTIFICATE', 'certificate signature does not verify', { cause });
  }
  // The signing key is checked where it is used: libsodium's Ed25519 verify
  // refuses small-order and non-canonical public keys (see wycheproof.test.ts).
  try {
    assertValidX25519PublicKey(cert.identityKey, 'certificate identity key');
  } catch (cause) {
    throw new CryptoError('BAD_CERTIFICATE', 'certificate identity key is not a valid X25519 key', {
      cause,
    });
  }
  if (key !== null) {
    verifiedCertificates.set(key, true);
    if (verifiedCertificates.size > VERIFIED_CERTIFICATES_MAX)
      verifiedCertificates.delete(verifiedCertificates.keys().next().value as string);
  }
}
