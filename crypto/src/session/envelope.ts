/**
 * The bodies of the pairwise envelopes PREKEY (1), RATCHET (2) and SENDER_KEY (4)
 * (PROTOCOL.md §6.1), defined once here: the strict parser, the handshake
 * header codec, and the unauthenticated peeks used for routing before decrypting.
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter } from '../bytes.ts';
import { EnvelopeType, type EnvelopeTypeValue, unframeEnvelope } from '../envelope.ts';
import { CryptoError } from '../errors.ts';
import { type DeviceCertificate, decodeDeviceCertificate } from '../identity.ts';
import { hash } from '../kdf.ts';
import type { RatchetHeader } from '../internal/ratchet.ts';
import { peekGroupEnvelope } from '../senderkeys/group-message.ts';
import { sodium } from '../sodium.ts';
import { DEVICE_ID_PATTERN, USERNAME_PATTERN } from '../wire/topics.ts';

/** A device: the routing address carried in every pairwise envelope. */
export interface DeviceAddress {
  username: string;
  deviceId: string;
}

/** Routing data of a pairwise envelope, readable without any key (unauthenticated). */
export interface PairwiseEnvelopeInfo {
  type: typeof EnvelopeType.PREKEY | typeof EnvelopeType.RATCHET | typeof EnvelopeType.SENDER_KEY;
  sender: DeviceAddress;
  /** True for SENDER_KEY envelopes and PREKEY envelopes whose inner type is SENDER_KEY. */
  carriesSenderKey: boolean;
  /** PREKEY only: the responder's prekey ids the handshake used. */
  prekeyIds?: { signedPrekeyId: number; kemPrekeyId: number; oneTimePrekeyId: number | null };
  /**
   * PREKEY only: the sender's device certificate as carried (decoded, signature NOT checked):
   * lets a receiver ask its key directory whether it vouches for this device before doing any
   * key agreement (PROTOCOL.md §6.7).
   */
  certificate?: DeviceCertificate;
}

// ---------------------------------------------------------------------------
// Wire bodies (PROTOCOL.md §6.1)

export interface HandshakeHeader {
  certificate: DeviceCertificate;
  certificateBytes: Uint8Array;
  signedPrekeyId: number;
  kemPrekeyId: number;
  oneTimePrekeyId: number | null;
  baseKey: Uint8Array;
  kemCiphertext: Uint8Array;
  /** The encoded handshake header exactly as received. */
  bytes: Uint8Array;
}

export interface ParsedEnvelope {
  type: PairwiseEnvelopeInfo['type'];
  sender: DeviceAddress;
  innerType: typeof EnvelopeType.RATCHET | typeof EnvelopeType.SENDER_KEY;
  handshake: HandshakeHeader | null;
  header: RatchetHeader;
  ciphertext: Uint8Array;
  /** Envelope bytes before the ciphertext: authenticated as associated data. */
  prefix: Uint8Array;
}

export function encodeHandshake(h: Omit<HandshakeHeader, 'bytes' | 'certificate'>): Uint8Array {
  const w = new ByteWriter().bytes16(h.certificateBytes).u32(h.signedPrekeyId).u32(h.kemPrekeyId);
  if (h.oneTimePrekeyId === null) w.u8(0);
  else w.u8(1).u32(h.oneTimePrekeyId);
  return w.raw(h.baseKey).raw(h.kemCiphertext).finish();
}

function readAddress(r: ByteReader): DeviceAddress {
  const username = r.string8('sender username');
  const deviceId = r.string8('sender deviceId');
  if (!USERNAME_PATTERN.test(username))
    throw new CryptoError('MALFORMED', 'sender username is invalid');
  if (!DEVICE_ID_PATTERN.test(deviceId))
    throw new CryptoError('MALFORMED', 'sender deviceId is invalid');
  return { username, deviceId };
}

function readHandshake(r: ByteReader): HandshakeHeader {
  const s = sodium();
  const start = r.remaining;
  const certificateBytes = r.bytes16('sender certificate');
  const certificate = decodeDeviceCertificate(certificateBytes);
  const signedPrekeyId = r.u32('signed prekey id');
  const kemPrekeyId = r.u32('KEM prekey id');
  const hasOtk = r.u8('one-time prekey flag');
  if (hasOtk > 1) throw new CryptoError('MALFORMED', 'one-time prekey flag must be 0 or 1');
  const oneTimePrekeyId = hasOtk === 1 ? r.u32('one-time prekey id') : null;
  const baseKey = r.raw(s.crypto_scalarmult_BYTES, 'base key');
  const kemCiphertext = r.raw(s.crypto_kem_xwing_CIPHERTEXTBYTES, 'KEM ciphertext');
  const length = start - r.remaining;
  const bytes = encodeHandshake({
    certificateBytes,
    signedPrekeyId,
    kemPrekeyId,
    oneTimePrekeyId,
    baseKey,
    kemCiphertext,
  });
  if (bytes.length !== length)
    throw new CryptoError('MALFORMED', 'handshake header length mismatch');
  return {
    certificate,
    certificateBytes,
    signedPrekeyId,
    kemPrekeyId,
    oneTimePrekeyId,
    baseKey,
    kemCiphertext,
    bytes,
  };
}

