/**
 * Message history copied to a newly linked device (PROTOCOL.md §13 "History").
 *
 * The existing device exports the messages of its store as gzip-compressed
 * JSON lines, encrypts them like an attachment (random key, PROTOCOL.md §9.2)
 * and uploads the ciphertext as a blob; the reference (blob id, key, digest,
 * size, counts) travels inside the sealed link bundle's `state`. The new
 * device downloads the blob, checks size and digest, decrypts, decompresses
 * (bounded), validates every record and only then writes them, in batches,
 * skipping ids it already has, so a repeated import changes nothing.
 *
 * Blob plaintext (before gzip), UTF-8:
 *
 *     {"v":1,"count":N}\n
 *     <MessageRecord JSON>\n   × N, oldest first
 *
 * Runtime: any (CompressionStream/DecompressionStream and Response are in
 * browsers and Node ≥ 18).
 */
import {
  decryptAttachment,
  encryptAttachment,
  fromBase64,
  fromUtf8,
  toBase64,
  utf8,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import { isApiError } from '../http.ts';
import type { MessageRecord, StoreOp } from '../store/types.ts';
import { RECEIPT_ORDER } from '../store/types.ts';
import type { Ctx } from './context.ts';

/** Version of the export format (the header line's `v`). */
export const HISTORY_VERSION = 1;

/**
 * Largest export, in bytes of JSON lines before compression (and the most a
 * new device decompresses). The blob is smaller (gzip) than this plus the
 * secretstream overhead, so it fits the key server's default blob cap.
 */
export const MAX_HISTORY_BYTES = 64 * 1024 * 1024;

/** Messages written per store transaction when importing. */
const IMPORT_BATCH = 500;

/** Messages read per store query when exporting. */
const EXPORT_PAGE = 500;

/** Where the exported history is, inside the sealed link state (`state.history`). */
export interface HistoryRef {
  blobId: string;
  /** Attachment key (base64url, 32 bytes). */
  key: string;
  /** Attachment digest of the blob (base64url, 32 bytes). */
  digest: string;
  /** Blob size in bytes. */
  size: number;
  /** Messages in the export. */
  count: number;
  /** Older messages left out because the export reached its size bound. */
  omitted: number;
}

/** What happened to the history on the new device (`LinkSession.linked` → `history`). */
export type HistoryImportResult =
  /** The approving device sent no history (opted out, or it had no messages). */
  | { status: 'none' }
  | {
      status: 'imported';
      /** Messages written. */
      imported: number;
      /** Messages this device already had (same id). */
      skipped: number;
      /** Older messages the approving device left out (size bound). */
      omitted: number;
    }
  /** Download, digest, decryption or a record failed: the device is linked without history. */
  | { status: 'failed'; error: ClientError };

function invalid(message: string, cause?: unknown): ClientError {
  return new ClientError('HISTORY_INVALID', message, cause === undefined ? {} : { cause });
}

// ---- compression -------------------------------------------------------------------------

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Gunzip, refusing more than `max` bytes of output (a bomb) and corrupt input. */
async function gunzip(bytes: Uint8Array, max: number): Promise<Uint8Array> {
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('gzip'))
    .getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel();
        throw invalid(`history is larger than ${max} bytes uncompressed`);
      }
      parts.push(value);
    }
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw invalid('history is not valid gzip', err);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---- export --------------------------------------------------------------------------------

/** Every message of a conversation, newest page first (ties at page edges handled). */
async function* conversationPages(
  ctx: Ctx,
  conversationId: string,
): AsyncGenerator<MessageRecord[]> {
  const seen = new Set<string>();
  let before: number | undefined;
  let limit = EXPORT_PAGE;
  for (;;) {
    const page = await ctx.store.listMessages(
      conversationId,
      before === undefined ? { limit } : { before, limit },
    );
    const fresh = page.filter((m) => !seen.has(m.id));
    for (const m of fresh) seen.add(m.id);
    if (page.length < limit) {
      if (fresh.length > 0) yield fresh;
      return;
    }
    if (fresh.length === 0) {
      // A full page of messages sharing one timestamp: widen the page.
      limit *= 2;
      continue;
    }
    yield fresh;
    // `before` is exclusive: repeat the oldest timestamp so messages tied with it are not lost.
    before = page[0]!.timestamp + 1;
  }
}

