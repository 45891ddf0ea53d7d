/**
 * The record sealer of encryption at rest (PROTOCOL.md §14): records open only for the row they
 * were sealed for, under the key they were sealed with; blinds are deterministic per key.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BLIND_BYTES,
  createRecordSealer,
  generateStorageKey,
  isCryptoError,
  ready,
  storageKeyBytes,
  utf8,
} from '../src/index.ts';

beforeAll(ready);

const fixedKey = (): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => i);

describe('record sealer', () => {
  it('opens what it sealed for the same row, with a fresh nonce each time', () => {
    const s = createRecordSealer(generateStorageKey());
    const ad = utf8('messages\u0000m1');
    const a = s.seal(ad, utf8('hello'));
    const b = s.seal(ad, utf8('hello'));
    expect(a).not.toEqual(b);
    expect(a[0]).toBe(1);
    expect(s.open(ad, a)).toEqual(utf8('hello'));
  });

  it('refuses another row, a changed byte, another key, an unknown version and short input', () => {
    const key = generateStorageKey();
    const s = createRecordSealer(key);
    const sealed = s.seal(utf8('messages\u0000m1'), utf8('hello'));
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
        return undefined;
      } catch (err) {
        return isCryptoError(err) ? err.code : 'other';
      }
    };
    expect(code(() => s.open(utf8('messages\u0000m2'), sealed))).toBe('DECRYPT_FAILED');
    expect(code(() => s.open(utf8('contacts\u0000m1'), sealed))).toBe('DECRYPT_FAILED');
    const flipped = sealed.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(code(() => s.open(utf8('messages\u0000m1'), flipped))).toBe('DECRYPT_FAILED');
    const other = createRecordSealer(generateStorageKey());
    expect(code(() => other.open(utf8('messages\u0000m1'), sealed))).toBe('DECRYPT_FAILED');
    const v2 = sealed.slice();
    v2[0] = 2;
    expect(code(() => s.open(utf8('messages\u0000m1'), v2))).toBe('UNSUPPORTED_VERSION');
    expect(code(() => s.open(utf8('x'), sealed.subarray(0, 10)))).toBe('MALFORMED');
    expect(code(() => createRecordSealer(new Uint8Array(16)))).toBe('INVALID_KEY');
  });

  it('blinds deterministically per key, differently under another key', () => {
    const a = createRecordSealer(fixedKey());
    const b = createRecordSealer(generateStorageKey());
    const x = a.blind(utf8('user\u0000bob'));
    expect(x.length).toBe(BLIND_BYTES);
    expect(createRecordSealer(fixedKey()).blind(utf8('user\u0000bob'))).toEqual(x);
    expect(a.blind(utf8('user\u0000bobby'))).not.toEqual(x);
    expect(b.blind(utf8('user\u0000bob'))).not.toEqual(x);
    expect(storageKeyBytes()).toBe(32);
  });

  it('uses the injected random source for nonces and refuses a wrong-sized one', () => {
    const zeros = createRecordSealer(fixedKey(), (n) => new Uint8Array(n));
    const sealed = zeros.seal(utf8('kv\u0000k'), utf8('v'));
    expect(sealed.subarray(1, 25)).toEqual(new Uint8Array(24));
    expect(zeros.open(utf8('kv\u0000k'), sealed)).toEqual(utf8('v'));
    const short = createRecordSealer(fixedKey(), () => new Uint8Array(8));
    expect(() => short.seal(utf8('kv\u0000k'), utf8('v'))).toThrow(RangeError);
  });
});
