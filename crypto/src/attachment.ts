/**
 * Attachment encryption (PROTOCOL.md §9.2): a random key per file,
 * `crypto_secretstream_xchacha20poly1305` over 64 KiB plaintext chunks, and a
 * BLAKE2b-256 digest of the whole encrypted blob. The blob goes to the key
 * server's blob store; key and digest travel inside the end-to-end encrypted
 * message that announces the file.
 *
 * Blob layout: `header[24] ‖ c(0) ‖ c(1) ‖ … ‖ c(n-1)` where every chunk but
 * the last carries exactly {@link ATTACHMENT_CHUNK_BYTES} of plaintext with tag
 * MESSAGE, and the last carries 0..64 KiB with tag FINAL. Chunk boundaries in
 * the blob therefore follow from the length alone.
 *
 * Everything streams: at most one chunk (plus whatever the caller's source
 * hands over at once) is held in memory, so a 1 GB file never sits in memory.
 *
 * Runtime: any.
 */
import { ByteWriter, concat, equalBytes, wipe } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { LABELS } from './kdf.ts';
import { sodium } from './sodium.ts';

/** Plaintext bytes per secretstream chunk. */
export const ATTACHMENT_CHUNK_BYTES = 64 * 1024;

type StreamState = ReturnType<
  ReturnType<typeof sodium>['crypto_secretstream_xchacha20poly1305_init_push']
>['state'];
type HashState = ReturnType<ReturnType<typeof sodium>['crypto_generichash_init']>;

function cipherChunkBytes(): number {
  return ATTACHMENT_CHUNK_BYTES + sodium().crypto_secretstream_xchacha20poly1305_ABYTES;
}

/** Incremental digest of an encrypted blob: `BLAKE2b-256(string8(LABELS.attachment) ‖ blob)`. */
export interface AttachmentHasher {
  update(bytes: Uint8Array): void;
  /** The digest; call once, after the last update. */
  digest(): Uint8Array;
}

/** Start an incremental blob digest (crypto_generichash_init/update/final). */
export function createAttachmentHasher(): AttachmentHasher {
  const s = sodium();
  const outLen = s.crypto_generichash_BYTES;
  let state: HashState | null = s.crypto_generichash_init(null, outLen);
  s.crypto_generichash_update(state, new ByteWriter().string8(LABELS.attachment).finish());
  return {
    update(bytes) {
      if (state === null) throw new Error('attachment hasher already finished');
      s.crypto_generichash_update(state, bytes);
    },
    digest() {
      if (state === null) throw new Error('attachment hasher already finished');
      const out = s.crypto_generichash_final(state, outLen);
      state = null;
      return out;
    },
  };
}

/** Digest of a whole blob held in memory (same value as the incremental hasher). */
export function attachmentDigest(blob: Uint8Array): Uint8Array {
  const h = createAttachmentHasher();
  h.update(blob);
  return h.digest();
}

/** Low-level encryptor: the caller feeds exact 64 KiB chunks, the last one flagged final. */
export interface AttachmentEncryptor {
  /** The file key (32 bytes): send it inside the encrypted message. */
  readonly key: Uint8Array;
  /** The secretstream header: the first 24 bytes of the blob. */
  readonly header: Uint8Array;
  /**
   * Encrypt the next chunk. Non-final chunks must be exactly
   * {@link ATTACHMENT_CHUNK_BYTES}; the final one 0..64 KiB. Nothing may follow the final chunk.
   */
  push(chunk: Uint8Array, final: boolean): Uint8Array;
}

/** Start encrypting a file under `key` (random when omitted). */
export function createAttachmentEncryptor(key?: Uint8Array): AttachmentEncryptor {
  const s = sodium();
  const k = key ?? s.crypto_secretstream_xchacha20poly1305_keygen();
  if (k.length !== s.crypto_secretstream_xchacha20poly1305_KEYBYTES) {
    throw new RangeError(`key must be ${s.crypto_secretstream_xchacha20poly1305_KEYBYTES} bytes`);
  }
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(k);
  let done = false;
  return {
    key: k,
    header,
    push(chunk, final) {
      if (done) throw new RangeError('attachment stream already finished');
      if (final ? chunk.length > ATTACHMENT_CHUNK_BYTES : chunk.length !== ATTACHMENT_CHUNK_BYTES) {
        throw new RangeError(`non-final chunks must be exactly ${ATTACHMENT_CHUNK_BYTES} bytes`);
      }
      done = final;
      const tag = final
        ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
      return s.crypto_secretstream_xchacha20poly1305_push(state, chunk, null, tag);
    },
  };
}