/** Parse a pairwise envelope to its parts. Every failure is a `CryptoError`. */
export function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
  const s = sodium();
  const { type, body } = unframeEnvelope(bytes);
  if (type === EnvelopeType.GROUP) {
    throw new CryptoError(
      'UNKNOWN_TYPE',
      'a GROUP envelope is not a pairwise envelope (see peekGroupEnvelope)',
    );
  }
  if (type === EnvelopeType.LINK) {
    throw new CryptoError('UNKNOWN_TYPE', 'a LINK envelope is not a pairwise envelope (link.ts)');
  }
  const r = new ByteReader(body);
  const sender = readAddress(r);
  let innerType: ParsedEnvelope['innerType'] =
    type === EnvelopeType.PREKEY ? EnvelopeType.RATCHET : type;
  let handshake: HandshakeHeader | null = null;
  if (type === EnvelopeType.PREKEY) {
    const inner = r.u8('inner type');
    if (inner !== EnvelopeType.RATCHET && inner !== EnvelopeType.SENDER_KEY) {
      throw new CryptoError(
        'UNKNOWN_TYPE',
        `PREKEY inner type ${inner} is not RATCHET or SENDER_KEY`,
      );
    }
    innerType = inner;
    handshake = readHandshake(r);
  }
  const dh = r.raw(s.crypto_scalarmult_BYTES, 'ratchet key');
  const pn = r.u32('pn');
  const n = r.u32('n');
  const ciphertext = r.rest();
  if (ciphertext.length < s.crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    throw new CryptoError('MALFORMED', 'ciphertext shorter than the authentication tag');
  }
  return {
    type,
    sender,
    innerType,
    handshake,
    header: { dh, pn, n },
    ciphertext,
    prefix: bytes.subarray(0, bytes.length - ciphertext.length),
  };
}

/**
 * Sender address and type of a pairwise envelope (PREKEY, RATCHET or
 * SENDER_KEY), for routing to the right session before decrypting.
 * Unauthenticated. A GROUP envelope throws `CryptoError('UNKNOWN_TYPE')`: use
 * `peekGroupEnvelope` from senderkeys.ts for those, or {@link peekEnvelope}.
 */
export function peekPairwiseEnvelope(bytes: Uint8Array): PairwiseEnvelopeInfo {
  const p = parseEnvelope(bytes);
  const info: PairwiseEnvelopeInfo = {
    type: p.type,
    sender: p.sender,
    carriesSenderKey: p.innerType === EnvelopeType.SENDER_KEY,
  };
  if (p.handshake) {
    info.prekeyIds = {
      signedPrekeyId: p.handshake.signedPrekeyId,
      kemPrekeyId: p.handshake.kemPrekeyId,
      oneTimePrekeyId: p.handshake.oneTimePrekeyId,
    };
    info.certificate = p.handshake.certificate;
  }
  return info;
}

/**
 * Type and sender address of any envelope, for routing before decrypting:
 * pairwise types through {@link peekPairwiseEnvelope}, GROUP through
 * `peekGroupEnvelope` (senderkeys.ts, PROTOCOL.md §8). Unauthenticated.
 * Throws `CryptoError` for anything malformed.
 */
export function peekEnvelope(bytes: Uint8Array): {
  type: EnvelopeTypeValue;
  sender: DeviceAddress;
} {
  const { type } = unframeEnvelope(bytes);
  if (type === EnvelopeType.GROUP) {
    const { username, deviceId } = peekGroupEnvelope(bytes);
    return { type, sender: { username, deviceId } };
  }
  return { type, sender: peekPairwiseEnvelope(bytes).sender };
}

export function addressOf(cert: DeviceCertificate): DeviceAddress {
  return { username: cert.username, deviceId: cert.deviceId };
}

export function sameAddress(a: DeviceAddress, b: DeviceAddress): boolean {
  return a.username === b.username && a.deviceId === b.deviceId;
}

/** Hash of a handshake header: recognises a repeated PREKEY envelope of the same handshake. */
export function handshakeHash(handshakeBytes: Uint8Array): Uint8Array {
  return hash(sodium().crypto_generichash_BYTES, handshakeBytes);
}
