/**
 * Encryption at rest of a client's local database (PROTOCOL.md §14): the record sealer every
 * client store uses under its per-device storage key.
 *
 * - A record is sealed with XChaCha20-Poly1305 under a subkey of the storage key, with a
 *   fresh random nonce, and its place in the database (table and primary key) bound as
 *   associated data, so a record moved to another row or table no longer opens.
 * - Lookup values that must stay usable as index keys (usernames, conversation and group ids,
 *   search tokens) are replaced by a keyed BLAKE2b "blind" under a second subkey: equal inputs
 *   give equal blinds, and without the storage key a blind says nothing about its input.
 *
 * Sealed layout: `u8 version (= 1) ‖ nonce[24] ‖ ciphertext ‖ tag[16]`.
 */
import { concat, utf8 } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { aeadOpen, aeadSeal } from './internal/aead.ts';
import { randomBytes } from './internal/random.ts';
import { kdf, keyedHash, LABELS } from './kdf.ts';
import { sodium } from './sodium.ts';

/** Version byte of a sealed record. */
export const SEALED_RECORD_VERSION = 1;

/** Bytes of a blind (a keyed BLAKE2b output). */
export const BLIND_BYTES = 16;

/** Seals and opens records of one local database, and blinds its lookup values. */
export interface RecordSealer {
  /** Seal `plaintext` for the row named by `ad` (table and key, as the caller encodes them). */
  seal(ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * Open a sealed record of the row named by `ad`.
   *
   * @throws CryptoError `DECRYPT_FAILED` when the bytes were changed, belong to another row or
   *   were sealed under another key; `UNSUPPORTED_VERSION` for an unknown version byte;
   *   `MALFORMED` when too short.
   */
  open(ad: Uint8Array, sealed: Uint8Array): Uint8Array;
  /** The keyed hash of `input` ({@link BLIND_BYTES} bytes). */
  blind(input: Uint8Array): Uint8Array;
}

/** Length of a storage key: an XChaCha20-Poly1305 key. */
export function storageKeyBytes(): number {
  return sodium().crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
}

/** A new random storage key. */
export function generateStorageKey(): Uint8Array {
  return randomBytes(storageKeyBytes());
}

/**
 * The sealer of a database whose storage key is `storageKey`. Sealing subkey =
 * KDF(storageKey, "Sotto_v1_StorageSeal"), blinding subkey = KDF(storageKey,
 * "Sotto_v1_StorageBlind"); the storage key itself is never used directly.
 *
 * `random` draws the nonces (default: libsodium's). A store sealing thousands of records a
 * second passes the platform's `crypto.getRandomValues`: libsodium.js draws host randomness
 * four bytes per call, so its nonces cost tens of microseconds each, more than the AEAD.
 */
export function createRecordSealer(
  storageKey: Uint8Array,
  random: (length: number) => Uint8Array = randomBytes,
): RecordSealer {
  const s = sodium();
  if (!(storageKey instanceof Uint8Array) || storageKey.length !== storageKeyBytes()) {
    throw new CryptoError('INVALID_KEY', `storage key must be ${storageKeyBytes()} bytes`);
  }
  const sealKey = kdf(storageKey, null, LABELS.storageSeal, storageKeyBytes());
  const blindKey = kdf(storageKey, null, LABELS.storageBlind, s.crypto_generichash_KEYBYTES);
  const nonceBytes = s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  const header = Uint8Array.of(SEALED_RECORD_VERSION);
  const label = utf8(LABELS.storageSeal);
  return {
    seal(ad, plaintext) {
      const nonce = random(nonceBytes);
      if (!(nonce instanceof Uint8Array) || nonce.length !== nonceBytes) {
        throw new RangeError(`random source returned no ${nonceBytes}-byte nonce`);
      }
      return concat(header, nonce, aeadSeal(sealKey, nonce, plaintext, concat(label, ad)));
    },
    open(ad, sealed) {
      if (!(sealed instanceof Uint8Array) || sealed.length < 1 + nonceBytes) {
        throw new CryptoError('MALFORMED', 'sealed record too short');
      }
      if (sealed[0] !== SEALED_RECORD_VERSION) {
        throw new CryptoError('UNSUPPORTED_VERSION', `sealed record version ${sealed[0]}`);
      }
      const nonce = sealed.subarray(1, 1 + nonceBytes);
      return aeadOpen(sealKey, nonce, sealed.subarray(1 + nonceBytes), concat(label, ad));
    },
    blind(input) {
      return keyedHash(blindKey, BLIND_BYTES, input);
    },
  };
}
