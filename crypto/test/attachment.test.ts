import { beforeAll, describe, expect, it } from 'vitest';
import { ready, sodium } from '../src/sodium.ts';
import { concat } from '../src/bytes.ts';
import { isCryptoError, type CryptoErrorCode } from '../src/errors.ts';
import {
  ATTACHMENT_CHUNK_BYTES,
  attachmentDigest,
  createAttachmentDecryptor,
  createAttachmentEncryptor,
  decryptAttachment,
  decryptStream,
  encryptAttachment,
  encryptStream,
} from '../src/attachment.ts';

const CHUNK = ATTACHMENT_CHUNK_BYTES;
const ABYTES = 17;
const HEADER = 24;

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed = 1): Uint8Array {
  return sodium().randombytes_buf_deterministic(n, new Uint8Array(32).fill(seed));
}

/** Yield `data` in pieces of odd, varying sizes. */
async function* pieces(
  data: Uint8Array,
  sizes = [1, 7, 4093, 65_537, 100_003, 13],
): AsyncGenerator<Uint8Array> {
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield data.subarray(off, off + n);
    off += n;
  }
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return concat(...parts);
}

async function expectCode(p: Promise<unknown>, code: CryptoErrorCode): Promise<void> {
  let thrown: unknown;
  try {
    await p;
  } catch (err) {
    thrown = err;
  }
  expect(isCryptoError(thrown), `expected CryptoError ${code}, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

beforeAll(async () => {
  await ready();
});

describe('attachments', () => {
  it('streams a multi-MiB file fed in odd-sized pieces and decrypts it fed in other pieces', async () => {
    const file = bytes(3 * 1024 * 1024 + 12_345);
    const enc = encryptStream(pieces(file));
    const out: Uint8Array[] = [];
    let maxPiece = 0;
    for await (const c of enc.ciphertext) {
      maxPiece = Math.max(maxPiece, c.length);
      out.push(c);
    }
    // Never more than one chunk per yielded piece: the stream does not hold the file.
    expect(maxPiece).toBeLessThanOrEqual(CHUNK + ABYTES);
    const blob = concat(...out);
    const chunks = Math.ceil(file.length / CHUNK);
    expect(blob.length).toBe(HEADER + file.length + chunks * ABYTES);
    expect(enc.plaintextLength()).toBe(file.length);
    expect(enc.digest()).toEqual(attachmentDigest(blob));
    const plain = await collect(
      decryptStream(pieces(blob, [5, 65_553, 3, 99_999]), enc.key, enc.digest()),
    );
    expect(same(plain, file)).toBe(true);
  });

  it('handles empty files and exact multiples of the chunk size', async () => {
    for (const n of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK]) {
      const file = bytes(n, 2);
      const { key, blob, digest } = await encryptAttachment(file);
      expect(blob.length).toBe(HEADER + n + Math.max(1, Math.ceil(n / CHUNK)) * ABYTES);
      expect(same(await decryptAttachment(blob, key, digest), file), `n=${n}`).toBe(true);
    }
  });

  it('detects truncation: dropped final chunk, cut inside a chunk, header only, nothing', async () => {
    const file = bytes(3 * CHUNK + 100, 3);
    const { key, blob } = await encryptAttachment(file);
    const c = CHUNK + ABYTES;
    await expectCode(decryptAttachment(blob.subarray(0, HEADER + 3 * c), key), 'TRUNCATED');
    await expectCode(decryptAttachment(blob.subarray(0, HEADER + c), key), 'TRUNCATED');
    await expectCode(decryptAttachment(blob.subarray(0, HEADER), key), 'TRUNCATED');
    await expectCode(decryptAttachment(blob.subarray(0, 10), key), 'TRUNCATED');
    await expectCode(decryptAttachment(new Uint8Array(0), key), 'TRUNCATED');
    // Cut in the middle of a chunk: that chunk no longer authenticates.
    const cut = decryptAttachment(blob.subarray(0, HEADER + c + 500), key);
    let thrown: unknown;
    try {
      await cut;
    } catch (err) {
      thrown = err;
    }
    expect(isCryptoError(thrown)).toBe(true);
  });

  it('detects a full-size final chunk being dropped (file of exact chunk multiple)', async () => {
    const file = bytes(2 * CHUNK, 4);
    const { key, blob } = await encryptAttachment(file);
    await expectCode(
      decryptAttachment(blob.subarray(0, HEADER + CHUNK + ABYTES), key),
      'TRUNCATED',
    );
  });

  it('detects reordered chunks', async () => {
    const file = bytes(3 * CHUNK + 10, 5);
    const { key, blob } = await encryptAttachment(file);
    const c = CHUNK + ABYTES;
    const swapped = concat(
      blob.subarray(0, HEADER),
      blob.subarray(HEADER + c, HEADER + 2 * c),
      blob.subarray(HEADER, HEADER + c),
      blob.subarray(HEADER + 2 * c),
    );
    await expectCode(decryptAttachment(swapped, key), 'DECRYPT_FAILED');
  });

  it('rejects data after the final chunk', async () => {
    const enc = createAttachmentEncryptor();
    const c0 = enc.push(bytes(CHUNK, 6), false);
    const c1 = enc.push(bytes(CHUNK, 7), true);
    expect(() => enc.push(new Uint8Array(1), true)).toThrow(RangeError);
    // A second stream's chunk appended after FINAL.
    const blob = concat(enc.header, c0, c1, c1);
    await expectCode(decryptAttachment(blob, enc.key), 'TRUNCATED');
    const dec = createAttachmentDecryptor(enc.key, enc.header);
    dec.pull(c0);
    expect(dec.pull(c1).final).toBe(true);
    expect(() => dec.pull(c1)).toThrow(expect.objectContaining({ code: 'TRUNCATED' }));
  });

  it('fails with the wrong key, a flipped byte, or a wrong digest', async () => {
    const file = bytes(CHUNK + 5, 8);
    const { key, blob, digest } = await encryptAttachment(file);
    const other = sodium().crypto_secretstream_xchacha20poly1305_keygen();
    await expectCode(decryptAttachment(blob, other), 'DECRYPT_FAILED');
    for (const at of [0, HEADER, HEADER + 100, blob.length - 1]) {
      const bad = blob.slice();
      bad[at]! ^= 1;
      await expectCode(decryptAttachment(bad, key), 'DECRYPT_FAILED');
    }
    const wrongDigest = digest.slice();
    wrongDigest[0]! ^= 1;
    await expectCode(decryptAttachment(blob, key, wrongDigest), 'DECRYPT_FAILED');
    await expectCode(decryptAttachment(blob, new Uint8Array(5)), 'INVALID_KEY');
  });

  it('refuses non-final chunks that are not exactly 64 KiB', () => {
    const enc = createAttachmentEncryptor();
    expect(() => enc.push(new Uint8Array(100), false)).toThrow(RangeError);
    expect(() => enc.push(new Uint8Array(CHUNK + 1), true)).toThrow(RangeError);
  });
});