/** Low-level decryptor: one ciphertext chunk at a time, as {@link AttachmentEncryptor} made them. */
export interface AttachmentDecryptor {
  /**
   * Decrypt the next ciphertext chunk. Throws DECRYPT_FAILED when it does not
   * authenticate (tampered, reordered, wrong key), TRUNCATED when a chunk
   * arrives after the final one, MALFORMED for a size or tag no encryptor makes.
   */
  pull(cipherChunk: Uint8Array): { plaintext: Uint8Array; final: boolean };
  /** True once the final chunk has been decrypted. */
  readonly finished: boolean;
}

/** Start decrypting a blob whose first 24 bytes were `header`. */
export function createAttachmentDecryptor(
  key: Uint8Array,
  header: Uint8Array,
): AttachmentDecryptor {
  const s = sodium();
  if (key.length !== s.crypto_secretstream_xchacha20poly1305_KEYBYTES) {
    throw new CryptoError('INVALID_KEY', 'attachment key has the wrong length');
  }
  if (header.length !== s.crypto_secretstream_xchacha20poly1305_HEADERBYTES) {
    throw new CryptoError('MALFORMED', 'attachment header has the wrong length');
  }
  let state: StreamState;
  try {
    state = s.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
  } catch (cause) {
    throw new CryptoError('DECRYPT_FAILED', 'attachment header rejected', { cause });
  }
  let finished = false;
  const abytes = s.crypto_secretstream_xchacha20poly1305_ABYTES;
  return {
    get finished() {
      return finished;
    },
    pull(cipherChunk) {
      if (finished) throw new CryptoError('TRUNCATED', 'data after the final attachment chunk');
      if (cipherChunk.length < abytes || cipherChunk.length > cipherChunkBytes()) {
        throw new CryptoError('MALFORMED', 'attachment chunk has an impossible size');
      }
      let res: { message: Uint8Array; tag: number } | false;
      try {
        res = s.crypto_secretstream_xchacha20poly1305_pull(state, cipherChunk, null);
      } catch (cause) {
        throw new CryptoError('DECRYPT_FAILED', 'attachment chunk does not authenticate', {
          cause,
        });
      }
      if (!res) throw new CryptoError('DECRYPT_FAILED', 'attachment chunk does not authenticate');
      const final = res.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
      if (!final && res.tag !== s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
        throw new CryptoError('MALFORMED', `unexpected attachment chunk tag ${res.tag}`);
      }
      if (!final && res.message.length !== ATTACHMENT_CHUNK_BYTES) {
        // A short chunk is always the last one in a blob; without FINAL the blob was cut.
        throw new CryptoError('TRUNCATED', 'attachment ended without its final chunk');
      }
      finished = final;
      return { plaintext: res.message, final };
    },
  };
}

/** Result of {@link encryptStream}. */
export interface EncryptedStream {
  /** The random file key. */
  key: Uint8Array;
  /** The blob: header first, then the encrypted chunks. Iterate once. */
  ciphertext: AsyncIterable<Uint8Array>;
  /** BLAKE2b-256 digest of the blob; available once `ciphertext` is fully consumed. */
  digest(): Uint8Array;
  /** Plaintext bytes consumed so far (the file size once done). */
  plaintextLength(): number;
}

/**
 * Encrypt a stream of arbitrarily sized pieces. Input is re-chunked into
 * exact 64 KiB plaintext chunks; one full chunk is held back until more input
 * (or the end) shows whether it is the final one.
 */
