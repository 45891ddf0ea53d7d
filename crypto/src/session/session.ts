/**
 * The pairwise Double Ratchet session object (PROTOCOL.md §6.3–6.6): encrypt,
 * decrypt, serialize. The handshake that creates one is in `handshake.ts`, the
 * envelope bodies it reads and writes in `envelope.ts`.
 *
 * Both sides use {@link Session.encrypt} / {@link Session.decrypt}.
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
  MAX_ENVELOPE_BYTES,
} from '../envelope.ts';
import { CryptoError } from '../errors.ts';
import {
  type CertificateExpectation,
  type DeviceCertificate,
  decodeDeviceCertificate,
} from '../identity.ts';
import { sessionAssociatedData } from '../internal/pqxdh.ts';
import {
  type RandomSource,
  type RatchetState,
  ratchetDecrypt,
  ratchetEncrypt,
  readRatchet,
  wipeRatchet,
  writeRatchet,
} from '../internal/ratchet.ts';
import { sodium } from '../sodium.ts';
import {
  addressOf,
  type DeviceAddress,
  handshakeHash,
  type ParsedEnvelope,
  parseEnvelope,
  sameAddress,
} from './envelope.ts';

export { MAX_SKIP, MAX_SKIPPED_KEYS, type RandomSource } from '../internal/ratchet.ts';

/** Version byte of {@link Session.serialize}'s output. */
export const SESSION_STATE_VERSION = 1;

/**
 * Bytes a serialised state may grow by from one message to the next without the writer
 * growing (a new ratchet key, a few skipped message keys).
 */
const STATE_SLACK = 256;

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

export type Role = 'initiator' | 'responder';

export interface SessionInit {
  role: Role;
  localCertificate: Uint8Array;
  remoteCertificate: Uint8Array;
  ratchet: RatchetState;
  pendingHandshake: Uint8Array | null;
  handshakeHash: Uint8Array | null;
  random: RandomSource | undefined;
}

/** Builds a session from its parts; for `handshake.ts` only (not re-exported by the package). */
export let createSession: (init: SessionInit) => Session;
/** Decrypts an already parsed envelope; for `handshake.ts` only (not re-exported by the package). */
export let decryptParsed: (session: Session, p: ParsedEnvelope) => Uint8Array;

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
  /**
   * Length of this session's state when last read or written: {@link Session.serialize} starts
   * its writer at about that size (it runs after every message received; issue 23).
   */
  #stateBytes = 0;

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
    const w = new ByteWriter(this.#stateBytes > 0 ? this.#stateBytes + STATE_SLACK : undefined)
      .u8(SESSION_STATE_VERSION)
      .u8(this.#role === 'initiator' ? 1 : 2)
      .bytes16(this.#localCertBytes)
      .bytes16(this.#remoteCertBytes);
    if (this.#pendingHandshake) w.u8(1).bytes16(this.#pendingHandshake);
    else w.u8(0);
    if (this.#handshakeHash) w.u8(1).raw(this.#handshakeHash);
    else w.u8(0);
    writeRatchet(w, this.#ratchet);
    const state = w.finish();
    this.#stateBytes = state.length;
    return state;
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
    const session = new Session({
      role: roleByte === 1 ? 'initiator' : 'responder',
      localCertificate,
      remoteCertificate,
      ratchet,
      pendingHandshake,
      handshakeHash: hashBytes,
      random: options.random,
    });
    session.#stateBytes = bytes.length;
    return session;
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
