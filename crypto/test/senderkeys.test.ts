import { beforeAll, describe, expect, it } from 'vitest';
import { ready, sodium } from '../src/sodium.ts';
import { utf8, fromUtf8 } from '../src/bytes.ts';
import { isCryptoError, type CryptoErrorCode } from '../src/errors.ts';
import { EnvelopeType, frameEnvelope } from '../src/envelope.ts';
import {
  createReceiverState,
  createSenderKey,
  decodeSenderKeyDistribution,
  deserializeOwnSenderKey,
  deserializeReceiverState,
  encodeSenderKeyDistribution,
  groupDecrypt,
  groupEncrypt,
  needsRotation,
  peekGroupEnvelope,
  rotateSenderKey,
  SENDER_KEY_MAX_SKIP,
  SENDER_KEY_MAX_STORED_SKIPPED,
  senderKeyDistribution,
  serializeOwnSenderKey,
  serializeReceiverState,
  type OwnSenderKey,
  type SenderKeyReceiverState,
} from '../src/senderkeys.ts';

const GROUP = 'grp_climb';

function expectCode(fn: () => unknown, code: CryptoErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isCryptoError(thrown), `expected CryptoError ${code}, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
}

function setup(): { alice: OwnSenderKey; bob: SenderKeyReceiverState } {
  const { state, distribution } = createSenderKey({
    groupId: GROUP,
    username: 'alice',
    deviceId: 'laptop',
    now: 1_000,
  });
  // The distribution travels as bytes inside a pairwise session.
  const bytes = encodeSenderKeyDistribution(distribution);
  return { alice: state, bob: createReceiverState(decodeSenderKeyDistribution(bytes)) };
}

/** Deterministic shuffle (xorshift) so a failure is reproducible. */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let x = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

beforeAll(async () => {
  await ready();
});

describe('sender keys', () => {
  it('round-trips a group message from sender to receiver', () => {
    const { alice, bob } = setup();
    const env = groupEncrypt(alice, utf8('hello group'));
    expect(env[0]).toBe(1);
    expect(env[1]).toBe(EnvelopeType.GROUP);
    expect(peekGroupEnvelope(env)).toEqual({
      username: 'alice',
      deviceId: 'laptop',
      keyId: alice.keyId,
      iteration: 0,
    });
    expect(fromUtf8(groupDecrypt(bob, env, GROUP))).toBe('hello group');
    expect(alice.iteration).toBe(1);
    expect(bob.iteration).toBe(1);
  });

  it('decrypts 100 messages delivered in random order', () => {
    const { alice, bob } = setup();
    const envs = Array.from({ length: 100 }, (_, i) => ({
      i,
      env: groupEncrypt(alice, utf8(`message ${i}`)),
    }));
    for (const { i, env } of shuffle(envs, 42)) {
      expect(fromUtf8(groupDecrypt(bob, env, GROUP))).toBe(`message ${i}`);
    }
    expect(bob.skipped.size).toBe(0);
  });

  it('rejects a duplicate as a duplicate, in order and after a gap', () => {
    const { alice, bob } = setup();
    const e0 = groupEncrypt(alice, utf8('a'));
    const e1 = groupEncrypt(alice, utf8('b'));
    const e2 = groupEncrypt(alice, utf8('c'));
    groupDecrypt(bob, e0, GROUP);
    expectCode(() => groupDecrypt(bob, e0, GROUP), 'DUPLICATE_MESSAGE');
    groupDecrypt(bob, e2, GROUP);
    expectCode(() => groupDecrypt(bob, e2, GROUP), 'DUPLICATE_MESSAGE');
    expect(fromUtf8(groupDecrypt(bob, e1, GROUP))).toBe('b');
    expectCode(() => groupDecrypt(bob, e1, GROUP), 'DUPLICATE_MESSAGE');
  });

  it('refuses a gap over the skip limit and stays usable', () => {
    const { alice, bob } = setup();
    const first = groupEncrypt(alice, utf8('first'));
    for (let i = 0; i < SENDER_KEY_MAX_SKIP + 1; i++) groupEncrypt(alice, new Uint8Array(1));
    const far = groupEncrypt(alice, utf8('far'));
    const before = serializeReceiverState(bob);
    expectCode(() => groupDecrypt(bob, far, GROUP), 'TOO_MANY_SKIPPED');
    expect(serializeReceiverState(bob)).toEqual(before);
    expect(fromUtf8(groupDecrypt(bob, first, GROUP))).toBe('first');
  });

  it('accepts a gap of exactly the skip limit and caps the stored skipped keys', () => {
    const { alice, bob } = setup();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < SENDER_KEY_MAX_SKIP; i++) groupEncrypt(alice, new Uint8Array(0));
      groupDecrypt(bob, groupEncrypt(alice, utf8('x')), GROUP);
    }
    expect(bob.skipped.size).toBe(SENDER_KEY_MAX_STORED_SKIPPED);
    // The oldest keys went first: iteration 0 is gone, the newest skipped key is still held.
    expect(bob.skipped.has(0)).toBe(false);
    expect(bob.skipped.has(3 * (SENDER_KEY_MAX_SKIP + 1) - 2)).toBe(true);
  });

  it('fails cleanly on every single-byte flip of an envelope and leaves the state unchanged', () => {
    const { alice, bob } = setup();
    groupDecrypt(bob, groupEncrypt(alice, utf8('warm-up')), GROUP);
    groupEncrypt(alice, utf8('skipped'));
    const env = groupEncrypt(alice, utf8('target message'));
    const before = serializeReceiverState(bob);
    for (let i = 0; i < env.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = env.slice();
        bad[i]! ^= bit;
        let thrown: unknown;
        try {
          groupDecrypt(bob, bad, GROUP);
        } catch (err) {
          thrown = err;
        }
        expect(isCryptoError(thrown), `byte ${i} bit ${bit}`).toBe(true);
        expect(serializeReceiverState(bob)).toEqual(before);
      }
    }
    expect(fromUtf8(groupDecrypt(bob, env, GROUP))).toBe('target message');
  });

  it('refuses a message replayed into another group and a non-group envelope', () => {
    const { alice, bob } = setup();
    const env = groupEncrypt(alice, utf8('x'));
    expectCode(() => groupDecrypt(bob, env, 'other_group'), 'NO_SESSION');
    const other = createReceiverState({ ...senderKeyDistribution(alice), groupId: 'other_group' });
    expectCode(() => groupDecrypt(other, env, 'other_group'), 'BAD_SIGNATURE');
    const asRatchet = env.slice();
    asRatchet[1] = EnvelopeType.RATCHET;
    expectCode(() => groupDecrypt(bob, asRatchet, GROUP), 'UNKNOWN_TYPE');
    expectCode(
      () => groupDecrypt(bob, frameEnvelope(EnvelopeType.GROUP, new Uint8Array(3)), GROUP),
      'MALFORMED',
    );
  });

  it('refuses a message signed by another member holding the same chain', () => {
    const { alice, bob } = setup();
    // mallory learns alice's chain (she is a member) but not alice's signing key.
    const forger: OwnSenderKey = {
      ...deserializeOwnSenderKey(serializeOwnSenderKey(alice)),
      signing: createSenderKey({ groupId: GROUP, username: 'mallory', deviceId: 'd', now: 0 }).state
        .signing,
    };
    const before = serializeReceiverState(bob);
    expectCode(
      () => groupDecrypt(bob, groupEncrypt(forger, utf8('forged')), GROUP),
      'BAD_SIGNATURE',
    );
    expect(serializeReceiverState(bob)).toEqual(before);
  });

  it('refuses a message whose ciphertext does not authenticate even though it is signed', () => {
    const { alice, bob } = setup();
    // A sender signing garbage under a valid header: signature passes, AEAD fails.
    const evil: OwnSenderKey = { ...alice, chainKey: new Uint8Array(32).fill(7) };
    const before = serializeReceiverState(bob);
    expectCode(() => groupDecrypt(bob, groupEncrypt(evil, utf8('x')), GROUP), 'DECRYPT_FAILED');
    expect(serializeReceiverState(bob)).toEqual(before);
  });

  it('keeps a removed member out after rotation', () => {
    const { alice, bob } = setup();
    const carolState = createReceiverState(senderKeyDistribution(alice));
    expect(fromUtf8(groupDecrypt(carolState, groupEncrypt(alice, utf8('before')), GROUP))).toBe(
      'before',
    );
    // bob catches up too, then carol is removed: alice rotates and tells only bob.
    groupDecrypt(bob, groupEncrypt(alice, utf8('also before')), GROUP);
    const oldKeyId = alice.keyId;
    const oldChainKey = alice.chainKey;
    const rotated = rotateSenderKey(alice, { now: 2_000 });
    expect(rotated.state.keyId).not.toBe(oldKeyId);
    expect(oldChainKey.every((b) => b === 0)).toBe(true);
    const bobNew = createReceiverState(rotated.distribution);
    const env = groupEncrypt(rotated.state, utf8('after removal'));
    expect(fromUtf8(groupDecrypt(bobNew, env, GROUP))).toBe('after removal');
    // carol's old chain state and the old bob state cannot read it.
    expectCode(() => groupDecrypt(carolState, env, GROUP), 'NO_SESSION');
    // Even if carol pretends the key id matches, the signature and chain are wrong.
    const carolForced = { ...carolState, keyId: rotated.state.keyId };
    expectCode(() => groupDecrypt(carolForced, env, GROUP), 'BAD_SIGNATURE');
    // …and with the new signing key and counter, her old chain key still gives the wrong keys.
    const carolForced2 = {
      ...carolForced,
      signingPublicKey: rotated.state.signing.publicKey,
      firstIteration: 0,
      iteration: 0,
    };
    expectCode(() => groupDecrypt(carolForced2, env, GROUP), 'DECRYPT_FAILED');
  });

  it('says when to rotate: after 1000 messages or 7 days', () => {
    const { alice } = setup();
    expect(needsRotation(alice, { now: 1_000 })).toBe(false);
    expect(needsRotation(alice, { now: 1_000 + 7 * 24 * 3600 * 1000 - 1 })).toBe(false);
    expect(needsRotation(alice, { now: 1_000 + 7 * 24 * 3600 * 1000 })).toBe(true);
    alice.iteration = 999;
    expect(needsRotation(alice, { now: 1_000 })).toBe(false);
    alice.iteration = 1000;
    expect(needsRotation(alice, { now: 1_000 })).toBe(true);
    expect(needsRotation(alice, { now: 1_000, maxMessages: 2000 })).toBe(false);
  });

  it('a receiver joining later reads from its distribution on, not before', () => {
    const { alice } = setup();
    const early = groupEncrypt(alice, utf8('before you joined'));
    const late = createReceiverState(senderKeyDistribution(alice));
    const env = groupEncrypt(alice, utf8('welcome'));
    expect(fromUtf8(groupDecrypt(late, env, GROUP))).toBe('welcome');
    expectCode(() => groupDecrypt(late, early, GROUP), 'NO_SESSION');
  });

  it('serializes own and receiver states to bytes and back mid-conversation', () => {
    const { alice, bob } = setup();
    const envs = Array.from({ length: 5 }, (_, i) => groupEncrypt(alice, utf8(`m${i}`)));
    groupDecrypt(bob, envs[3]!, GROUP);
    const bob2 = deserializeReceiverState(serializeReceiverState(bob));
    expect(bob2).toEqual(bob);
    expect(fromUtf8(groupDecrypt(bob2, envs[1]!, GROUP))).toBe('m1');
    const alice2 = deserializeOwnSenderKey(serializeOwnSenderKey(alice));
    expect(alice2).toEqual(alice);
    expect(fromUtf8(groupDecrypt(bob2, groupEncrypt(alice2, utf8('after restart')), GROUP))).toBe(
      'after restart',
    );
    expectCode(() => deserializeReceiverState(serializeOwnSenderKey(alice)), 'UNKNOWN_TYPE');
    const trailing = new Uint8Array([...serializeReceiverState(bob2), 0]);
    expectCode(() => deserializeReceiverState(trailing), 'MALFORMED');
  });

  it('decodes distributions strictly', () => {
    const { alice } = setup();
    const bytes = encodeSenderKeyDistribution(senderKeyDistribution(alice));
    expect(decodeSenderKeyDistribution(bytes)).toEqual(senderKeyDistribution(alice));
    expectCode(() => decodeSenderKeyDistribution(bytes.subarray(0, bytes.length - 1)), 'MALFORMED');
    expectCode(() => decodeSenderKeyDistribution(new Uint8Array([...bytes, 1])), 'MALFORMED');
    const v = bytes.slice();
    v[0] = 9;
    expectCode(() => decodeSenderKeyDistribution(v), 'UNSUPPORTED_VERSION');
    const badName = bytes.slice();
    badName[2 + GROUP.length] = 'A'.charCodeAt(0); // first byte of the username
    expectCode(() => decodeSenderKeyDistribution(badName), 'MALFORMED');
  });

  it('wipes message keys: the chain key in the state is replaced, not kept', () => {
    const { alice } = setup();
    const ck = alice.chainKey;
    groupEncrypt(alice, utf8('x'));
    expect(ck.every((b) => b === 0)).toBe(true);
    expect(alice.chainKey.every((b) => b === 0)).toBe(false);
    expect(sodium().crypto_generichash_BYTES).toBe(alice.chainKey.length);
  });
});
