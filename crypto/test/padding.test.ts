import { describe, expect, it } from 'vitest';
import { isCryptoError } from '../src/errors.ts';
import { pad, paddedLength, unpad, PAD_MIN_BYTES } from '../src/padding.ts';

function expectMalformed(bytes: Uint8Array): void {
  let thrown: unknown;
  try {
    unpad(bytes);
  } catch (err) {
    thrown = err;
  }
  expect(isCryptoError(thrown, 'MALFORMED'), `length ${bytes.length}`).toBe(true);
}

describe('padding', () => {
  it('round-trips every length from 0 to 5000 and selected large ones', () => {
    const lengths = [...Array.from({ length: 5001 }, (_, i) => i), 65535, 65536, 100_000, 1 << 20];
    for (const n of lengths) {
      const msg = new Uint8Array(n);
      for (let i = 0; i < n; i++) msg[i] = (i * 31 + 7) & 0xff;
      if (n > 0) msg[n - 1] = 0; // trailing zeros in the message itself must survive
      const padded = pad(msg);
      expect(padded.length).toBe(paddedLength(n));
      // Byte-wise comparison: toEqual on thousands of large arrays is needlessly slow.
      expect(Buffer.from(unpad(padded)).equals(Buffer.from(msg)), `length ${n}`).toBe(true);
    }
  });

  it('puts every message under 256 bytes in one 256-byte bucket', () => {
    for (const n of [0, 1, 100, 254, 255])
      expect(pad(new Uint8Array(n)).length).toBe(PAD_MIN_BYTES);
    expect(pad(new Uint8Array(256)).length).toBeGreaterThan(PAD_MIN_BYTES);
  });

  it('grows by Padmé: at most 12% overhead and few distinct sizes', () => {
    const sizes = new Set<number>();
    let worst = 0;
    let tooSmall = 0;
    for (let n = 256; n < 70_000; n += 7) {
      const p = paddedLength(n);
      if (p <= n) tooSmall++;
      worst = Math.max(worst, p / (n + 1));
      sizes.add(p);
    }
    expect(tooSmall).toBe(0);
    expect(worst).toBeLessThanOrEqual(1.12);
    expect(sizes.size).toBeLessThan(200);
    // Known Padmé values (message + marker): 257 → 272, 1001 → 1024, 65537 → 67584.
    expect(paddedLength(256)).toBe(272);
    expect(paddedLength(1000)).toBe(1024);
    expect(paddedLength(65536)).toBe(67584);
  });

  it('rejects bad padding: no marker, wrong marker, non-canonical length, empty input', () => {
    expectMalformed(new Uint8Array(0));
    expectMalformed(new Uint8Array(256));
    const p = pad(new Uint8Array([1, 2, 3]));
    const wrongMarker = p.slice();
    wrongMarker[3] = 0x81;
    expectMalformed(wrongMarker);
    expectMalformed(p.subarray(0, 255)); // one zero short of the bucket
    expectMalformed(new Uint8Array([...p, 0])); // one zero too many
    expectMalformed(Uint8Array.of(1, 2, 3, 0x80)); // unpadded-length
  });
});
