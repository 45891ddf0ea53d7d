/**
 * Fuzz-style robustness: thousands of random and mutated inputs into every
 * decoder and decrypt path of the crypto core. Nothing but `CryptoError` may
 * escape, and a failed decrypt must leave the session exactly as it was.
 * Seeded, so a failure is reproducible.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/sodium.ts';
import { concat, toHex } from '../src/bytes.ts';
import { CryptoError } from '../src/errors.ts';
import { EnvelopeType } from '../src/envelope.ts';
import { decodeDeviceCertificate, encodeDeviceCertificate } from '../src/identity.ts';
import {
  decodeKemPrekey,
  decodeOneTimePrekey,
  decodeSignedPrekey,
  encodeKemPrekey,
  encodeOneTimePrekey,
  encodeSignedPrekey,
} from '../src/prekeys.ts';
import {
  Session,
  acceptSession,
  initiateSession,
  peekEnvelope,
  peekPairwiseEnvelope,
} from '../src/session.ts';
import { makeDevice, makeRng, text } from './support/core-fixtures.ts';

beforeAll(async () => {
  await ready();
});

type Rng = ReturnType<typeof makeRng>;

/** One random mutation: flip bits, overwrite, insert, delete, truncate, extend, or set a header byte. */
function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  const b = input.slice();
  switch (rng.int(8)) {
    case 0: {
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return b;
    }
    case 1:
      b[rng.int(b.length)] = rng.int(256);
      return b;
    case 2: {
      const at = rng.int(b.length + 1);
      return concat(b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at));
    }
    case 3: {
      const at = rng.int(b.length);
      return concat(b.subarray(0, at), b.subarray(at + 1 + rng.int(8)));
    }
    case 4:
      return b.subarray(0, rng.int(b.length));
    case 5:
      return concat(b, rng.bytes(1 + rng.int(16)));
    case 6:
      b[rng.int(Math.min(b.length, 20))] = [0, 1, 2, 3, 4, 5, 0xff][rng.int(7)]!;
      return b;
    default: {
      // Overwrite a window with random bytes (hits keys, counters, lengths).
      const at = rng.int(b.length);
      b.set(rng.bytes(Math.min(1 + rng.int(40), b.length - at)), at);
      return b;
    }
  }
}

/** Runs `fn`; returns true if it succeeded, false on CryptoError, and rethrows anything else. */
function onlyCryptoErrors(fn: () => unknown, context: string): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof CryptoError) return false;
    throw new Error(`${context}: non-CryptoError escaped: ${String(err)}`, { cause: err });
  }
}

function conversation() {
  const alice = makeDevice('alice', 'laptop');
  const bob = makeDevice('bob', 'phone');
  const a = initiateSession(alice, bob.bundle());
  const prekeyEnvelopes = [
    a.encrypt(text('first')),
    a.encrypt(text('second'), { senderKey: true }),
  ];
  const { session: b } = acceptSession(bob, bob.secrets, prekeyEnvelopes[0]!);
  a.decrypt(b.encrypt(text('reply')));
  const ratchetEnvelopes = [
    a.encrypt(text('r1')),
    a.encrypt(new Uint8Array(300)),
    a.encrypt(text('skd'), { senderKey: true }),
  ];
  return { alice, bob, a, b, prekeyEnvelopes, ratchetEnvelopes };
}

