/**
 * Key-transparency Merkle log (PROTOCOL.md §10, DESIGN.md §5.3).
 *
 * The tree is RFC 6962 / RFC 9162's Merkle Tree Hash with BLAKE2b-256 in place
 * of SHA-256: leaf hash = H(0x00 ‖ data), node hash = H(0x01 ‖ left ‖ right),
 * the root of the empty tree = H(""). Proof generation and verification follow
 * RFC 9162 §2.1.3 (inclusion) and §2.1.4 (consistency) step by step. The key
 * server appends one {@link keyLogLeaf} per (user, UIK, device certificate)
 * binding and signs tree heads with its Ed25519 key; clients check inclusion of
 * keys they fetch and consistency between heads they have seen.
 *
 * Verification functions return booleans and never throw on bad proofs;
 * decoders throw `CryptoError`.
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter, concat, equalBytes } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { ed25519Sign, ed25519Verify } from './internal/groups-ed25519.ts';
import { sodium } from './sodium.ts';
import { USERNAME_PATTERN } from './wire/topics.ts';

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** Version byte of signed tree heads and key-log leaves. */
export const MERKLE_VERSION = 1;

/** Domain string prepended to the bytes a tree-head signature covers. */
export const TREE_HEAD_SIGNATURE_CONTEXT = 'Sotto_v1_TreeHead';

/** Longest inclusion or consistency proof accepted (a tree of 2^64 leaves needs at most 64 + 1). */
export const MAX_PROOF_LENGTH = 70;

function hashBytes(): number {
  return sodium().crypto_generichash_BYTES;
}

function h(...parts: Uint8Array[]): Uint8Array {
  return sodium().crypto_generichash(hashBytes(), concat(...parts), null);
}

/** Leaf hash of `data`: BLAKE2b-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Uint8Array {
  return h(LEAF_PREFIX, data);
}

/** Interior node hash: BLAKE2b-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return h(NODE_PREFIX, left, right);
}

/** Largest power of two strictly less than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkLeaves(leaves: readonly Uint8Array[]): void {
  for (const leaf of leaves) {
    if (!(leaf instanceof Uint8Array) || leaf.length !== hashBytes()) {
      throw new RangeError(`leaf hashes must be ${hashBytes()} bytes`);
    }
  }
}

function mth(leaves: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 0) return h();
  if (n === 1) return leaves[start]!;
  const k = splitPoint(n);
  return nodeHash(mth(leaves, start, start + k), mth(leaves, start + k, end));
}

/**
 * Merkle Tree Hash over leaf hashes (each already {@link leafHash}ed).
 * O(n) hashes; the empty tree's root is BLAKE2b-256 of the empty string.
 */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  checkLeaves(leafHashes);
  return mth(leafHashes, 0, leafHashes.length).slice();
}

function path(leaves: readonly Uint8Array[], m: number, start: number, end: number): Uint8Array[] {
  const n = end - start;
  if (n <= 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...path(leaves, m, start, start + k), mth(leaves, start + k, end)];
  return [...path(leaves, m - k, start + k, end), mth(leaves, start, start + k)];
}

