/**
 * X25519 with the public-key checks the protocol needs (PROTOCOL.md §2.3).
 *
 * libsodium's `crypto_scalarmult` follows RFC 7748: it accepts any 32 bytes as
 * a public key, masks the top bit and only refuses an all-zero result. A
 * handshake must never continue on a key that is not a canonical point of the
 * curve itself, so every public key we receive is checked here first: exact
 * length, top bit clear, u < p, on the curve (not its quadratic twist), not one
 * of the known small-order points, and the DH output is not all zero.
 * Keys that passed are remembered in a small bounded cache.
 */
import { wipe } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { randomBytes } from './random.ts';
import { sodium } from '../sodium.ts';
import type { KeyPair } from '../keys.ts';

/** Field prime of Curve25519, p = 2^255 - 19. */
const P = (1n << 255n) - 19n;
/** Montgomery curve coefficient A of v^2 = u^3 + A u^2 + u. */
const A = 486662n;

/**
 * u-coordinates of the points of order 1, 2, 4 and 8 (as canonical little-endian
 * hex). Multiplying any of them by a clamped scalar gives the neutral element,
 * i.e. an all-zero shared secret; listing them makes the refusal explicit.
 */
const SMALL_ORDER_POINTS = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]);

/** Little-endian bytes → bigint. */
function leToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/**
 * Jacobi symbol (a/n) for odd n > 0; for the prime p it is the Legendre
 * symbol: 1 for a non-zero square, -1 for a non-square, 0 for a ≡ 0. About ten
 * times faster than Euler's criterion with BigInt exponentiation.
 */
function jacobi(a0: bigint, n0: bigint): number {
  let a = a0 % n0;
  let n = n0;
  let result = 1;
  while (a !== 0n) {
    while ((a & 1n) === 0n) {
      a >>= 1n;
      const r = n & 7n;
      if (r === 3n || r === 5n) result = -result;
    }
    [a, n] = [n, a];
    if ((a & 3n) === 3n && (n & 3n) === 3n) result = -result;
    a %= n;
  }
  return n === 1n ? result : 0;
}

/** Scalar used only to probe a public key for small order (any clamped scalar works). */
let probeScalar: Uint8Array | null = null;

/**
 * Public keys that already passed every check (hex → true), most recent last.
 * The same key is checked several times in one handshake (bundle verification,
 * then each DH); remembering a bounded number of good keys avoids the repeated
 * field arithmetic. Only keys that passed are remembered.
 */
const goodKeys = new Map<string, true>();
const GOOD_KEYS_MAX = 4096;

function remember(hex: string): void {
  goodKeys.set(hex, true);
  if (goodKeys.size > GOOD_KEYS_MAX) goodKeys.delete(goodKeys.keys().next().value as string);
}

/** Length, top bit, small-order list, canonical u, on the curve (not the twist). */
function checkEncoding(publicKey: Uint8Array, what: string): string {
  const s = sodium();
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== s.crypto_scalarmult_BYTES) {
    throw new CryptoError('INVALID_KEY', `${what} must be ${s.crypto_scalarmult_BYTES} bytes`);
  }
  const hex = s.to_hex(publicKey);
  if (goodKeys.has(hex)) return hex;
  if ((publicKey[publicKey.length - 1]! & 0x80) !== 0) {
    throw new CryptoError('INVALID_KEY', `${what} has its top bit set`);
  }
  if (SMALL_ORDER_POINTS.has(hex)) {
    throw new CryptoError('INVALID_KEY', `${what} is a small-order point`);
  }
  const u = leToBigInt(publicKey);
  if (u >= P) throw new CryptoError('INVALID_KEY', `${what} is not canonical (u >= p)`);
  // u is on the curve iff u^3 + A u^2 + u is a square mod p (or zero);
  // otherwise it lies on the quadratic twist.
  const u2 = (u * u) % P;
  const rhs = (u2 * u + A * u2 + u) % P;
  if (jacobi(rhs, P) === -1) {
    throw new CryptoError('INVALID_KEY', `${what} is not on Curve25519 (twist point)`);
  }
  return hex;
}

/**
 * The encoding checks alone (length, top bit, small-order list, canonical u,
 * on the curve): for a key whose only use is a DH through {@link x25519}, which
 * refuses an all-zero output, so a separate small-order multiplication would
 * only repeat it. Throws `CryptoError('INVALID_KEY')`.
 */
export function assertX25519Encoding(publicKey: Uint8Array, what = 'X25519 public key'): void {
  checkEncoding(publicKey, what);
}

/**
 * Throws `CryptoError('INVALID_KEY')` unless `publicKey` is a canonical X25519
 * public key on Curve25519 itself and not of small order: the encoding checks,
 * then a scalar multiplication whose all-zero result would betray a low-order
 * point.
 */
export function assertValidX25519PublicKey(
  publicKey: Uint8Array,
  what = 'X25519 public key',
): void {
  const s = sodium();
  const hex = checkEncoding(publicKey, what);
  if (goodKeys.has(hex)) return;
  probeScalar ??= s.crypto_generichash(
    s.crypto_scalarmult_SCALARBYTES,
    'Sotto_v1_X25519Probe',
    null,
  );
  let product: Uint8Array;
  try {
    product = s.crypto_scalarmult(probeScalar, publicKey);
  } catch (cause) {
    throw new CryptoError('INVALID_KEY', `${what} has small order`, { cause });
  }
  if (s.is_zero(product)) throw new CryptoError('INVALID_KEY', `${what} has small order`);
  remember(hex);
}

/**
 * X25519 Diffie-Hellman: our secret scalar with their (checked) public key.
 * Throws `CryptoError('INVALID_KEY')` for a bad public key or an all-zero output.
 */
export function x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const s = sodium();
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== s.crypto_scalarmult_SCALARBYTES) {
    throw new CryptoError(
      'INVALID_KEY',
      `X25519 secret key must be ${s.crypto_scalarmult_SCALARBYTES} bytes`,
    );
  }
  // The DH itself is the small-order probe: a low-order point gives all zeros.
  const hex = checkEncoding(publicKey, 'X25519 public key');
  let shared: Uint8Array;
  try {
    shared = s.crypto_scalarmult(secretKey, publicKey);
  } catch (cause) {
    throw new CryptoError('INVALID_KEY', 'X25519 produced the all-zero shared secret', { cause });
  }
  if (s.is_zero(shared)) {
    throw new CryptoError('INVALID_KEY', 'X25519 produced the all-zero shared secret');
  }
  remember(hex);
  return shared;
}

/**
 * A fresh X25519 key pair, or a deterministic one from a
 * `crypto_box_SEEDBYTES` seed (known-answer vectors only).
 */
export function generateX25519KeyPair(seed?: Uint8Array): KeyPair {
  const s = sodium();
  if (seed !== undefined && seed.length !== s.crypto_box_SEEDBYTES) {
    throw new RangeError(`seed must be ${s.crypto_box_SEEDBYTES} bytes`);
  }
  const effectiveSeed = seed ?? randomBytes(s.crypto_box_SEEDBYTES);
  const kp = s.crypto_box_seed_keypair(effectiveSeed);
  if (!seed) wipe(effectiveSeed);
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

/** The X25519 public key of a secret scalar. */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return sodium().crypto_scalarmult_base(secretKey);
}
