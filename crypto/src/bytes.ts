/**
 * Byte helpers shared by every wire format: concatenation, constant-time
 * comparison, base64url, and a bounds-checked reader/writer pair whose failures
 * are `CryptoError('MALFORMED')`, never a RangeError from a typed array.
 */
import { CryptoError } from './errors.ts';
import { sodium } from './sodium.ts';

/** Concatenate byte arrays into a new array. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Constant-time equality for equal-length inputs; false for different lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return sodium().memcmp(a, b);
}

/** Overwrite a secret with zeros once it is no longer needed. */
export function wipe(...secrets: (Uint8Array | undefined | null)[]): void {
  for (const s of secrets) if (s) sodium().memzero(s);
}

// crypto/ compiles without DOM or Node typings (it runs in both, crypto/tsconfig.json has
// `types: []`), so declare the part of the WHATWG encoding API it uses; every supported
// runtime (browsers, Node >= 11) provides these globals.
declare const TextEncoder: new () => { encode(input: string): Uint8Array };
declare const TextDecoder: new (
  label: string,
  options: { fatal: boolean },
) => { decode(input: Uint8Array): string };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 encode. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 decode, rejecting invalid sequences as MALFORMED. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'invalid UTF-8', { cause });
  }
}

/** base64url without padding: the encoding of every binary field in JSON (PROTOCOL.md §1). */
export function toBase64(bytes: Uint8Array): string {
  const s = sodium();
  return s.to_base64(bytes, s.base64_variants.URLSAFE_NO_PADDING);
}

/** Decode base64url without padding; anything else is MALFORMED. */
export function fromBase64(text: string): Uint8Array {
  const s = sodium();
  if (!/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new CryptoError('MALFORMED', 'not base64url');
  }
  try {
    return s.from_base64(text, s.base64_variants.URLSAFE_NO_PADDING);
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'not base64url', { cause });
  }
}

/** Lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  return sodium().to_hex(bytes);
}

/** Decode hex; anything else is MALFORMED. */
export function fromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new CryptoError('MALFORMED', 'not hex');
  return sodium().from_hex(text);
}

/**
 * Appends fixed-width big-endian integers and length-prefixed fields, into one buffer that
 * grows by doubling (not an array per field joined at the end: a session state is hundreds of
 * fields, serialised once per received message — issue 23). A buffer outgrown is zeroed, as
 * what is written is often secret.
 */
export class ByteWriter {
  private buf: Uint8Array;
  private length = 0;

  /**
   * `capacity`: bytes to start with. A writer that outgrows its buffer copies it and zeroes the
   * old one; a caller that knows about how much it writes (a session state, written after every
   * message) passes that and skips the growth.
   */
  constructor(capacity = 256) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`ByteWriter capacity must be a positive integer, got ${capacity}`);
    this.buf = new Uint8Array(capacity);
  }

  /** Room for `n` more bytes. */
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf.fill(0);
    this.buf = next;
  }

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff)
      throw new RangeError(`u8 out of range: ${value}`);
    this.room(1);
    this.buf[this.length++] = value;
    return this;
  }

  u16(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff)
      throw new RangeError(`u16 out of range: ${value}`);
    this.room(2);
    this.buf[this.length++] = value >>> 8;
    this.buf[this.length++] = value & 0xff;
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
      throw new RangeError(`u32 out of range: ${value}`);
    this.room(4);
    this.buf[this.length++] = value >>> 24;
    this.buf[this.length++] = (value >>> 16) & 0xff;
    this.buf[this.length++] = (value >>> 8) & 0xff;
    this.buf[this.length++] = value & 0xff;
    return this;
  }

  /** Unsigned 64-bit integer from a safe JS number (timestamps in ms). */
  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`u64 out of range: ${value}`);
    return this.u32(Math.floor(value / 0x1_0000_0000)).u32(value % 0x1_0000_0000);
  }

  /** Raw bytes, no length: for fixed-size fields. */
  raw(bytes: Uint8Array): this {
    this.room(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** u8 length then bytes (≤ 255). */
  bytes8(bytes: Uint8Array): this {
    return this.u8(bytes.length).raw(bytes);
  }

  /** u16 length then bytes (≤ 65535). */
  bytes16(bytes: Uint8Array): this {
    return this.u16(bytes.length).raw(bytes);
  }

  /** u32 length then bytes. */
  bytes32(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes);
  }

  /** u8 length then UTF-8 text. */
  string8(text: string): this {
    return this.bytes8(utf8(text));
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Reads what {@link ByteWriter} wrote; every overrun is `CryptoError('MALFORMED')`. */
export class ByteReader {
  private offset = 0;

  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private take(n: number, what: string): Uint8Array {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new CryptoError('MALFORMED', `truncated ${what}`);
    }
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(what = 'u8'): number {
    return this.take(1, what)[0]!;
  }

  u16(what = 'u16'): number {
    const b = this.take(2, what);
    return (b[0]! << 8) | b[1]!;
  }

  u32(what = 'u32'): number {
    const b = this.take(4, what);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  u64(what = 'u64'): number {
    const b = this.take(8, what);
    const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new CryptoError('MALFORMED', `${what} too large`);
    return Number(v);
  }

  /** Exactly `n` bytes, copied so callers may keep or wipe them independently. */
  raw(n: number, what = 'bytes'): Uint8Array {
    return this.take(n, what).slice();
  }

  bytes8(what = 'bytes'): Uint8Array {
    return this.raw(this.u8(what), what);
  }

  bytes16(what = 'bytes'): Uint8Array {
    return this.raw(this.u16(what), what);
  }

  bytes32(what = 'bytes', max = 64 * 1024 * 1024): Uint8Array {
    const n = this.u32(what);
    if (n > max) throw new CryptoError('OVERSIZED', `${what} longer than ${max} bytes`);
    return this.raw(n, what);
  }

  string8(what = 'string'): string {
    return fromUtf8(this.bytes8(what));
  }

  /** All bytes not yet read. */
  rest(): Uint8Array {
    return this.take(this.remaining, 'rest');
  }

  /** Throws MALFORMED if anything is left: every format is parsed to its exact end. */
  end(what = 'input'): void {
    if (this.remaining !== 0) throw new CryptoError('MALFORMED', `trailing bytes after ${what}`);
  }
}
