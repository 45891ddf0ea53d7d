/**
 * The KDF against an independent implementation of its definition in
 * PROTOCOL.md §2 (written from the text, using raw BLAKE2b), plus the chain
 * step and label separation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ready, sodium } from '../src/sodium.ts';
import { concat, toHex, utf8 } from '../src/bytes.ts';
import { chainStep, hash, kdf, keyedHash, LABELS } from '../src/kdf.ts';

beforeAll(async () => {
  await ready();
});

/** PROTOCOL.md §2.1, transcribed. */
function referenceKdf(
  ikm: Uint8Array,
  salt: Uint8Array | null,
  label: string,
  length: number,
  info: Uint8Array,
) {
  const s = sodium();
  let key: Uint8Array = salt && salt.length > 0 ? salt : new Uint8Array(64);
  if (key.length > 64) key = s.crypto_generichash(64, key, null);
  const prk = s.crypto_generichash(64, ikm, key);
  const labelBytes = utf8(label);
  let t: Uint8Array = new Uint8Array(0);
  let okm: Uint8Array = new Uint8Array(0);
  for (let i = 1; okm.length < length; i++) {
    t = s.crypto_generichash(
      64,
      concat(t, Uint8Array.of(labelBytes.length), labelBytes, info, Uint8Array.of(i)),
      prk,
    );
    okm = concat(okm, t);
  }
  return okm.slice(0, length);
}

describe('kdf', () => {
  it('matches the definition in PROTOCOL.md for short, long, salted, unsalted and info inputs', () => {
    const s = sodium();
    const cases: [Uint8Array, Uint8Array | null, string, number, Uint8Array][] = [
      [s.randombytes_buf(32), null, LABELS.handshake, 32, new Uint8Array(0)],
      [s.randombytes_buf(32), s.randombytes_buf(32), LABELS.ratchetRoot, 64, new Uint8Array(0)],
      [
        s.randombytes_buf(100),
        s.randombytes_buf(100),
        LABELS.messageKeys,
        56,
        s.randombytes_buf(32),
      ],
      [new Uint8Array(0), new Uint8Array(0), 'x', 1, new Uint8Array(0)],
      [s.randombytes_buf(7), null, 'long output', 64 * 5 + 3, utf8('info')],
    ];
    for (const [ikm, salt, label, length, info] of cases) {
      expect(toHex(kdf(ikm, salt, label, length, info))).toBe(
        toHex(referenceKdf(ikm, salt, label, length, info)),
      );
    }
  });

  it('gives unrelated keys for different labels, salts and info', () => {
    const ikm = new Uint8Array(32).fill(1);
    const outs = [
      kdf(ikm, null, LABELS.handshake, 32),
      kdf(ikm, null, LABELS.ratchetRoot, 32),
      kdf(ikm, new Uint8Array(32).fill(2), LABELS.handshake, 32),
      kdf(ikm, null, LABELS.handshake, 32, Uint8Array.of(0)),
    ].map(toHex);
    expect(new Set(outs).size).toBe(outs.length);
  });

  it('returns a prefix of the longer output for a shorter length', () => {
    const ikm = new Uint8Array(32).fill(3);
    expect(toHex(kdf(ikm, null, 'L', 100)).slice(0, 64)).toBe(toHex(kdf(ikm, null, 'L', 32)));
  });

  it('refuses lengths outside 1 … 255·64', () => {
    expect(() => kdf(new Uint8Array(1), null, 'L', 0)).toThrow(RangeError);
    expect(() => kdf(new Uint8Array(1), null, 'L', 255 * 64 + 1)).toThrow(RangeError);
  });

  it('has distinct labels', () => {
    const values = Object.values(LABELS);
    expect(new Set(values).size).toBe(values.length);
  });
});

describe('chainStep', () => {
  it('derives the message key with constant 0x01 and the next chain key with 0x02 (keyed BLAKE2b-256)', () => {
    const ck = new Uint8Array(32).fill(9);
    const { messageKey, nextChainKey } = chainStep(ck);
    expect(toHex(messageKey)).toBe(toHex(keyedHash(ck, 32, Uint8Array.of(1))));
    expect(toHex(nextChainKey)).toBe(toHex(keyedHash(ck, 32, Uint8Array.of(2))));
    expect(toHex(messageKey)).not.toBe(toHex(nextChainKey));
  });

  it('never repeats a key along a chain of a thousand steps', () => {
    const seen = new Set<string>();
    let ck: Uint8Array = new Uint8Array(32).fill(4);
    for (let i = 0; i < 1000; i++) {
      const st = chainStep(ck);
      seen.add(toHex(st.messageKey));
      seen.add(toHex(st.nextChainKey));
      ck = st.nextChainKey;
    }
    expect(seen.size).toBe(2000);
  });
});

describe('hash', () => {
  it('is BLAKE2b of the concatenated parts', () => {
    const a = utf8('a');
    const b = utf8('bc');
    expect(toHex(hash(32, a, b))).toBe(toHex(sodium().crypto_generichash(32, utf8('abc'), null)));
  });
});