describe('fuzzing the crypto core', () => {
  it('throws only CryptoError for 2000 random byte strings fed to every decoder and decrypt path', () => {
    const rng = makeRng(1);
    const { b, bob } = conversation();
    const before = toHex(b.serialize());
    for (let i = 0; i < 2000; i++) {
      const len = rng.int(4) === 0 ? rng.int(8) : rng.int(400);
      const input = rng.bytes(len);
      // Half of them get a valid version byte and type, to reach the body parsers.
      if (i % 2 === 0 && len >= 2) {
        input[0] = 1;
        input[1] = Object.values(EnvelopeType)[rng.int(4)]!;
      }
      expect(onlyCryptoErrors(() => peekEnvelope(input), `peekEnvelope #${i}`)).toBeTypeOf(
        'boolean',
      );
      onlyCryptoErrors(() => peekPairwiseEnvelope(input), `peekPairwiseEnvelope #${i}`);
      expect(onlyCryptoErrors(() => b.decrypt(input), `decrypt #${i}`)).toBe(false);
      if (i % 10 === 0)
        expect(onlyCryptoErrors(() => acceptSession(bob, bob.secrets, input), `accept #${i}`)).toBe(
          false,
        );
      onlyCryptoErrors(() => decodeDeviceCertificate(input), `certificate #${i}`);
      onlyCryptoErrors(() => decodeSignedPrekey(input), `signed prekey #${i}`);
      onlyCryptoErrors(() => decodeKemPrekey(input), `KEM prekey #${i}`);
      onlyCryptoErrors(() => decodeOneTimePrekey(input), `one-time prekey #${i}`);
      onlyCryptoErrors(() => Session.deserialize(input), `session state #${i}`);
    }
    expect(toHex(b.serialize())).toBe(before);
  });

  it('rejects 2000 mutated RATCHET and SENDER_KEY envelopes with CryptoError and keeps the session unchanged', () => {
    const rng = makeRng(2);
    const { b, ratchetEnvelopes } = conversation();
    const before = toHex(b.serialize());
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const original = ratchetEnvelopes[i % ratchetEnvelopes.length]!;
      const m = mutate(rng, original);
      if (toHex(m) === toHex(original)) continue;
      if (onlyCryptoErrors(() => b.decrypt(m), `mutated ratchet #${i}`)) accepted++;
      expect(toHex(b.serialize()), `state after mutation #${i}`).toBe(before);
    }
    expect(accepted).toBe(0);
    // The untouched envelopes still decrypt afterwards.
    for (const e of ratchetEnvelopes) expect(() => b.decrypt(e)).not.toThrow();
  });

  it('rejects 200 mutated PREKEY envelopes at accept time and on the established responder session', () => {
    const rng = makeRng(3);
    const { bob, b, prekeyEnvelopes } = conversation();
    const before = toHex(b.serialize());
    const held = [bob.held.oneTime.size, bob.held.kem.size, bob.held.signed.size];
    for (let i = 0; i < 200; i++) {
      const original = prekeyEnvelopes[i % 2]!;
      const m = mutate(rng, original);
      if (toHex(m) === toHex(original)) continue;
      expect(onlyCryptoErrors(() => b.decrypt(m), `mutated prekey on session #${i}`)).toBe(false);
      expect(toHex(b.serialize())).toBe(before);
      // The first envelope's one-time prekey is still held, so a fresh accept gets far into the handshake.
      onlyCryptoErrors(() => acceptSession(bob, bob.secrets, m), `mutated prekey accept #${i}`);
    }
    expect([bob.held.oneTime.size, bob.held.kem.size, bob.held.signed.size]).toEqual(held);
    expect(() => b.decrypt(prekeyEnvelopes[1]!)).not.toThrow();
  });

  it('throws only CryptoError for 1500 mutated certificates, prekeys and session states', () => {
    const rng = makeRng(4);
    const { alice, bob, a } = conversation();
    const bundle = bob.bundle();
    const samples: [string, Uint8Array, (x: Uint8Array) => unknown][] = [
      ['certificate', encodeDeviceCertificate(alice.certificate), decodeDeviceCertificate],
      ['signed prekey', encodeSignedPrekey(bundle.signedPrekey), decodeSignedPrekey],
      ['KEM prekey', encodeKemPrekey(bundle.kemPrekey), decodeKemPrekey],
      ['one-time prekey', encodeOneTimePrekey(bundle.oneTimePrekey!), decodeOneTimePrekey],
      [
        'session state',
        a.serialize(),
        (x) => {
          // A state that still parses must also fail only with CryptoError when used.
          const s = Session.deserialize(x);
          s.encrypt(text('x'));
        },
      ],
    ];
    for (let i = 0; i < 1500; i++) {
      const [name, bytes, decode] = samples[i % samples.length]!;
      onlyCryptoErrors(() => decode(mutate(rng, bytes)), `${name} #${i}`);
    }
  });
});