/** Audit path (RFC 6962 §2.1.1 PATH) for leaf `index` in the tree of `leafHashes`. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  checkLeaves(leafHashes);
  if (!Number.isInteger(index) || index < 0 || index >= leafHashes.length) {
    throw new RangeError(`index ${index} outside a tree of ${leafHashes.length}`);
  }
  return path(leafHashes, index, 0, leafHashes.length).map((x) => x.slice());
}

function validProof(proof: readonly Uint8Array[]): boolean {
  return (
    Array.isArray(proof) &&
    proof.length <= MAX_PROOF_LENGTH &&
    proof.every((p) => p instanceof Uint8Array && p.length === hashBytes())
  );
}

function validSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

const half = (x: number): number => Math.floor(x / 2);
const odd = (x: number): boolean => x % 2 === 1;

/**
 * RFC 9162 §2.1.3.2: true iff `proof` shows that `leaf` (a leaf hash) is at
 * `index` in the tree of `treeSize` leaves whose root is `root`.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!validSize(index) || !validSize(treeSize) || index >= treeSize) return false;
  if (!validProof(proof) || leaf.length !== hashBytes() || root.length !== hashBytes())
    return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(r, root);
}

function subproof(
  leaves: readonly Uint8Array[],
  m: number,
  start: number,
  end: number,
  complete: boolean,
): Uint8Array[] {
  const n = end - start;
  if (m === n) return complete ? [] : [mth(leaves, start, end)];
  const k = splitPoint(n);
  if (m <= k) {
    return [...subproof(leaves, m, start, start + k, complete), mth(leaves, start + k, end)];
  }
  return [...subproof(leaves, m - k, start + k, end, false), mth(leaves, start, start + k)];
}

/**
 * Consistency proof (RFC 6962 §2.1.2 PROOF) that the first `oldSize` leaves
 * of `leafHashes` form the older tree. Empty when `oldSize` is 0 or the full size.
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number): Uint8Array[] {
  checkLeaves(leafHashes);
  if (!Number.isInteger(oldSize) || oldSize < 0 || oldSize > leafHashes.length) {
    throw new RangeError(`oldSize ${oldSize} outside 0..${leafHashes.length}`);
  }
  if (oldSize === 0) return [];
  return subproof(leafHashes, oldSize, 0, leafHashes.length, true).map((x) => x.slice());
}

/**
 * RFC 9162 §2.1.4.2: true iff `proof` shows the tree (`oldSize`, `oldRoot`)
 * is a prefix of the tree (`newSize`, `newRoot`). An empty old tree is
 * consistent with every tree (its root must be the empty-tree root).
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!validSize(oldSize) || !validSize(newSize) || oldSize > newSize) return false;
  if (!validProof(proof) || oldRoot.length !== hashBytes() || newRoot.length !== hashBytes()) {
    return false;
  }
  if (oldSize === 0) return proof.length === 0 && equalBytes(oldRoot, h());
  if (oldSize === newSize) return proof.length === 0 && equalBytes(oldRoot, newRoot);
  if (proof.length === 0) return false;
  // If oldSize is an exact power of two, the old root itself starts the path.
  let x = oldSize;
  while (x % 2 === 0) x /= 2;
  const isPow2 = x === 1;
  const path = isPow2 ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(fr, oldRoot) && equalBytes(sr, newRoot);
}

// ---------------------------------------------------------------------------
// Signed tree heads

/** A tree head before signing. */
export interface TreeHead {
  treeSize: number;
  root: Uint8Array;
  /** Milliseconds since the epoch (the log's clock). */
  timestamp: number;
}

/** A tree head signed by the log's Ed25519 key. */
export interface SignedTreeHead extends TreeHead {
  signature: Uint8Array;
}

function encodeTreeHeadBody(head: TreeHead): Uint8Array {
  if (!validSize(head.treeSize))
    throw new RangeError('treeSize must be a safe non-negative integer');
  if (!validSize(head.timestamp)) throw new RangeError('timestamp must be ms');
  if (!(head.root instanceof Uint8Array) || head.root.length !== hashBytes()) {
    throw new RangeError(`root must be ${hashBytes()} bytes`);
  }
  return new ByteWriter()
    .u8(MERKLE_VERSION)
    .u64(head.treeSize)
    .raw(head.root)
    .u64(head.timestamp)
    .finish();
}

/** Bytes the log signs: `string8(TREE_HEAD_SIGNATURE_CONTEXT) ‖ u8 version ‖ u64 size ‖ root ‖ u64 timestamp`. */
export function treeHeadSigningBytes(head: TreeHead): Uint8Array {
  return new ByteWriter()
    .string8(TREE_HEAD_SIGNATURE_CONTEXT)
    .raw(encodeTreeHeadBody(head))
    .finish();
}