/** The most recent messages whose JSON lines fit `maxBytes`, oldest first, and how many did not fit. */
export async function collectHistory(
  ctx: Ctx,
  maxBytes: number,
): Promise<{ lines: string[]; omitted: number }> {
  const candidates: { m: MessageRecord; line: string }[] = [];
  let total = 0;
  for (const c of await ctx.store.listConversations()) {
    let bytes = 0;
    for await (const page of conversationPages(ctx, c.conversationId)) {
      total += page.length;
      // Once this conversation alone fills the bound, its older messages cannot fit: count only.
      if (bytes > maxBytes) continue;
      for (const m of page) {
        const line = JSON.stringify(m);
        bytes += utf8(line).length + 1;
        candidates.push({ m, line });
      }
    }
  }
  candidates.sort((x, y) => y.m.timestamp - x.m.timestamp || y.m.receivedAt - x.m.receivedAt);
  const kept: string[] = [];
  let size = 0;
  for (const { line } of candidates) {
    const n = utf8(line).length + 1;
    if (size + n > maxBytes) break;
    size += n;
    kept.push(line);
  }
  kept.reverse();
  return { lines: kept, omitted: total - kept.length };
}

/**
 * Export, encrypt and upload the history; null when there are no messages.
 * `maxBytes` bounds the JSON lines; a key server with a smaller blob cap
 * (413 `BLOB_TOO_LARGE`) gets a smaller export (the most recent half, again).
 */
export async function exportHistory(ctx: Ctx, maxBytes: number): Promise<HistoryRef | null> {
  let budget = Math.min(Math.max(1024, maxBytes), MAX_HISTORY_BYTES);
  for (;;) {
    const header = JSON.stringify({ v: HISTORY_VERSION, count: 0 });
    const { lines, omitted } = await collectHistory(ctx, budget - (utf8(header).length + 32));
    if (lines.length === 0 && omitted === 0) return null;
    const text = [JSON.stringify({ v: HISTORY_VERSION, count: lines.length }), ...lines].join('\n');
    const { key, blob, digest } = await encryptAttachment(await gzip(utf8(text + '\n')));
    try {
      const { id } = await ctx.http.uploadBlob(blob);
      return {
        blobId: id,
        key: toBase64(key),
        digest: toBase64(digest),
        size: blob.length,
        count: lines.length,
        omitted,
      };
    } catch (err) {
      if (!isApiError(err, 'BLOB_TOO_LARGE') || budget <= 1024) throw err;
      budget = Math.floor(budget / 2);
    }
  }
}

// ---- import --------------------------------------------------------------------------------

const BLOB_ID = /^[0-9a-f]{64}$/;

