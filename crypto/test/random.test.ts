import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/sodium.ts';
import { toHex } from '../src/bytes.ts';
import { randomBytes } from '../src/internal/random.ts';

beforeAll(async () => {
  await ready();
});

describe('randomBytes', () => {
  it('returns the requested number of bytes, including zero and large draws', () => {
    expect(randomBytes(0).length).toBe(0);
    expect(randomBytes(1).length).toBe(1);
    expect(randomBytes(64).length).toBe(64);
    expect(randomBytes(100_000).length).toBe(100_000);
  });

  it('never repeats a 32-byte output across many draws and reseeds', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) seen.add(toHex(randomBytes(32)));
    expect(seen.size).toBe(500);
  });

  it('produces roughly uniform bytes', () => {
    const counts = new Array<number>(256).fill(0);
    const bytes = randomBytes(256 * 400);
    for (const b of bytes) counts[b]! += 1;
    // Expected 400 per value; a 5-sigma band is about ±100.
    expect(Math.min(...counts)).toBeGreaterThan(300);
    expect(Math.max(...counts)).toBeLessThan(500);
  });

  it('refuses a negative or fractional length', () => {
    expect(() => randomBytes(-1)).toThrow(RangeError);
    expect(() => randomBytes(1.5)).toThrow(RangeError);
  });
});
