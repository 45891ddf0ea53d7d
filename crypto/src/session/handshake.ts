/**
 * The PQXDH-style handshake that starts a pairwise session (PROTOCOL.md §6.2).
 *
 * The initiator fetches the responder's prekey bundle, calls
 * {@link initiateSession} and sends PREKEY envelopes until the first reply
 * arrives; the responder calls {@link acceptSession} on the first PREKEY
 * envelope. After that both use `Session.encrypt` / `Session.decrypt`.
 *
 * Runtime: any. No clock, no randomness except libsodium's (or an injected
 * `RandomSource` for known-answer vectors).
 */
import { equalBytes, wipe } from '../bytes.ts';
import { EnvelopeType } from '../envelope.ts';
import { CryptoError } from '../errors.ts';
import {
  type DeviceCertificate,
  type DeviceKeys,
  encodeDeviceCertificate,
  verifyDeviceCertificate,
} from '../identity.ts';
import {
  agreeAsInitiator,
  agreeAsResponder,
  sessionAssociatedData,
  xwingEncapsulationSeedBytes,
} from '../internal/pqxdh.ts';
import { initInitiator, initResponder } from '../internal/ratchet.ts';
import { verifySignedPrekeySignature } from '../internal/prekey-wire.ts';
import { generateX25519KeyPair, x25519PublicKey } from '../internal/x25519.ts';
import { type PrekeyBundle, verifyKemPrekey } from '../prekeys.ts';
import { sodium } from '../sodium.ts';
import {
  addressOf,
  encodeHandshake,
  handshakeHash,
  parseEnvelope,
  sameAddress,
} from './envelope.ts';
import { createSession, decryptParsed, type Session, type SessionOptions } from './session.ts';

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
