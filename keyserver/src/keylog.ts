/**
 * Key transparency (DESIGN.md §5.3, PROTOCOL.md §10): an append-only Merkle
 * log of (user, UIK, device certificate) bindings, with tree heads signed by
 * the key server's Ed25519 key. Leaves live in the store (so every key server
 * of a cluster serves the same log); this module keeps an in-memory copy of
 * the leaf hashes, extended from the store on demand, and builds heads and
 * proofs with `@sotto/crypto`'s merkle functions.
 */
import type { KeyObject } from 'node:crypto';
import {
  consistencyProof,
  encodeSignedTreeHead,
  inclusionProof,
  keyLogLeaf,
  leafHash,
  merkleRoot,
  signTreeHead,
  type SignedTreeHead,
} from '@sotto/crypto';
import type { Store } from '@sotto/server-core/store';

/** Raw Ed25519 key material of a Node key, in libsodium's layout. */
export function ed25519Raw(key: KeyObject): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
    throw new TypeError('expected an Ed25519 private key');
  }
  const seed = Buffer.from(jwk.d, 'base64url');
  const pub = Buffer.from(jwk.x, 'base64url');
  return { publicKey: new Uint8Array(pub), secretKey: new Uint8Array(Buffer.concat([seed, pub])) };
}

/** The key server's view of the log. */
export interface KeyLog {
  /** The log's Ed25519 public key (raw 32 bytes). */
  readonly publicKey: Uint8Array;
  /** Append a binding; returns its leaf index. */
  append(username: string, uik: Uint8Array, certificate: Uint8Array): Promise<number>;
  /** Signed head of the current tree (re-signed only when the size changed). */
  head(): Promise<{ sth: SignedTreeHead; encoded: Uint8Array }>;
  /** Leaf data and audit path of `index` in the tree of `treeSize` leaves; null when out of range. */
  inclusion(
    index: number,
    treeSize: number,
  ): Promise<{ leaf: Uint8Array; proof: Uint8Array[] } | null>;
  /** Consistency proof between two sizes; null when out of range. */
  consistency(from: number, to: number): Promise<Uint8Array[] | null>;
  /** Leaf data `[start, end)`, clamped to the log. */
  entries(start: number, end: number): Promise<Uint8Array[]>;
}

/** Create the log service over `store`, signing with `signingKey`. */
export function createKeyLog(opts: {
  store: Store;
  signingKey: KeyObject;
  now?: () => number;
}): KeyLog {
  const { store } = opts;
  const now = opts.now ?? Date.now;
  const raw = ed25519Raw(opts.signingKey);
  const hashes: Uint8Array[] = [];
  let syncing: Promise<void> | null = null;
  let cached: { sth: SignedTreeHead; encoded: Uint8Array } | null = null;

  // Single-flight: concurrent callers share one catch-up read.
  const sync = (): Promise<void> => {
    syncing ??= (async () => {
      try {
        const size = await store.logSize();
        while (hashes.length < size) {
          const end = Math.min(size, hashes.length + 1000);
          const leaves = await store.getLogLeaves(hashes.length, end);
          if (leaves.length === 0) break;
          for (const l of leaves) hashes.push(leafHash(l));
        }
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  };

  return {
    publicKey: raw.publicKey,
    async append(username, uik, certificate) {
      return store.appendLogLeaf(keyLogLeaf(username, uik, certificate));
    },
    async head() {
      await sync();
      if (cached?.sth.treeSize === hashes.length) return cached;
      const sth = signTreeHead(
        { treeSize: hashes.length, root: merkleRoot(hashes), timestamp: now() },
        raw.secretKey,
      );
      cached = { sth, encoded: encodeSignedTreeHead(sth) };
      return cached;
    },
    async inclusion(index, treeSize) {
      await sync();
      if (treeSize > hashes.length || index >= treeSize) return null;
      const [leaf] = await store.getLogLeaves(index, index + 1);
      if (!leaf) return null;
      return { leaf, proof: inclusionProof(hashes.slice(0, treeSize), index) };
    },
    async consistency(from, to) {
      await sync();
      if (to > hashes.length || from > to) return null;
      return consistencyProof(hashes.slice(0, to), from);
    },
    async entries(start, end) {
      return store.getLogLeaves(start, end);
    },
  };
}
