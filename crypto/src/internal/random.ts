/**
 * Fast random bytes from libsodium (PROTOCOL.md §2.6).
 *
 * libsodium.js fetches its randomness 32 bits at a time from the host
 * (`crypto.randomBytes(4)` / `getRandomValues` per word), so `randombytes_buf(32)`
 * costs ~150 µs and a 1 KiB draw ~9 ms — more than every DH of a handshake.
 * Instead we draw a 32-byte key from `randombytes_buf` and expand it with
 * libsodium's ChaCha20 DRBG (`randombytes_buf_deterministic`) in the
 * fast-key-erasure style: each draw outputs `key' ‖ bytes`, the old key is
 * wiped and replaced by `key'`, so earlier outputs cannot be recomputed from a
 * later state. Fresh host entropy is mixed in every {@link RESEED_EVERY} draws,
 * bounding how many future outputs a stolen state predicts.
 */
import { concat, wipe } from '../bytes.ts';
import { sodium } from '../sodium.ts';

/**
 * libsodium's `randombytes_SEEDBYTES` (a ChaCha20 key). libsodium-wrappers does not
 * export the constant; `randombytes_buf_deterministic` refuses any other seed
 * length, so a wrong value here would fail loudly, never silently.
 */
const SEED_BYTES = 32;

/** Draws between reseeds from libsodium's `randombytes_buf`. */
const RESEED_EVERY = 16;

let key: Uint8Array | null = null;
let draws = 0;

/** `length` cryptographically random bytes. */
export function randomBytes(length: number): Uint8Array {
  const s = sodium();
  if (!Number.isInteger(length) || length < 0)
    throw new RangeError(`length must be a non-negative integer`);
  const seedBytes = SEED_BYTES;
  if (!key || draws >= RESEED_EVERY) {
    const fresh = s.randombytes_buf(seedBytes);
    const next = key ? s.crypto_generichash(seedBytes, concat(key, fresh), null) : fresh.slice();
    wipe(key, fresh);
    key = next;
    draws = 0;
  }
  const out = s.randombytes_buf_deterministic(seedBytes + length, key);
  wipe(key);
  key = out.slice(0, seedBytes);
  draws++;
  const result = out.slice(seedBytes);
  wipe(out);
  return result;
}