/** Parse `state.history`; undefined when absent, HISTORY_INVALID when malformed. */
export function parseHistoryRef(raw: unknown): HistoryRef | undefined {
  if (raw === undefined || raw === null) return undefined;
  const r = raw as Partial<HistoryRef>;
  const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  if (
    typeof r !== 'object' ||
    typeof r.blobId !== 'string' ||
    !BLOB_ID.test(r.blobId) ||
    typeof r.key !== 'string' ||
    typeof r.digest !== 'string' ||
    !count(r.size) ||
    !count(r.count) ||
    !count(r.omitted)
  ) {
    throw invalid('the history reference in the link state is malformed');
  }
  return {
    blobId: r.blobId,
    key: r.key,
    digest: r.digest,
    size: r.size,
    count: r.count,
    omitted: r.omitted,
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringMap(v: unknown, ok: (s: string) => boolean = () => true): boolean {
  return isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string' && ok(x));
}

/** Check one exported record; HISTORY_INVALID names the line. */
export function validateHistoryRecord(raw: unknown, me: string, line: number): MessageRecord {
  const bad = (what: string): ClientError => invalid(`history line ${line}: ${what}`);
  if (!isPlainObject(raw)) throw bad('not an object');
  const m = raw as Partial<MessageRecord>;
  const str = (v: unknown, max = 256): v is string =>
    typeof v === 'string' && v.length > 0 && v.length <= max;
  const time = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!str(m.conversationId, 300) || !/^(dm|group):./.test(m.conversationId))
    throw bad('bad conversationId');
  if (!str(m.id, 64)) throw bad('bad id');
  if (!str(m.sender) || !str(m.senderDevice)) throw bad('bad sender');
  if (!time(m.timestamp) || !time(m.receivedAt)) throw bad('bad timestamp');
  if (!str(m.kind, 64)) throw bad('bad kind');
  if (!isPlainObject(m.body)) throw bad('bad body');
  if (typeof m.outgoing !== 'boolean' || typeof m.unread !== 'boolean') throw bad('bad flags');
  if (m.outgoing !== (m.sender === me)) throw bad('outgoing does not match the sender');
  if (!isStringMap(m.status, (s) => s in RECEIPT_ORDER)) throw bad('bad status');
  if (typeof m.edited !== 'boolean' || typeof m.deleted !== 'boolean') throw bad('bad flags');
  if (m.editedAt !== undefined && !time(m.editedAt)) throw bad('bad editedAt');
  if (!isStringMap(m.reactions)) throw bad('bad reactions');
  if (m.senderKind !== undefined && !['user', 'bot', 'bridge'].includes(m.senderKind))
    throw bad('bad senderKind');
  return {
    conversationId: m.conversationId,
    id: m.id,
    sender: m.sender,
    senderDevice: m.senderDevice,
    timestamp: m.timestamp,
    receivedAt: m.receivedAt,
    kind: m.kind,
    body: m.body,
    outgoing: m.outgoing,
    unread: m.unread,
    status: m.status as MessageRecord['status'],
    edited: m.edited,
    ...(m.editedAt !== undefined ? { editedAt: m.editedAt } : {}),
    deleted: m.deleted,
    reactions: m.reactions as MessageRecord['reactions'],
    ...(m.senderKind !== undefined ? { senderKind: m.senderKind } : {}),
  };
}

/** Decode a decrypted, decompressed export: every record checked before any is stored. */
export function decodeHistory(bytes: Uint8Array, me: string): MessageRecord[] {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch (err) {
    throw invalid('history is not UTF-8', err);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const parse = (s: string, n: number): unknown => {
    try {
      return JSON.parse(s) as unknown;
    } catch (err) {
      throw invalid(`history line ${n}: not JSON`, err);
    }
  };
  const header = parse(lines[0] ?? '', 1) as { v?: unknown; count?: unknown } | null;
  if (!isPlainObject(header) || header.v !== HISTORY_VERSION)
    throw invalid('history has an unknown version');
  if (header.count !== lines.length - 1) throw invalid('history count does not match its lines');
  return lines.slice(1).map((s, i) => validateHistoryRecord(parse(s, i + 2), me, i + 2));
}

/**
 * Download, check and store the history `ref` points to. `onProgress` gets
 * the messages handled so far. Throws HISTORY_INVALID (or the download's
 * error) without storing anything when the export does not check out.
 */
export async function importHistory(
  ctx: Ctx,
  ref: HistoryRef,
  onProgress: (done: number, total: number) => void,
): Promise<{ imported: number; skipped: number }> {
  const blob = await ctx.http.downloadBlob(ref.blobId);
  if (blob.length !== ref.size) throw invalid('history blob has the wrong size');
  let plain: Uint8Array;
  try {
    plain = await decryptAttachment(blob, fromBase64(ref.key), fromBase64(ref.digest));
  } catch (err) {
    throw invalid('history blob does not decrypt (digest or key mismatch)', err);
  }
  const records = decodeHistory(await gunzip(plain, MAX_HISTORY_BYTES), ctx.account().username);
  if (records.length !== ref.count) throw invalid('history count does not match its reference');
  let imported = 0;
  let skipped = 0;
  // A freshly linked device has no messages yet: no per-message lookups then.
  const empty = (await ctx.store.listConversations()).length === 0;
  onProgress(0, records.length);
  for (let i = 0; i < records.length; i += IMPORT_BATCH) {
    const ops: StoreOp[] = [];
    const ids: string[] = [];
    for (const message of records.slice(i, i + IMPORT_BATCH)) {
      // Dedupe by id: what this device already has (a repeated import, a live message) stays.
      if (!empty && (await ctx.store.getMessage(message.id))) {
        skipped++;
        continue;
      }
      ops.push({ op: 'putMessage', message });
      ids.push(message.id);
    }
    if (ops.length > 0) {
      ops.push({ op: 'markSeen', ids, at: ctx.now() });
      await ctx.store.batch(ops);
      imported += ids.length;
    }
    onProgress(Math.min(records.length, i + IMPORT_BATCH), records.length);
  }
  return { imported, skipped };
}
