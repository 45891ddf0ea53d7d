/**
 * Files (DESIGN.md §5.3, PROTOCOL.md §11): encrypted in the client as a stream, uploaded as one
 * blob, announced by a `file` payload carrying its key and digest; downloaded, verified against
 * the digest and decrypted the same way. Pieces are fed in the attachment chunk size, so
 * progress moves once per chunk.
 */
import {
  ATTACHMENT_CHUNK_BYTES,
  decryptStream,
  encryptStream,
  fromBase64,
  toBase64,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import type { HttpClient } from '../http.ts';
import type { FilePayload, FileThumbnail, Payload, PayloadInput, VoiceNote } from '../payload.ts';
import type { MessageRecord } from '../store/types.ts';

/** Progress of a file transfer. */
export type Progress = (done: number, total: number) => void;

/** What a sent file is announced with, besides its bytes. */
export interface FileMeta {
  name: string;
  mime: string;
  caption?: string;
  thumbnail?: FileThumbnail;
  /** Makes the file a voice note (PROTOCOL.md §12 "Voice notes"). */
  voice?: VoiceNote;
  onProgress?: Progress;
}

/** `data` in pieces of {@link ATTACHMENT_CHUNK_BYTES} (one empty piece for an empty file). */
function* pieces(data: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < data.length; i += ATTACHMENT_CHUNK_BYTES)
    yield data.subarray(i, Math.min(data.length, i + ATTACHMENT_CHUNK_BYTES));
  if (data.length === 0) yield new Uint8Array(0);
}

/** Where an encrypted blob is and how to open it (a `file` payload's or a profile picture's). */
export interface BlobRef {
  blobId: string;
  /** secretstream key, base64url. */
  key: string;
  /** Digest of the ciphertext (PROTOCOL.md §9.2), base64url. */
  hash: string;
  /** Bytes of the plaintext. */
  size: number;
}

/** Encrypt `data` as a stream (PROTOCOL.md §9.2) and upload the ciphertext as one blob. */
export async function uploadEncrypted(
  http: HttpClient,
  data: Uint8Array,
  onProgress?: Progress,
): Promise<BlobRef> {
  const total = data.length;
  let fed = 0;
  function* source(): Generator<Uint8Array> {
    for (const piece of pieces(data)) {
      if (piece.length > 0) {
        fed += piece.length;
        onProgress?.(fed, total);
      }
      yield piece;
    }
  }
  const stream = encryptStream(source());
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of stream.ciphertext) {
    parts.push(c);
    size += c.length;
  }
  const blob = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    blob.set(p, off);
    off += p.length;
  }
  const { id } = await http.uploadBlob(blob);
  return {
    blobId: id,
    key: toBase64(stream.key),
    hash: toBase64(stream.digest()),
    size: total,
  };
}

/** Encrypt and upload `data`, then announce it with `send`; returns the payload as sent. */
export async function sendFile(
  http: HttpClient,
  data: Uint8Array,
  meta: FileMeta,
  send: (input: PayloadInput) => Promise<Payload>,
): Promise<Payload> {
  const ref = await uploadEncrypted(http, data, meta.onProgress);
  return send({
    kind: 'file',
    ...ref,
    name: meta.name,
    mime: meta.mime,
    ...(meta.caption !== undefined ? { caption: meta.caption } : {}),
    ...(meta.thumbnail !== undefined ? { thumbnail: meta.thumbnail } : {}),
    ...(meta.voice !== undefined ? { voice: meta.voice } : {}),
  });
}

/** Download, verify and decrypt a file message (HASH_MISMATCH when the size is not the announced one). */
export function downloadFile(
  http: HttpClient,
  m: MessageRecord | FilePayload,
  onProgress?: Progress,
): Promise<Uint8Array> {
  const f = 'body' in m ? (m.body as unknown as FilePayload) : m;
  return downloadDecrypted(http, f, onProgress);
}

/** Download a blob, verify its digest and decrypt it (HASH_MISMATCH when not `ref.size` bytes). */
export async function downloadDecrypted(
  http: HttpClient,
  ref: BlobRef,
  onProgress?: Progress,
): Promise<Uint8Array> {
  const blob = await http.downloadBlob(ref.blobId);
  const out = new Uint8Array(ref.size);
  let off = 0;
  for await (const piece of decryptStream(
    pieces(blob),
    fromBase64(ref.key),
    fromBase64(ref.hash),
  )) {
    if (off + piece.length > out.length)
      throw new ClientError('HASH_MISMATCH', 'file is larger than announced');
    out.set(piece, off);
    off += piece.length;
    onProgress?.(off, ref.size);
  }
  if (off !== ref.size) throw new ClientError('HASH_MISMATCH', 'file is smaller than announced');
  return out;
}
