/**
 * Fuzz-style robustness of the group formats: thousands of mutated and random
 * inputs into every decoder and the decrypt/verify paths. The only acceptable
 * failure is a CryptoError, and a failure never changes state.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../src/bytes.ts';
import { isCryptoError } from '../src/errors.ts';
import { ed25519KeyPair } from '../src/internal/groups-ed25519.ts';
import { ready } from '../src/sodium.ts';
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  decodeMembershipRecord,
  encodeMembershipRecord,
  verifyMembershipChain,
  type GroupState,
} from '../src/membership.ts';
import { decodeKeyLogLeaf, decodeSignedTreeHead } from '../src/merkle.ts';
import { unpad } from '../src/padding.ts';
import { verifySafetyQr } from '../src/safety.ts';
import {
  createReceiverState,
  createSenderKey,
  decodeSenderKeyDistribution,
  deserializeOwnSenderKey,
  deserializeReceiverState,
  encodeSenderKeyDistribution,
  groupDecrypt,
  groupEncrypt,
  peekGroupEnvelope,
  serializeReceiverState,
} from '../src/senderkeys.ts';

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(input: Uint8Array, rnd: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rnd() * n);
  const b = Array.from(input);
  const kind = int(7);
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    switch (kind) {
      case 0: // bit flip
        if (b.length) b[int(b.length)]! ^= 1 << int(8);
        break;
      case 1: // random byte
        if (b.length) b[int(b.length)] = int(256);
        break;
      case 2: // truncate
        b.length = int(b.length + 1);
        break;
      case 3: // extend
        for (let i = 0, n = 1 + int(8); i < n; i++) b.push(int(256));
        break;
      case 4: // insert
        b.splice(int(b.length + 1), 0, int(256));
        break;
      case 5: // delete
        if (b.length) b.splice(int(b.length), 1);
        break;
      default: // length-prefix style edits: 0x00 / 0xff at a random place
        if (b.length) b[int(b.length)] = rnd() < 0.5 ? 0 : 0xff;
    }
  }
  return Uint8Array.from(b);
}

function onlyCryptoError(fn: () => unknown, label: string): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (!isCryptoError(err)) {
      throw new Error(`${label}: non-CryptoError ${String(err)}`, { cause: err });
    }
    return false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

beforeAll(async () => {
  await ready();
});

describe('group fuzzing', () => {
  it('mutated group envelopes fail with CryptoError only and never change the receiver state', () => {
    const { state: sender, distribution } = createSenderKey({
      groupId: 'fuzz',
      username: 'alice',
      deviceId: 'd1',
      now: 0,
    });
    const receiver = createReceiverState(distribution);
    const envs = Array.from({ length: 8 }, (_, i) => groupEncrypt(sender, utf8(`message ${i}`)));
    // Receiver has seen message 2: skipped keys 0 and 1 are stored.
    groupDecrypt(receiver, envs[2]!, 'fuzz');
    const before = serializeReceiverState(receiver);
    const rnd = prng(1);
    let accepted = 0;
    let changed = 0;
    for (let i = 0; i < 2000; i++) {
      const original = envs[i % envs.length]!;
      const bad = mutate(original, rnd);
      if (sameBytes(bad, original)) continue;
      onlyCryptoError(() => peekGroupEnvelope(bad), `peek #${i}`);
      if (onlyCryptoError(() => groupDecrypt(receiver, bad, 'fuzz'), `decrypt #${i}`)) accepted++;
      // Counted, not asserted per iteration: expect() in a hot loop dominates the run time.
      if (!sameBytes(serializeReceiverState(receiver), before)) changed++;
    }
    expect(accepted).toBe(0);
    expect(changed).toBe(0);
    // Random garbage, including plausible headers.
    for (let i = 0; i < 1000; i++) {
      const junk = Uint8Array.from({ length: Math.floor(rnd() * 200) }, () =>
        Math.floor(rnd() * 256),
      );
      if (junk.length > 1 && rnd() < 0.5) junk.set([1, 3]);
      if (onlyCryptoError(() => groupDecrypt(receiver, junk, 'fuzz'), `junk #${i}`)) accepted++;
    }
    expect(accepted).toBe(0);
    expect(sameBytes(serializeReceiverState(receiver), before)).toBe(true);
  });

  it('mutated distributions and serialized states decode or fail with CryptoError only', () => {
    const { state, distribution } = createSenderKey({
      groupId: 'fuzz',
      username: 'alice',
      deviceId: 'd1',
      now: 0,
    });
    const dist = encodeSenderKeyDistribution(distribution);
    const recv = serializeReceiverState(createReceiverState(distribution));
    const rnd = prng(2);
    let nonCanonical = 0;
    for (let i = 0; i < 2000; i++) {
      const bad = mutate(dist, rnd);
      const ok = onlyCryptoError(() => decodeSenderKeyDistribution(bad), `dist #${i}`);
      // A decodable mutation must re-encode to exactly the same bytes (canonical format).
      if (ok && !sameBytes(encodeSenderKeyDistribution(decodeSenderKeyDistribution(bad)), bad)) {
        nonCanonical++;
      }
      onlyCryptoError(() => deserializeReceiverState(mutate(recv, rnd)), `recv #${i}`);
      onlyCryptoError(() => deserializeOwnSenderKey(mutate(dist, rnd)), `own #${i}`);
    }
    expect(nonCanonical).toBe(0);
    expect(state.iteration).toBe(0);
  });

  it('mutated membership records are refused with CryptoError only and leave the state unchanged', () => {
    const alice = { username: 'alice', uik: ed25519KeyPair(new Uint8Array(32).fill(1)) };
    const bob = { username: 'bob', uik: ed25519KeyPair(new Uint8Array(32).fill(2)) };
    const carol = { username: 'carol', uik: ed25519KeyPair(new Uint8Array(32).fill(3)) };
    const genesis = createGenesis({
      groupId: 'fuzz',
      name: 'fuzz group',
      creator: alice,
      members: [{ username: 'bob', uik: bob.uik.publicKey }],
      createdAt: 1,
    });
    const s0: GroupState = applyMembershipRecord(null, genesis);
    const add = createChange(s0, {
      op: 'add',
      actor: alice,
      subject: { username: 'carol', uik: carol.uik.publicKey },
      createdAt: 2,
    });
    const encodedGenesis = encodeMembershipRecord(genesis);
    const encodedAdd = encodeMembershipRecord(add);
    const snapshot = structuredClone(s0);
    const rnd = prng(3);
    let accepted = 0;
    for (let i = 0; i < 1500; i++) {
      const useGenesis = i % 2 === 0;
      const original = useGenesis ? encodedGenesis : encodedAdd;
      const bad = mutate(original, rnd);
      if (sameBytes(bad, original)) continue;
      const ok = onlyCryptoError(() => {
        const rec = decodeMembershipRecord(bad);
        return useGenesis ? applyMembershipRecord(null, rec) : applyMembershipRecord(s0, rec);
      }, `record #${i}`);
      if (ok) accepted++;
      onlyCryptoError(
        () => verifyMembershipChain(useGenesis ? [bad, encodedAdd] : [encodedGenesis, bad]),
        `chain #${i}`,
      );
    }
    expect(accepted).toBe(0);
    expect(s0).toEqual(snapshot);
  });

  it('random bytes into the other decoders fail with CryptoError only', () => {
    const rnd = prng(4);
    const id = { username: 'alice', uik: ed25519KeyPair(new Uint8Array(32).fill(1)).publicKey };
    for (let i = 0; i < 1500; i++) {
      const junk = Uint8Array.from({ length: Math.floor(rnd() * 130) }, () =>
        Math.floor(rnd() * 256),
      );
      if (junk.length) junk[0] = rnd() < 0.7 ? 1 : junk[0]!;
      onlyCryptoError(() => decodeSignedTreeHead(junk), 'sth');
      onlyCryptoError(() => decodeKeyLogLeaf(junk), 'leaf');
      onlyCryptoError(() => unpad(junk), 'unpad');
      onlyCryptoError(() => verifySafetyQr(junk, id, id), 'qr');
      onlyCryptoError(() => decodeMembershipRecord(junk), 'record');
      onlyCryptoError(() => decodeSenderKeyDistribution(junk), 'distribution');
    }
  });
});
