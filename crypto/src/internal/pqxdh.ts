/**
 * The PQXDH-style key agreement (PROTOCOL.md §6.2), modelled on Signal's PQXDH:
 *
 *   DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)
 *   DH4 = DH(EK_A, OPK_B)   (only when a one-time prekey was used)
 *   (CT, SS) = X-Wing.Encaps(PQPK_B)
 *   SK = KDF(F ‖ DH1 ‖ DH2 ‖ DH3 ‖ [DH4] ‖ SS, salt = none, label = handshake, 32, info = AD)
 *
 * where F is 32 bytes of 0xFF and AD is the session associated data binding
 * both device certificates ({@link sessionAssociatedData}).
 */
import { ByteWriter, concat, wipe } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { hash, kdf, LABELS } from '../kdf.ts';
import { sodium } from '../sodium.ts';
import { randomBytes } from './random.ts';
import { x25519 } from './x25519.ts';

/** Bytes of randomness X-Wing encapsulation consumes (ML-KEM-768 m ‖ X25519 ephemeral seed). */
export function xwingEncapsulationSeedBytes(): number {
  // libsodium exports no constant for it; X-Wing's encapsulation seed is two
  // 32-byte halves, i.e. twice the key-generation seed.
  return 2 * sodium().crypto_kem_xwing_SEEDBYTES;
}

/**
 * AD = BLAKE2b-256(string8(LABELS.sessionAd) ‖ bytes16(cert_initiator) ‖
 * bytes16(cert_responder)) over the canonical certificate encodings.
 */
export function sessionAssociatedData(
  initiatorCert: Uint8Array,
  responderCert: Uint8Array,
): Uint8Array {
  const input = new ByteWriter()
    .string8(LABELS.sessionAd)
    .bytes16(initiatorCert)
    .bytes16(responderCert)
    .finish();
  return hash(sodium().crypto_generichash_BYTES, input);
}

function deriveSk(dhs: Uint8Array[], ss: Uint8Array, ad: Uint8Array): Uint8Array {
  const s = sodium();
  const f = new Uint8Array(s.crypto_scalarmult_BYTES).fill(0xff);
  const ikm = concat(f, ...dhs, ss);
  const sk = kdf(ikm, null, LABELS.handshake, s.crypto_generichash_BYTES, ad);
  wipe(ikm, ...dhs, ss);
  return sk;
}

/** Initiator's inputs: our identity secret and ephemeral key, their public keys. */
export interface InitiatorAgreement {
  identitySecret: Uint8Array;
  ephemeralSecret: Uint8Array;
  remoteIdentityKey: Uint8Array;
  remoteSignedPrekey: Uint8Array;
  remoteOneTimePrekey: Uint8Array | null;
  remoteKemPrekey: Uint8Array;
  /** Encapsulation randomness ({@link xwingEncapsulationSeedBytes}); known-answer vectors only. */
  kemSeed?: Uint8Array | undefined;
  ad: Uint8Array;
}

/** Initiator side: returns SK and the X-Wing ciphertext for the responder. */
export function agreeAsInitiator(a: InitiatorAgreement): {
  sk: Uint8Array;
  kemCiphertext: Uint8Array;
} {
  const s = sodium();
  const dhs = [
    x25519(a.identitySecret, a.remoteSignedPrekey),
    x25519(a.ephemeralSecret, a.remoteIdentityKey),
    x25519(a.ephemeralSecret, a.remoteSignedPrekey),
  ];
  if (a.remoteOneTimePrekey) dhs.push(x25519(a.ephemeralSecret, a.remoteOneTimePrekey));
  let enc: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  try {
    // Always the deterministic variant, with our own fast randomness by default
    // (libsodium.js's internal randomness is slow, see random.ts).
    const seed = a.kemSeed ?? randomBytes(xwingEncapsulationSeedBytes());
    enc = s.crypto_kem_xwing_enc_deterministic(a.remoteKemPrekey, seed);
    if (!a.kemSeed) wipe(seed);
  } catch (cause) {
    wipe(...dhs);
    throw new CryptoError('INVALID_KEY', 'X-Wing encapsulation failed', { cause });
  }
  return { sk: deriveSk(dhs, enc.sharedSecret, a.ad), kemCiphertext: enc.ciphertext };
}

/** Responder's inputs: our secrets, their identity and ephemeral keys, the KEM ciphertext. */
export interface ResponderAgreement {
  identitySecret: Uint8Array;
  signedPrekeySecret: Uint8Array;
  oneTimePrekeySecret: Uint8Array | null;
  kemPrekeySecret: Uint8Array;
  remoteIdentityKey: Uint8Array;
  remoteEphemeralKey: Uint8Array;
  kemCiphertext: Uint8Array;
  ad: Uint8Array;
}

/** Responder side: the same SK as the initiator's when nothing was tampered with. */
export function agreeAsResponder(b: ResponderAgreement): Uint8Array {
  const s = sodium();
  const dhs = [
    x25519(b.signedPrekeySecret, b.remoteIdentityKey),
    x25519(b.identitySecret, b.remoteEphemeralKey),
    x25519(b.signedPrekeySecret, b.remoteEphemeralKey),
  ];
  if (b.oneTimePrekeySecret) dhs.push(x25519(b.oneTimePrekeySecret, b.remoteEphemeralKey));
  let ss: Uint8Array;
  try {
    ss = s.crypto_kem_xwing_dec(b.kemCiphertext, b.kemPrekeySecret);
  } catch (cause) {
    wipe(...dhs);
    throw new CryptoError('DECRYPT_FAILED', 'X-Wing decapsulation failed', { cause });
  }
  return deriveSk(dhs, ss, b.ad);
}
