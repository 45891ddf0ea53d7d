import { beforeAll, describe, expect, it } from 'vitest';
import { ready, sodium } from '../src/sodium.ts';
import { toHex, utf8 } from '../src/bytes.ts';
import { isCryptoError } from '../src/errors.ts';
import { ed25519KeyPair } from '../src/internal/groups-ed25519.ts';
import {
  consistencyProof,
  decodeKeyLogLeaf,
  decodeSignedTreeHead,
  encodeSignedTreeHead,
  inclusionProof,
  keyLogLeaf,
  leafHash,
  merkleRoot,
  nodeHash,
  signTreeHead,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
} from '../src/merkle.ts';

const MAX = 70;
let leaves: Uint8Array[];
let roots: Uint8Array[]; // roots[n] = root of the first n leaves

/**
 * Independent reference: build levels bottom-up, carrying an unpaired last
 * node up unchanged. For RFC 6962 trees this gives the same root as the
 * recursive definition.
 */
function referenceRoot(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return sodium().crypto_generichash(32, new Uint8Array(0), null);
  let level = hashes;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
    }
    level = next;
  }
  return level[0]!;
}

function flipped(proof: Uint8Array[], i: number): Uint8Array[] {
  return proof.map((p, j) => {
    if (j !== i) return p;
    const c = p.slice();
    c[0]! ^= 1;
    return c;
  });
}

beforeAll(async () => {
  await ready();
  leaves = Array.from({ length: MAX }, (_, i) => leafHash(utf8(`leaf ${i}`)));
  roots = Array.from({ length: MAX + 1 }, (_, n) => merkleRoot(leaves.slice(0, n)));
});

