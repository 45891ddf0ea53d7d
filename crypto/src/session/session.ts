/**
 * Pairwise device-to-device sessions (PROTOCOL.md §6): the PQXDH-style
 * handshake, the Double Ratchet, and the bodies of the PREKEY (1), RATCHET (2)
 * and SENDER_KEY (4) envelopes, each defined once here.
 *
 * The initiator fetches the responder's prekey bundle, calls
 * {@link initiateSession} and sends PREKEY envelopes until the first reply
 * arrives; the responder calls {@link acceptSession} on the first PREKEY
 * envelope. After that both use {@link Session.encrypt} / {@link Session.decrypt}.
 * Decryption is transactional: when it throws, the session is unchanged.
 *
 * Runtime: any (`.std`). No clock, no randomness except libsodium's (or an
 * injected {@link RandomSource} for known-answer vectors).
 */
import { ByteReader, ByteWriter, equalBytes, wipe } from '../bytes.ts';
import {
  EnvelopeType,
  type EnvelopeTypeValue,
  frameEnvelope,
  unframeEnvelope,
  MAX_ENVELOPE_BYTES,
} from '../envelope.ts';
import { CryptoError } from '../errors.ts';
import {
  type CertificateExpectation,
  type DeviceCertificate,
  type DeviceKeys,
  decodeDeviceCertificate,
  encodeDeviceCertificate,
  verifyDeviceCertificate,
} from '../identity.ts';
import { hash } from '../kdf.ts';
import {
  agreeAsInitiator,
  agreeAsResponder,
  sessionAssociatedData,
  xwingEncapsulationSeedBytes,
} from '../internal/pqxdh.ts';
import {
  initInitiator,
  initResponder,
  type RandomSource,
  type RatchetHeader,
  type RatchetState,
  ratchetDecrypt,
  ratchetEncrypt,
  readRatchet,
  wipeRatchet,
  writeRatchet,
} from '../internal/ratchet.ts';
import { verifySignedPrekeySignature } from '../internal/prekey-wire.ts';
import { generateX25519KeyPair, x25519PublicKey } from '../internal/x25519.ts';
import { type PrekeyBundle, verifyKemPrekey } from '../prekeys.ts';
import { peekGroupEnvelope } from '../senderkeys/sender-key.ts';
import { sodium } from '../sodium.ts';
import { DEVICE_ID_PATTERN, USERNAME_PATTERN } from '../wire/topics.ts';

export { MAX_SKIP, MAX_SKIPPED_KEYS, type RandomSource } from '../internal/ratchet.ts';

/** Version byte of {@link Session.serialize}'s output. */
export const SESSION_STATE_VERSION = 1;

/** A device: the routing address carried in every pairwise envelope. */
export interface DeviceAddress {
  username: string;
  deviceId: string;
}

/** This device's certificate and keys, as a session needs them. */
export interface LocalDevice {
  certificate: DeviceCertificate;
  keys: DeviceKeys;
}

/**
 * The responder's prekey secrets, looked up by the ids a PREKEY envelope names
 * (use {@link peekPairwiseEnvelope} to learn the ids first if your store is
 * asynchronous). Return `undefined` for an id you do not hold.
 */
export interface PrekeySecrets {
  /** X25519 secret of the signed prekey with this id. */
  signedPrekey(id: number): Uint8Array | undefined;
  /** X-Wing secret of the KEM prekey with this id, and whether it is the last-resort one. */
  kemPrekey(id: number): { secretKey: Uint8Array; lastResort: boolean } | undefined;
  /** X25519 secret of the one-time prekey with this id. */
  oneTimePrekey(id: number): Uint8Array | undefined;
}

/** Options of {@link initiateSession}, {@link acceptSession} and {@link Session.deserialize}. */
export interface SessionOptions {
  /** What the peer's certificate must match (its UIK above all). */
  expected?: CertificateExpectation;
  /**
   * Randomness for ephemeral, KEM and ratchet keys. Known-answer vectors only;
   * the default is libsodium's CSPRNG. Never serialized.
   */
  random?: RandomSource;
}

