/**
 * Key derivation on BLAKE2b (PROTOCOL.md §2). Every derivation names its
 * purpose with a label from {@link LABELS}, so keys for one use can never be
 * confused with keys for another.
 */
import { ByteWriter, concat, utf8 } from './bytes.ts';
import { sodium } from './sodium.ts';

/** Domain-separation labels; changing one changes every derived key (the KATs catch it). */
export const LABELS = {
  /** PQXDH handshake: shared secret → root key and first chain key. */
  handshake: 'Sotto_v1_PQXDH',
  /** Double Ratchet root step: (root key, DH output) → (root key, chain key). */
  ratchetRoot: 'Sotto_v1_RatchetRoot',
  /** Pairwise session associated data: hash over both device certificates. */
  sessionAd: 'Sotto_v1_SessionAD',
  /** Message key → AEAD key and nonce. */
  messageKeys: 'Sotto_v1_MessageKeys',
  /** Sender-key message key → AEAD key and nonce. */
  senderMessageKeys: 'Sotto_v1_SenderMessageKeys',
  /** Safety number iteration. */
  safetyNumber: 'Sotto_v1_SafetyNumber',
  /** Membership record hash chain. */
  membership: 'Sotto_v1_Membership',
  /** Attachment content hash. */
  attachment: 'Sotto_v1_Attachment',
  /** Device linking: ephemeral DH → AEAD key and nonce of the sealed link bundle (§13). */
  link: 'Sotto_v1_Link',
  /** Local database at rest: storage key → record sealing subkey (and AD prefix) (§14). */
  storageSeal: 'Sotto_v1_StorageSeal',
  /** Local database at rest: storage key → blinding subkey of lookup values (§14). */
  storageBlind: 'Sotto_v1_StorageBlind',
} as const;

/** Plain BLAKE2b-256 (or `length` bytes, 16–64) of the concatenated inputs. */
export function hash(length: number, ...parts: Uint8Array[]): Uint8Array {
  return sodium().crypto_generichash(length, concat(...parts), null);
}

/** Keyed BLAKE2b: a PRF, used where HKDF would use HMAC. */
export function keyedHash(key: Uint8Array, length: number, ...parts: Uint8Array[]): Uint8Array {
  return sodium().crypto_generichash(length, concat(...parts), key);
}

/** `string8(label)` of recently used labels (a handful of constants in practice). */
const LABEL_CACHE = new Map<string, Uint8Array>();

/**
 * HKDF (RFC 5869 structure) with keyed BLAKE2b-512 in place of HMAC:
 * PRK = BLAKE2b(key = salt or 64 zero bytes, ikm);
 * T(i) = BLAKE2b(key = PRK, T(i-1) ‖ u8 len(label) ‖ label ‖ info ‖ u8 i); output = T(1) ‖ T(2) … cut to `length`.
 */
export function kdf(
  ikm: Uint8Array,
  salt: Uint8Array | null,
  label: string,
  length: number,
  info: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const s = sodium();
  if (length < 1 || length > 255 * 64) throw new RangeError(`kdf length out of range: ${length}`);
  const saltKey =
    salt && salt.length > 0 ? salt : new Uint8Array(s.crypto_generichash_KEYBYTES_MAX);
  // BLAKE2b keys are at most 64 bytes; longer salts are hashed down first.
  const prkKey = saltKey.length > s.crypto_generichash_KEYBYTES_MAX ? hash(64, saltKey) : saltKey;
  const prk = s.crypto_generichash(64, ikm, prkKey);
  let labelBytes = LABEL_CACHE.get(label);
  if (!labelBytes) {
    labelBytes = new ByteWriter().string8(label).finish();
    if (LABEL_CACHE.size < 64) LABEL_CACHE.set(label, labelBytes);
  }
  const out = new Uint8Array(length);
  let prev: Uint8Array = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    prev = s.crypto_generichash(64, concat(prev, labelBytes, info, Uint8Array.of(i)), prk);
    out.set(prev.subarray(0, Math.min(64, length - offset)), offset);
    offset += 64;
  }
  s.memzero(prk);
  return out;
}

/** Constants of the symmetric chain step (Signal's 0x01 / 0x02). */
const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);

/**
 * One step of a symmetric KDF chain (Double Ratchet and Sender Keys alike):
 * messageKey = BLAKE2b-256(key = ck, 0x01); nextChainKey = BLAKE2b-256(key = ck, 0x02).
 */
export function chainStep(chainKey: Uint8Array): {
  messageKey: Uint8Array;
  nextChainKey: Uint8Array;
} {
  const s = sodium();
  return {
    messageKey: s.crypto_generichash(32, MESSAGE_KEY_SEED, chainKey),
    nextChainKey: s.crypto_generichash(32, CHAIN_KEY_SEED, chainKey),
  };
}

/** Label as bytes, for callers that bind it into associated data. */
export function labelBytes(label: string): Uint8Array {
  return utf8(label);
}
