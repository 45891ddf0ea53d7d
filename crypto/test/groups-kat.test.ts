import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, fromUtf8, toHex } from '../src/bytes.ts';
import { ready } from '../src/sodium.ts';
import { computeGroupVectors, GENERATED_BY } from '../scripts/generate-group-vectors.ts';
import { verifyMembershipChain } from '../src/membership.ts';
import {
  decodeSignedTreeHead,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
} from '../src/merkle.ts';
import { unpad } from '../src/padding.ts';
import { safetyNumber, verifySafetyQr } from '../src/safety.ts';
import {
  createReceiverState,
  decodeSenderKeyDistribution,
  groupDecrypt,
} from '../src/senderkeys.ts';

type Vectors = ReturnType<typeof computeGroupVectors>;
let v: Vectors;

beforeAll(async () => {
  await ready();
  v = JSON.parse(
    readFileSync(new URL('./vectors/groups.json', import.meta.url), 'utf8'),
  ) as Vectors;
});

describe('group known-answer vectors (test/vectors/groups.json)', () => {
  it('are the committed, generated file', () => {
    expect(v.comment).toBe(GENERATED_BY);
  });

  it('recompute byte for byte from the fixed seeds', () => {
    // Any change to a byte layout, label, KDF or iteration count fails here.
    expect(computeGroupVectors()).toEqual(v);
  });

  it('safety number: the stored keys give the stored 60 digits from either side', () => {
    const a = { username: v.safety.alice.username, uik: fromHex(v.safety.alice.uik) };
    const b = { username: v.safety.bob.username, uik: fromHex(v.safety.bob.uik) };
    expect(safetyNumber(a, b)).toBe(v.safety.safetyNumber);
    expect(safetyNumber(b, a)).toBe(v.safety.safetyNumber);
    expect(verifySafetyQr(fromHex(v.safety.qrShownByAlice), b, a)).toBe(true);
  });

  it('sender key: the stored envelopes decrypt under the stored distribution', () => {
    const state = createReceiverState(
      decodeSenderKeyDistribution(fromHex(v.senderKey.distribution)),
    );
    expect(toHex(state.chainKey)).toBe(v.senderKey.chain[0]!.chainKey);
    for (const m of v.senderKey.messages) {
      expect(fromUtf8(groupDecrypt(state, fromHex(m.envelope), v.senderKey.groupId))).toBe(
        m.plaintext,
      );
    }
  });

  it('membership: the stored records verify as a chain and link by the stored hashes', () => {
    const state = verifyMembershipChain(v.membership.records.map((r) => fromHex(r.encoded)));
    expect(toHex(state.head)).toBe(v.membership.records[1]!.hash);
    expect([...state.members.keys()].sort()).toEqual(['alice', 'bob', 'carol']);
  });

  it('padding: the stored padded forms unpad to the stored messages', () => {
    for (const p of v.padding) expect(toHex(unpad(fromHex(p.padded)))).toBe(p.message);
  });

  it('merkle: the stored proofs and tree head verify', () => {
    const m = v.merkle;
    const root = fromHex(m.root);
    const proof = m.inclusionOf5.map(fromHex);
    expect(verifyInclusion(fromHex(m.leafHashes[5]!), 5, 7, proof, root)).toBe(true);
    const cons = m.consistency3to7.map(fromHex);
    expect(verifyConsistency(3, 7, fromHex(m.rootOf3), root, cons)).toBe(true);
    const sth = decodeSignedTreeHead(fromHex(m.signedTreeHead));
    expect(sth.treeSize).toBe(7);
    expect(toHex(sth.root)).toBe(m.root);
    expect(verifyTreeHead(sth, fromHex(m.logPublicKey))).toBe(true);
  });
});