/** What {@link acceptSession} returns. */
export interface AcceptedSession {
  session: Session;
  /** The first message's plaintext. */
  plaintext: Uint8Array;
  /** True when the first message carries a sender-key distribution (inner type SENDER_KEY). */
  carriesSenderKey: boolean;
  /** Prekeys the handshake consumed: delete these secrets now (never a last-resort KEM prekey). */
  consumed: { oneTimePrekeyId: number | null; kemPrekeyId: number | null };
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

interface HandshakeHeader {
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

interface ParsedEnvelope {
  type: PairwiseEnvelopeInfo['type'];
  sender: DeviceAddress;
  innerType: typeof EnvelopeType.RATCHET | typeof EnvelopeType.SENDER_KEY;
  handshake: HandshakeHeader | null;
  header: RatchetHeader;
  ciphertext: Uint8Array;
  /** Envelope bytes before the ciphertext: authenticated as associated data. */
  prefix: Uint8Array;
}

function encodeHandshake(h: Omit<HandshakeHeader, 'bytes' | 'certificate'>): Uint8Array {
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
function parseEnvelope(bytes: Uint8Array): ParsedEnvelope {
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

function addressOf(cert: DeviceCertificate): DeviceAddress {
  return { username: cert.username, deviceId: cert.deviceId };
}

function sameAddress(a: DeviceAddress, b: DeviceAddress): boolean {
  return a.username === b.username && a.deviceId === b.deviceId;
}

// ---------------------------------------------------------------------------
// Session

type Role = 'initiator' | 'responder';

interface SessionInit {
  role: Role;
  localCertificate: Uint8Array;
  remoteCertificate: Uint8Array;
  ratchet: RatchetState;
  pendingHandshake: Uint8Array | null;
  handshakeHash: Uint8Array | null;
  random: RandomSource | undefined;
}

let createSession: (init: SessionInit) => Session;
let decryptParsed: (session: Session, p: ParsedEnvelope) => Uint8Array;

/**
 * One pairwise Double Ratchet session with one remote device. Create with
 * {@link initiateSession} or {@link acceptSession}; persist with
 * {@link Session.serialize} and restore with {@link Session.deserialize}.
 */
export class Session {
  readonly #role: Role;
  readonly #localCertBytes: Uint8Array;
  readonly #remoteCertBytes: Uint8Array;
  readonly #local: DeviceCertificate;
  readonly #remote: DeviceCertificate;
  readonly #ad: Uint8Array;
  /** Precomputed AD heads for messages we send and messages we receive. */
  readonly #adToRemote: Uint8Array;
  readonly #adToLocal: Uint8Array;
  /** `string8(local username) ‖ string8(local deviceId)`, the start of every body we send. */
  readonly #senderPrefix: Uint8Array;
  readonly #ratchet: RatchetState;
  #pendingHandshake: Uint8Array | null;
  readonly #handshakeHash: Uint8Array | null;
  readonly #random: RandomSource | undefined;

  private constructor(init: SessionInit) {
    this.#role = init.role;
    this.#localCertBytes = init.localCertificate;
    this.#remoteCertBytes = init.remoteCertificate;
    this.#local = decodeDeviceCertificate(init.localCertificate);
    this.#remote = decodeDeviceCertificate(init.remoteCertificate);
    this.#ad =
      init.role === 'initiator'
        ? sessionAssociatedData(init.localCertificate, init.remoteCertificate)
        : sessionAssociatedData(init.remoteCertificate, init.localCertificate);
    this.#adToRemote = adHead(this.#ad, addressOf(this.#remote));
    this.#adToLocal = adHead(this.#ad, addressOf(this.#local));
    this.#senderPrefix = new ByteWriter()
      .string8(this.#local.username)
      .string8(this.#local.deviceId)
      .finish();
    this.#ratchet = init.ratchet;
    this.#pendingHandshake = init.pendingHandshake;
    this.#handshakeHash = init.handshakeHash;
    this.#random = init.random;
  }

  static {
    // Module-private entry points: construction and the accept-time decrypt
    // are not part of the public class surface.
    createSession = (init) => new Session(init);
    decryptParsed = (session, p) => session.#decryptParsed(p);
  }

  /** Whether this side started the handshake. */
  get role(): Role {
    return this.#role;
  }

  /** The remote device's certificate (verified when the session was set up). */
  get remoteCertificate(): DeviceCertificate {
    return { ...this.#remote };
  }

  /** This device's certificate as bound into the session. */
  get localCertificate(): DeviceCertificate {
    return { ...this.#local };
  }

  /** The remote device's address. */
  get remoteAddress(): DeviceAddress {
    return addressOf(this.#remote);
  }

  /** This device's address. */
  get localAddress(): DeviceAddress {
    return addressOf(this.#local);
  }

  /** False while the initiator has not yet received a reply (it still sends PREKEY envelopes). */
  get established(): boolean {
    return this.#pendingHandshake === null;
  }

  /** AD of a message to `recipient`: `ad ‖ string8 user ‖ string8 device ‖ envelope prefix`. */
  #associatedData(prefix: Uint8Array, toRemote: boolean): Uint8Array {
    const head = toRemote ? this.#adToRemote : this.#adToLocal;
    const out = new Uint8Array(head.length + prefix.length);
    out.set(head, 0);
    out.set(prefix, head.length);
    return out;
  }

  /**
   * Encrypt `plaintext` (already padded) for the remote device. Returns a
   * PREKEY envelope until the first reply arrived, then RATCHET — or
   * SENDER_KEY when `options.senderKey` is set (a sender-key distribution).
   * Throws `CryptoError('OVERSIZED')` if the envelope would exceed the limit.
   */
  encrypt(plaintext: Uint8Array, options: { senderKey?: boolean } = {}): Uint8Array {
    const s = sodium();
    if (!(plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array');
    const innerType = options.senderKey ? EnvelopeType.SENDER_KEY : EnvelopeType.RATCHET;
    const pending = this.#pendingHandshake;
    const outerType: EnvelopeTypeValue = pending ? EnvelopeType.PREKEY : innerType;
    // version ‖ type ‖ sender ‖ [inner type ‖ handshake] ‖ dh ‖ u32 pn ‖ u32 n
    const prefixLength =
      2 +
      this.#senderPrefix.length +
      (pending ? 1 + pending.length : 0) +
      s.crypto_scalarmult_BYTES +
      8;
    const total = prefixLength + plaintext.length + s.crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (total > MAX_ENVELOPE_BYTES) {
      throw new CryptoError('OVERSIZED', `envelope would exceed ${MAX_ENVELOPE_BYTES} bytes`);
    }
    const out = new Uint8Array(total);
    const prefix = out.subarray(0, prefixLength);
    const { ciphertext } = ratchetEncrypt(this.#ratchet, plaintext, (header) => {
      const w = new ByteWriter().raw(this.#senderPrefix);
      if (pending) w.u8(innerType).raw(pending);
      prefix.set(frameEnvelope(outerType, w.raw(header.dh).u32(header.pn).u32(header.n).finish()));
      return this.#associatedData(prefix, true);
    });
    out.set(ciphertext, prefixLength);
    return out;
  }

  /**
   * Decrypt an envelope from the remote device. Transactional: on any error
   * the session is exactly as before. Throws `CryptoError`: MALFORMED,
   * UNSUPPORTED_VERSION, UNKNOWN_TYPE, OVERSIZED, NO_SESSION (another sender,
   * or a PREKEY envelope of another handshake), DUPLICATE_MESSAGE,
   * TOO_MANY_SKIPPED, INVALID_KEY, DECRYPT_FAILED.
   */
  decrypt(envelope: Uint8Array): Uint8Array {
    const p = parseEnvelope(envelope);
    return this.#decryptParsed(p);
  }

  #decryptParsed(p: ParsedEnvelope): Uint8Array {
    if (!sameAddress(p.sender, this.remoteAddress)) {
      throw new CryptoError(
        'NO_SESSION',
        `envelope is from ${p.sender.username}/${p.sender.deviceId}, not this session's peer`,
      );
    }
    if (p.handshake) {
      // A repeated PREKEY envelope of the handshake that created this session.
      if (
        !this.#handshakeHash ||
        !equalBytes(this.#handshakeHash, handshakeHash(p.handshake.bytes))
      ) {
        throw new CryptoError(
          'NO_SESSION',
          'PREKEY envelope of another handshake: accept it as a new session',
        );
      }
    }
    const plaintext = ratchetDecrypt(
      this.#ratchet,
      p.header,
      p.ciphertext,
      this.#associatedData(p.prefix, false),
      this.#random,
    );
    // Any authenticated message from the responder proves it has the session.
    if (this.#pendingHandshake) {
      wipe(this.#pendingHandshake);
      this.#pendingHandshake = null;
    }
    return plaintext;
  }

  /**
   * The whole session state as bytes (contains secrets: store encrypted at
   * rest). Layout in PROTOCOL.md §6.6.
   */
  serialize(): Uint8Array {
    const w = new ByteWriter()
      .u8(SESSION_STATE_VERSION)
      .u8(this.#role === 'initiator' ? 1 : 2)
      .bytes16(this.#localCertBytes)
      .bytes16(this.#remoteCertBytes);
    if (this.#pendingHandshake) w.u8(1).bytes16(this.#pendingHandshake);
    else w.u8(0);
    if (this.#handshakeHash) w.u8(1).raw(this.#handshakeHash);
    else w.u8(0);
    writeRatchet(w, this.#ratchet);
    return w.finish();
  }

  /**
   * Restore a session from {@link Session.serialize}'s bytes. Throws
   * `CryptoError` MALFORMED or UNSUPPORTED_VERSION.
   */
  static deserialize(bytes: Uint8Array, options: Pick<SessionOptions, 'random'> = {}): Session {
    if (!(bytes instanceof Uint8Array))
      throw new CryptoError('MALFORMED', 'session state is not bytes');
    const r = new ByteReader(bytes);
    const version = r.u8('session version');
    if (version !== SESSION_STATE_VERSION) {
      throw new CryptoError(
        'UNSUPPORTED_VERSION',
        `session state version ${version} is not ${SESSION_STATE_VERSION}`,
      );
    }
    const roleByte = r.u8('role');
    if (roleByte !== 1 && roleByte !== 2)
      throw new CryptoError('MALFORMED', 'unknown session role');
    const localCertificate = r.bytes16('local certificate');
    const remoteCertificate = r.bytes16('remote certificate');
    const hasPending = r.u8('pending flag');
    if (hasPending > 1) throw new CryptoError('MALFORMED', 'pending flag must be 0 or 1');
    const pendingHandshake = hasPending ? r.bytes16('pending handshake') : null;
    const hasHash = r.u8('handshake hash flag');
    if (hasHash > 1) throw new CryptoError('MALFORMED', 'handshake hash flag must be 0 or 1');
    const hashBytes = hasHash ? r.raw(sodium().crypto_generichash_BYTES, 'handshake hash') : null;
    const ratchet = readRatchet(r);
    r.end('session state');
    return new Session({
      role: roleByte === 1 ? 'initiator' : 'responder',
      localCertificate,
      remoteCertificate,
      ratchet,
      pendingHandshake,
      handshakeHash: hashBytes,
      random: options.random,
    });
  }

  /** Zero every secret this session holds; the object is unusable afterwards. */
  destroy(): void {
    wipeRatchet(this.#ratchet);
    wipe(this.#pendingHandshake);
  }
}

/** `ad ‖ string8(username) ‖ string8(deviceId)` of a message's recipient. */
function adHead(ad: Uint8Array, recipient: DeviceAddress): Uint8Array {
  return new ByteWriter().raw(ad).string8(recipient.username).string8(recipient.deviceId).finish();
}

function handshakeHash(handshakeBytes: Uint8Array): Uint8Array {
  return hash(sodium().crypto_generichash_BYTES, handshakeBytes);
}

function checkLocal(local: LocalDevice): Uint8Array {
  const certBytes = encodeDeviceCertificate(local.certificate);
  if (!equalBytes(local.certificate.identityKey, local.keys.identity.publicKey)) {
    throw new TypeError('local.certificate does not certify local.keys.identity');
  }
  return certBytes;
}

/**
 * Start a session with the device whose prekey bundle we fetched (PQXDH,
 * PROTOCOL.md §6.2). Verifies the bundle first (`options.expected` should pin
 * the peer's UIK, username and device id): throws BAD_CERTIFICATE,
 * BAD_SIGNATURE or INVALID_KEY for a forged or broken bundle. The returned
 * session sends PREKEY envelopes until the first reply is decrypted.
 */
export function initiateSession(
  local: LocalDevice,
  bundle: PrekeyBundle,
  options: SessionOptions = {},
): Session {
  const s = sodium();
  // verifyPrekeyBundle without its separate small-order probes of the signed
  // and one-time prekeys: DH1/DH3 and DH4 below multiply those keys anyway and
  // refuse an all-zero result (§2.3), so the probes would only repeat the same
  // scalar multiplications (every DH also makes the encoding checks first).
  verifyDeviceCertificate(bundle.certificate, options.expected ?? {});
  verifySignedPrekeySignature(bundle.certificate.signingKey, bundle.signedPrekey);
  verifyKemPrekey(bundle.certificate.signingKey, bundle.kemPrekey);
  const localCertBytes = checkLocal(local);
  if (sameAddress(addressOf(local.certificate), addressOf(bundle.certificate))) {
    throw new TypeError('cannot start a session with this device itself');
  }
  const remoteCertBytes = encodeDeviceCertificate(bundle.certificate);
  const ad = sessionAssociatedData(localCertBytes, remoteCertBytes);
  const random = options.random;
  let ephemeral;
  if (random) {
    const seed = random(s.crypto_box_SEEDBYTES);
    ephemeral = generateX25519KeyPair(seed);
    wipe(seed);
  } else {
    ephemeral = generateX25519KeyPair();
  }
  const kemSeed = random ? random(xwingEncapsulationSeedBytes()) : undefined;
  const { sk, kemCiphertext } = agreeAsInitiator({
    identitySecret: local.keys.identity.secretKey,
    ephemeralSecret: ephemeral.secretKey,
    remoteIdentityKey: bundle.certificate.identityKey,
    remoteSignedPrekey: bundle.signedPrekey.publicKey,
    remoteOneTimePrekey: bundle.oneTimePrekey?.publicKey ?? null,
    remoteKemPrekey: bundle.kemPrekey.publicKey,
    kemSeed,
    ad,
  });
  wipe(ephemeral.secretKey, kemSeed);
  const handshake = encodeHandshake({
    certificateBytes: localCertBytes,
    signedPrekeyId: bundle.signedPrekey.id,
    kemPrekeyId: bundle.kemPrekey.id,
    oneTimePrekeyId: bundle.oneTimePrekey?.id ?? null,
    baseKey: ephemeral.publicKey,
    kemCiphertext,
  });
  const ratchet = initInitiator(sk, bundle.signedPrekey.publicKey, random);
  wipe(sk);
  return createSession({
    role: 'initiator',
    localCertificate: localCertBytes,
    remoteCertificate: remoteCertBytes,
    ratchet,
    pendingHandshake: handshake,
    handshakeHash: null,
    random,
  });
}

/**
 * Accept a session from a PREKEY envelope (PQXDH responder side, PROTOCOL.md
 * §6.2) and decrypt its message. The sender's certificate must be signed by its
 * own UIK, name the envelope's sender address and match `options.expected`
 * (pin the sender's UIK when you know it). Throws `CryptoError`: NO_SESSION (not
 * a PREKEY envelope), PREKEY_NOT_FOUND, BAD_CERTIFICATE, INVALID_KEY,
 * DECRYPT_FAILED, or a parse error. Nothing is consumed on failure: delete the
 * prekeys listed in `consumed` only after this returns.
 */
export function acceptSession(
  local: LocalDevice,
  secrets: PrekeySecrets,
  envelope: Uint8Array,
  options: SessionOptions = {},
): AcceptedSession {
  const p = parseEnvelope(envelope);
  const h = p.handshake;
  if (!h) throw new CryptoError('NO_SESSION', 'only a PREKEY envelope can start a session');
  if (!sameAddress(p.sender, addressOf(h.certificate))) {
    throw new CryptoError('BAD_CERTIFICATE', 'PREKEY sender address differs from its certificate');
  }
  verifyDeviceCertificate(h.certificate, options.expected ?? {});
  const localCertBytes = checkLocal(local);
  if (sameAddress(p.sender, addressOf(local.certificate))) {
    throw new CryptoError('BAD_CERTIFICATE', 'PREKEY envelope claims to come from this device');
  }
  const spkSecret = secrets.signedPrekey(h.signedPrekeyId);
  if (!spkSecret) throw new CryptoError('PREKEY_NOT_FOUND', `no signed prekey ${h.signedPrekeyId}`);
  const kem = secrets.kemPrekey(h.kemPrekeyId);
  if (!kem) throw new CryptoError('PREKEY_NOT_FOUND', `no KEM prekey ${h.kemPrekeyId}`);
  let otkSecret: Uint8Array | null = null;
  if (h.oneTimePrekeyId !== null) {
    otkSecret = secrets.oneTimePrekey(h.oneTimePrekeyId) ?? null;
    if (!otkSecret)
      throw new CryptoError('PREKEY_NOT_FOUND', `no one-time prekey ${h.oneTimePrekeyId}`);
  }
  const ad = sessionAssociatedData(h.certificateBytes, localCertBytes);
  const sk = agreeAsResponder({
    identitySecret: local.keys.identity.secretKey,
    signedPrekeySecret: spkSecret,
    oneTimePrekeySecret: otkSecret,
    kemPrekeySecret: kem.secretKey,
    remoteIdentityKey: h.certificate.identityKey,
    remoteEphemeralKey: h.baseKey,
    kemCiphertext: h.kemCiphertext,
    ad,
  });
  const ratchet = initResponder(sk, {
    publicKey: x25519PublicKey(spkSecret),
    secretKey: spkSecret,
  });
  wipe(sk);
  const session = createSession({
    role: 'responder',
    localCertificate: localCertBytes,
    remoteCertificate: h.certificateBytes,
    ratchet,
    pendingHandshake: null,
    handshakeHash: handshakeHash(h.bytes),
    random: options.random,
  });
  let plaintext: Uint8Array;
  try {
    plaintext = decryptParsed(session, p);
  } catch (err) {
    session.destroy();
    throw err;
  }
  return {
    session,
    plaintext,
    carriesSenderKey: p.innerType === EnvelopeType.SENDER_KEY,
    consumed: {
      oneTimePrekeyId: h.oneTimePrekeyId,
      kemPrekeyId: kem.lastResort ? null : h.kemPrekeyId,
    },
  };
}
