/**
 * XChaCha20-Poly1305 (IETF) as the protocol uses it (PROTOCOL.md §2.4): every
 * failure — wrong key or nonce length, a forged tag, a truncated ciphertext —
 * is a `CryptoError`, never a libsodium exception.
 */
import { CryptoError } from '../errors.ts';
import { sodium } from '../sodium.ts';

function checkKeyAndNonce(key: Uint8Array, nonce: Uint8Array): void {
  const s = sodium();
  if (
    !(key instanceof Uint8Array) ||
    key.length !== s.crypto_aead_xchacha20poly1305_ietf_KEYBYTES
  ) {
    throw new CryptoError(
      'INVALID_KEY',
      `AEAD key must be ${s.crypto_aead_xchacha20poly1305_ietf_KEYBYTES} bytes`,
    );
  }
  if (
    !(nonce instanceof Uint8Array) ||
    nonce.length !== s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
  ) {
    throw new CryptoError(
      'MALFORMED',
      `AEAD nonce must be ${s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES} bytes`,
    );
  }
}

/** Encrypt; returns ciphertext ‖ 16-byte tag. */
export function aeadSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  checkKeyAndNonce(key, nonce);
  return sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
}

/** Decrypt and authenticate; any failure is `CryptoError('DECRYPT_FAILED')`. */
export function aeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  const s = sodium();
  checkKeyAndNonce(key, nonce);
  if (ciphertext.length < s.crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    throw new CryptoError('DECRYPT_FAILED', 'ciphertext shorter than the authentication tag');
  }
  try {
    return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key);
  } catch (cause) {
    throw new CryptoError('DECRYPT_FAILED', 'authentication failed', { cause });
  }
}