export function encryptStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  key?: Uint8Array,
): EncryptedStream {
  const enc = createAttachmentEncryptor(key);
  const hasher = createAttachmentHasher();
  let digest: Uint8Array | null = null;
  let total = 0;
  async function* run(): AsyncGenerator<Uint8Array> {
    hasher.update(enc.header);
    yield enc.header.slice();
    const buf = new Uint8Array(ATTACHMENT_CHUNK_BYTES);
    let fill = 0;
    let pending = false; // buf is full and waiting to learn whether it is the last chunk
    for await (const piece of source) {
      if (!(piece instanceof Uint8Array)) throw new TypeError('source must yield Uint8Array');
      total += piece.length;
      let off = 0;
      while (off < piece.length) {
        if (pending) {
          const c = enc.push(buf, false);
          hasher.update(c);
          yield c;
          pending = false;
          fill = 0;
        }
        const n = Math.min(ATTACHMENT_CHUNK_BYTES - fill, piece.length - off);
        buf.set(piece.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === ATTACHMENT_CHUNK_BYTES) pending = true;
      }
    }
    const last = enc.push(buf.subarray(0, fill), true);
    wipe(buf);
    hasher.update(last);
    digest = hasher.digest();
    yield last;
  }
  return {
    key: enc.key,
    ciphertext: run(),
    digest() {
      if (digest === null) throw new Error('digest is available once the ciphertext is consumed');
      return digest.slice();
    },
    plaintextLength: () => total,
  };
}

/**
 * Decrypt a blob arriving as arbitrarily sized pieces (e.g. an HTTP body),
 * yielding plaintext chunks. When `expectedDigest` is given the blob's digest
 * is checked at the end (DECRYPT_FAILED on mismatch). Plaintext is only
 * trustworthy once the iteration completes without throwing: a stream that
 * ends before its FINAL chunk throws TRUNCATED at the end.
 */
export async function* decryptStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  key: Uint8Array,
  expectedDigest?: Uint8Array,
): AsyncGenerator<Uint8Array> {
  const s = sodium();
  const headerLen = s.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
  const chunkLen = cipherChunkBytes();
  const hasher = createAttachmentHasher();
  let header: Uint8Array | null = null;
  let dec: AttachmentDecryptor | null = null;
  // Holds at most one ciphertext chunk (plus the header at the start).
  let buf: Uint8Array = new Uint8Array(0);
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) throw new TypeError('source must yield Uint8Array');
    hasher.update(piece);
    buf = buf.length ? concat(buf, piece) : piece.slice();
    if (dec === null && buf.length >= headerLen) {
      header = buf.slice(0, headerLen);
      dec = createAttachmentDecryptor(key, header);
      buf = buf.slice(headerLen);
    }
    if (dec === null) continue;
    // Only decrypt a full chunk when at least one more byte follows: a full-size
    // chunk at the very end may be the FINAL one, which pull() handles the same way,
    // but waiting keeps "data after final" detection in one place.
    let off = 0;
    while (buf.length - off > chunkLen) {
      const { plaintext } = dec.pull(buf.subarray(off, off + chunkLen));
      off += chunkLen;
      yield plaintext;
    }
    if (off > 0) buf = buf.slice(off);
  }
  if (dec === null) throw new CryptoError('TRUNCATED', 'attachment shorter than its header');
  if (buf.length === 0) {
    if (!dec.finished)
      throw new CryptoError('TRUNCATED', 'attachment ended without its final chunk');
  } else {
    const { plaintext, final } = dec.pull(buf);
    if (!final) throw new CryptoError('TRUNCATED', 'attachment ended without its final chunk');
    yield plaintext;
  }
  const digest = hasher.digest();
  if (expectedDigest !== undefined && !equalBytes(digest, expectedDigest)) {
    throw new CryptoError('DECRYPT_FAILED', 'attachment digest does not match');
  }
}

/** In-memory convenience: encrypt a whole file. */
export async function encryptAttachment(
  data: Uint8Array,
  key?: Uint8Array,
): Promise<{ key: Uint8Array; blob: Uint8Array; digest: Uint8Array }> {
  const stream = encryptStream([data], key);
  const parts: Uint8Array[] = [];
  for await (const c of stream.ciphertext) parts.push(c);
  return { key: stream.key, blob: concat(...parts), digest: stream.digest() };
}

/** In-memory convenience: decrypt a whole blob, checking the digest when given. */
export async function decryptAttachment(
  blob: Uint8Array,
  key: Uint8Array,
  expectedDigest?: Uint8Array,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of decryptStream([blob], key, expectedDigest)) parts.push(p);
  return concat(...parts);
}