/** Sign a tree head with the log's Ed25519 secret key (64-byte libsodium form). */
export function signTreeHead(head: TreeHead, secretKey: Uint8Array): SignedTreeHead {
  return {
    treeSize: head.treeSize,
    root: head.root.slice(),
    timestamp: head.timestamp,
    signature: ed25519Sign(treeHeadSigningBytes(head), secretKey),
  };
}

/** True iff `sth` is well formed and signed by `logPublicKey`. */
export function verifyTreeHead(sth: SignedTreeHead, logPublicKey: Uint8Array): boolean {
  let bytes: Uint8Array;
  try {
    bytes = treeHeadSigningBytes(sth);
  } catch {
    return false;
  }
  return sth.signature instanceof Uint8Array && ed25519Verify(sth.signature, bytes, logPublicKey);
}

/** Canonical encoding: `u8 version ‖ u64 treeSize ‖ root[32] ‖ u64 timestamp ‖ signature[64]`. */
export function encodeSignedTreeHead(sth: SignedTreeHead): Uint8Array {
  if (
    !(sth.signature instanceof Uint8Array) ||
    sth.signature.length !== sodium().crypto_sign_BYTES
  ) {
    throw new RangeError('signature must be 64 bytes');
  }
  return concat(encodeTreeHeadBody(sth), sth.signature);
}

/** Strict decoder for {@link encodeSignedTreeHead}. Does not verify the signature. */
export function decodeSignedTreeHead(bytes: Uint8Array): SignedTreeHead {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError('MALFORMED', 'tree head is not bytes');
  const r = new ByteReader(bytes);
  const version = r.u8('version');
  if (version !== MERKLE_VERSION)
    throw new CryptoError('UNSUPPORTED_VERSION', `tree head version ${version}`);
  const treeSize = r.u64('treeSize');
  const root = r.raw(hashBytes(), 'root');
  const timestamp = r.u64('timestamp');
  const signature = r.raw(sodium().crypto_sign_BYTES, 'signature');
  r.end('signed tree head');
  return { treeSize, root, timestamp, signature };
}

// ---------------------------------------------------------------------------
// Key-log leaves

/** One binding in the key-transparency log. */
export interface KeyLogEntry {
  username: string;
  /** The user's UIK (Ed25519 public key). */
  uik: Uint8Array;
  /** Canonical device-certificate bytes (empty for a UIK-only binding). */
  deviceCertificate: Uint8Array;
}

/**
 * Canonical leaf data for a (user, UIK, device certificate) binding:
 * `u8 version ‖ string8 username ‖ uik[32] ‖ bytes16 deviceCertificate`.
 * The Merkle leaf hash is `leafHash(keyLogLeaf(...))`.
 */
export function keyLogLeaf(
  username: string,
  uik: Uint8Array,
  deviceCertificateBytes: Uint8Array,
): Uint8Array {
  if (!USERNAME_PATTERN.test(username)) throw new RangeError('invalid username');
  if (!(uik instanceof Uint8Array) || uik.length !== sodium().crypto_sign_PUBLICKEYBYTES) {
    throw new RangeError('uik must be 32 bytes');
  }
  return new ByteWriter()
    .u8(MERKLE_VERSION)
    .string8(username)
    .raw(uik)
    .bytes16(deviceCertificateBytes)
    .finish();
}

/** Strict decoder for {@link keyLogLeaf} (for monitoring one's own entries). */
export function decodeKeyLogLeaf(bytes: Uint8Array): KeyLogEntry {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError('MALFORMED', 'leaf is not bytes');
  const r = new ByteReader(bytes);
  const version = r.u8('version');
  if (version !== MERKLE_VERSION)
    throw new CryptoError('UNSUPPORTED_VERSION', `leaf version ${version}`);
  const username = r.string8('username');
  if (!USERNAME_PATTERN.test(username)) throw new CryptoError('MALFORMED', 'invalid username');
  const uik = r.raw(sodium().crypto_sign_PUBLICKEYBYTES, 'uik');
  const deviceCertificate = r.bytes16('deviceCertificate');
  r.end('key log leaf');
  return { username, uik, deviceCertificate };
}
