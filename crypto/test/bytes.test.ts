import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../src/bytes.ts';

function write(w: ByteWriter): Uint8Array {
  const big = Uint8Array.from({ length: 700 }, (_, i) => (i * 7) & 0xff);
  return w.u8(1).u16(0x1234).u32(0xdeadbeef).u64(1_700_000_000_000).bytes16(big).raw(big).finish();
}

describe('ByteWriter', () => {
  it('writes the same bytes whatever capacity it starts with', () => {
    const expected = write(new ByteWriter());
    expect(expected.length).toBe(1 + 2 + 4 + 8 + 2 + 700 + 700);
    for (const capacity of [1, 2, 255, 1416, 1417, 4096]) {
      expect(write(new ByteWriter(capacity)), `capacity ${capacity}`).toEqual(expected);
    }
  });

  it('rejects a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      expect(() => new ByteWriter(capacity), `capacity ${capacity}`).toThrow(RangeError);
    }
  });
});