describe('Merkle tree (RFC 6962 with BLAKE2b-256)', () => {
  it('hashes leaves and nodes with the 0x00 / 0x01 domain bytes', () => {
    const s = sodium();
    const d = utf8('data');
    expect(leafHash(d)).toEqual(s.crypto_generichash(32, Uint8Array.of(0, ...d), null));
    const a = leafHash(utf8('a'));
    const b = leafHash(utf8('b'));
    expect(nodeHash(a, b)).toEqual(s.crypto_generichash(32, Uint8Array.of(1, ...a, ...b), null));
    expect(merkleRoot([a, b])).toEqual(nodeHash(a, b));
    expect(merkleRoot([a])).toEqual(a);
    expect(toHex(merkleRoot([]))).toBe(toHex(s.crypto_generichash(32, new Uint8Array(0), null)));
  });

  it('computes the same root as an independent bottom-up construction for sizes 0..70', () => {
    for (let n = 0; n <= MAX; n++) {
      expect(toHex(roots[n]!), `size ${n}`).toBe(toHex(referenceRoot(leaves.slice(0, n))));
    }
  });

  it('proves and verifies inclusion of every leaf in trees of 1..70 leaves', () => {
    for (let n = 1; n <= MAX; n++) {
      const tree = leaves.slice(0, n);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree, i);
        expect(verifyInclusion(leaves[i]!, i, n, proof, roots[n]!), `n=${n} i=${i}`).toBe(true);
      }
    }
  });

  it('rejects tampered inclusion proofs: wrong leaf, index, size, root, element, length', () => {
    for (const n of [1, 2, 3, 5, 8, 13, 31, 32, 33, 64, 70]) {
      const tree = leaves.slice(0, n);
      for (const i of new Set([0, Math.floor(n / 2), n - 1])) {
        const proof = inclusionProof(tree, i);
        const root = roots[n]!;
        const other = leafHash(utf8('not in the tree'));
        expect(verifyInclusion(other, i, n, proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion(leaves[i]!, (i + 1) % n, n, proof, root)).toBe(false);
        // (Same proof, size claimed one larger: checked against the real root of that size.)
        if (n < MAX)
          expect(verifyInclusion(leaves[i]!, i, n + 1, proof, roots[n + 1]!)).toBe(false);
        expect(verifyInclusion(leaves[i]!, i, n, proof, roots[n - 1]!)).toBe(false);
        expect(verifyInclusion(leaves[i]!, n, n, proof, root)).toBe(false);
        expect(verifyInclusion(leaves[i]!, -1, n, proof, root)).toBe(false);
        for (let j = 0; j < proof.length; j++) {
          expect(verifyInclusion(leaves[i]!, i, n, flipped(proof, j), root)).toBe(false);
        }
        expect(verifyInclusion(leaves[i]!, i, n, [...proof, leaves[0]!], root)).toBe(false);
        if (proof.length > 0) {
          expect(verifyInclusion(leaves[i]!, i, n, proof.slice(1), root)).toBe(false);
        }
        expect(verifyInclusion(leaves[i]!, i, n, [new Uint8Array(5)], root)).toBe(false);
      }
    }
  });

  it('proves and verifies consistency for every pair of sizes up to 70', () => {
    for (let n = 1; n <= MAX; n++) {
      const tree = leaves.slice(0, n);
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(tree, m);
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, proof), `m=${m} n=${n}`).toBe(true);
      }
    }
  });

  it('rejects tampered consistency proofs and forked histories', () => {
    const forkLeaves = leaves.slice();
    forkLeaves[2] = leafHash(utf8('rewritten history'));
    for (const [m, n] of [
      [1, 2],
      [3, 7],
      [4, 8],
      [5, 70],
      [32, 33],
      [63, 64],
      [6, 6],
    ] as const) {
      const proof = consistencyProof(leaves.slice(0, n), m);
      for (let j = 0; j < proof.length; j++) {
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, flipped(proof, j))).toBe(false);
      }
      expect(verifyConsistency(m, n, roots[m]!, roots[n]!, [...proof, leaves[0]!])).toBe(false);
      if (proof.length > 0) {
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, proof.slice(0, -1))).toBe(false);
      }
      // A log that rewrote leaf 2 cannot prove its new root extends the old one.
      const forkRoot = merkleRoot(forkLeaves.slice(0, n));
      if (m > 2) {
        const forkProof = consistencyProof(forkLeaves.slice(0, n), m);
        expect(verifyConsistency(m, n, roots[m]!, forkRoot, forkProof)).toBe(false);
        expect(verifyConsistency(m, n, roots[m]!, forkRoot, proof)).toBe(false);
      }
      if (m !== n) expect(verifyConsistency(n, m, roots[n]!, roots[m]!, proof)).toBe(false);
      expect(verifyConsistency(m, n, roots[m - 1]!, roots[n]!, proof)).toBe(false);
    }
  });

  it('signs, encodes and verifies tree heads, and rejects forged ones', () => {
    const log = ed25519KeyPair(new Uint8Array(32).fill(9));
    const sth = signTreeHead(
      { treeSize: 70, root: roots[70]!, timestamp: 1_700_000_000_000 },
      log.secretKey,
    );
    expect(verifyTreeHead(sth, log.publicKey)).toBe(true);
    const bytes = encodeSignedTreeHead(sth);
    expect(bytes.length).toBe(1 + 8 + 32 + 8 + 64);
    const back = decodeSignedTreeHead(bytes);
    expect(back).toEqual(sth);
    expect(verifyTreeHead(back, log.publicKey)).toBe(true);
    expect(verifyTreeHead({ ...sth, treeSize: 71 }, log.publicKey)).toBe(false);
    expect(verifyTreeHead({ ...sth, root: roots[69]! }, log.publicKey)).toBe(false);
    expect(verifyTreeHead({ ...sth, timestamp: 1 }, log.publicKey)).toBe(false);
    expect(verifyTreeHead(sth, ed25519KeyPair().publicKey)).toBe(false);
    expect(verifyTreeHead({ ...sth, root: new Uint8Array(3) }, log.publicKey)).toBe(false);
    for (const bad of [
      bytes.subarray(1),
      new Uint8Array([...bytes, 0]),
      Uint8Array.of(2, ...bytes.subarray(1)),
    ]) {
      let thrown: unknown;
      try {
        decodeSignedTreeHead(bad);
      } catch (err) {
        thrown = err;
      }
      expect(isCryptoError(thrown)).toBe(true);
    }
  });

  it('encodes key-log leaves canonically and decodes them strictly', () => {
    const uik = ed25519KeyPair(new Uint8Array(32).fill(1)).publicKey;
    const cert = utf8('device certificate bytes');
    const leaf = keyLogLeaf('alice', uik, cert);
    expect(decodeKeyLogLeaf(leaf)).toEqual({ username: 'alice', uik, deviceCertificate: cert });
    expect(leafHash(leaf)).not.toEqual(leafHash(keyLogLeaf('alice', uik, utf8('other cert'))));
    expect(() => decodeKeyLogLeaf(new Uint8Array([...leaf, 0]))).toThrow(/trailing/);
    expect(() => keyLogLeaf('Alice', uik, cert)).toThrow(RangeError);
  });
});
