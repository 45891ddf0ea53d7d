/**
 * The encrypted payload: what travels inside every pairwise or group
 * ciphertext (PROTOCOL.md §12), part of the wire contract. Defined once here:
 * {@link encodePayload} and {@link decodePayload} are the only writer and reader
 * (the engine re-exports them from `@sotto/client`).
 *
 * Wire form: UTF-8 JSON object `{ "v": 1, "id", "ts", "kind", ...fields }`,
 * then padded with crypto's `pad` before encryption (the engine does that).
 * The decoder is strict about the fields it knows (types, lengths) and lenient
 * about what it does not: unknown fields are ignored and an unknown `kind`
 * decodes to `{ kind: 'unknown' }` with the raw object kept, so old clients
 * survive messages from newer ones.
 */
import type { PayloadBase } from './payload-base.ts';
import {
  CALL_KINDS,
  CallFieldError,
  decodeCallFields,
  isCallKind,
  type CallKind,
  type CallPayload,
} from './call.ts';
import { jsonBytes, utf8Text } from './json.ts';
import { MentionFieldError, decodeMentions, type Mention } from './mentions.ts';
import { ProfileFieldError, decodeProfileFields, type ProfileFields } from './profile.ts';
import { MarkFieldError, decodeForwarded, decodePinFields, type PinPayload } from './pins.ts';

// base64 in every runtime this package targets (browsers, Node ≥ 20); declared because the
// package compiles with `types: []` and no DOM lib.
declare function btoa(data: string): string;
declare function atob(data: string): string;

/** The payload format version this implementation writes and reads. */
export const PAYLOAD_VERSION = 1;

/** Largest encoded payload (before padding); leaves room for headers in a 256 KiB envelope. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Longest text of a message, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 16_000;

/** Largest side of a `file` payload's thumbnail, in pixels. */
export const MAX_THUMBNAIL_SIDE = 320;

/** Largest thumbnail image, in bytes (before base64url). */
export const MAX_THUMBNAIL_BYTES = 16 * 1024;

/** Image formats a thumbnail may use. */
export const THUMBNAIL_MIMES = ['image/jpeg', 'image/webp', 'image/png'] as const;

/** Containers a voice note may declare (Opus inside; PROTOCOL.md §12 "Voice notes"). */
export const VOICE_NOTE_MIMES = ['audio/webm', 'audio/ogg'] as const;

/** Longest voice note, in milliseconds (15 minutes). */
export const MAX_VOICE_NOTE_MS = 15 * 60 * 1000;

/** Most waveform samples a voice note carries (one byte each, 0..255). */
export const MAX_WAVEFORM_SAMPLES = 100;

/** Every reason {@link decodePayload} / {@link encodePayload} rejects a payload. */
export type PayloadErrorCode =
  /** Not UTF-8 JSON, or not an object. */
  | 'MALFORMED'
  /** `v` is not {@link PAYLOAD_VERSION}. */
  | 'UNSUPPORTED_VERSION'
  /** A known field is missing or has the wrong type or size. */
  | 'INVALID_FIELD'
  /** Larger than {@link MAX_PAYLOAD_BYTES}. */
  | 'OVERSIZED';

/** A payload that cannot be encoded or decoded; `code` says why. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
  constructor(
    readonly code: PayloadErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type { PayloadBase } from './payload-base.ts';

/** A chat message. */
export interface TextPayload extends PayloadBase {
  kind: 'text';
  text: string;
  /** Spans of `text` that name users (PROTOCOL.md §12 "Mentions"). */
  mentions?: Mention[];
  /** The content was copied from another message (PROTOCOL.md §12 "Forwarding"). */
  forwarded?: true;
}
/** A chat message quoting an earlier one. */
export interface ReplyPayload extends PayloadBase {
  kind: 'reply';
  text: string;
  replyTo: string;
  /** Spans of `text` that name users (PROTOCOL.md §12 "Mentions"). */
  mentions?: Mention[];
}
/** Set (`emoji`) or remove (`null`) the sender's reaction on `target`. */
export interface ReactionPayload extends PayloadBase {
  kind: 'reaction';
  target: string;
  emoji: string | null;
}
/** Replace the text of the sender's own message `target`. */
export interface EditPayload extends PayloadBase {
  kind: 'edit';
  target: string;
  text: string;
  /** Spans of the new `text` that name users; they replace the message's mentions. */
  mentions?: Mention[];
}
/** Delete the sender's own message `target` for everyone. */
export interface DeletePayload extends PayloadBase {
  kind: 'delete';
  target: string;
}
/**
 * Delivery, read or played receipt for message ids (never itself acknowledged). `played` is
 * for voice notes only: the recipient listened to it (implies `read`).
 */
export interface ReceiptPayload extends PayloadBase {
  kind: 'receipt';
  status: 'delivered' | 'read' | 'played';
  ids: string[];
}
/** Typing indicator (never stored, never acknowledged). */
export interface TypingPayload extends PayloadBase {
  kind: 'typing';
  typing: boolean;
  /** Conversation the typing happens in, when it is a group (`group:{id}`); DMs omit it. */
  conversation?: string;
}
/**
 * A small preview of an image attachment, made by the sender and carried inline
 * (inside the encrypted payload), so the receiver can show it before the full
 * image is downloaded.
 */
export interface FileThumbnail {
  mime: (typeof THUMBNAIL_MIMES)[number];
  /** Pixels, 1..{@link MAX_THUMBNAIL_SIDE}. */
  width: number;
  height: number;
  /** base64url of the image bytes (at most {@link MAX_THUMBNAIL_BYTES}). */
  data: string;
}

/**
 * What makes a `file` a voice note (PROTOCOL.md §12 "Voice notes"): its length and a loudness
 * outline computed by the sender from the recorded audio, so the receiver draws the waveform
 * before (and without) decoding the audio.
 */
export interface VoiceNote {
  /** Length in ms, 1..{@link MAX_VOICE_NOTE_MS}. */
  durationMs: number;
  /** base64url of 1..{@link MAX_WAVEFORM_SAMPLES} bytes, each a peak level 0 (silence)..255. */
  waveform: string;
}

/** An encrypted attachment: ciphertext in the key server's blob store. */
export interface FilePayload extends PayloadBase {
  kind: 'file';
  blobId: string;
  name: string;
  mime: string;
  /** Plaintext size in bytes. */
  size: number;
  /** base64url: the secretstream key (PROTOCOL.md §9). */
  key: string;
  /** base64url: BLAKE2b-256 of the ciphertext as uploaded. */
  hash: string;
  caption?: string;
  /** Sender-made preview of an image, or a video's first frame (older clients ignore it). */
  thumbnail?: FileThumbnail;
  /** Set when the file is a recorded voice note; `mime` is then one of {@link VOICE_NOTE_MIMES}. */
  voice?: VoiceNote;
  /** The attachment was copied from another message (PROTOCOL.md §12 "Forwarding"). */
  forwarded?: true;
}
/** A sender-key distribution for a group, sent pairwise to each member device (never shown). */
export interface SenderKeyPayload extends PayloadBase {
  kind: 'sender-key';
  groupId: string;
  /** base64url of crypto's encoded SenderKeyDistribution. */
  distribution: string;
}
/** A membership change was appended to a group's chain; fetch and verify it. */
export interface GroupChangePayload extends PayloadBase {
  kind: 'group-change';
  groupId: string;
  /** base64url of the encoded membership record, if the sender attaches it. */
  record?: string;
}
/** The sender's profile: display name and picture (profile.ts, PROTOCOL.md §12 "Profiles"). */
export interface ProfilePayload extends PayloadBase, ProfileFields {
  kind: 'profile';
}
/** A copy of a message this user sent from another device, for the user's own devices. */
export interface SyncPayload extends PayloadBase {
  kind: 'sync';
  /** Conversation the inner message was sent in (`dm:{user}` or `group:{id}`). */
  conversation: string;
  inner: Exclude<Payload, SyncPayload | UnknownPayload | CallPayload>;
}
/** Most messages one report carries. */
export const MAX_REPORTED_MESSAGES = 20;

/** One reported message as the reporter's device showed it. */
export interface ReportedMessage {
  /** The message id. */
  id: string;
  /** Who sent it (as the reporter's verified session said). */
  sender: string;
  /** The sender's timestamp (ms). */
  ts: number;
  /** The text shown (a file's name and caption for files). */
  text: string;
}

/**
 * An abuse report (issue 17; PROTOCOL.md "Reports"): sent by the reporter, pairwise encrypted,
 * to every device of every operator (and the reporter's own other devices). The key server only
 * has its metadata (`POST /v1/reports` under the same `reportId`).
 */
export interface ReportPayload extends PayloadBase {
  kind: 'report';
  /** The id filed with the key server. */
  reportId: string;
  /** The reported user. */
  reported: string;
  /** Where the messages were (`dm:{user}` or `group:{id}`). */
  conversation: string;
  /** The reporter's words, may be empty. */
  note: string;
  /** The reported messages, oldest first (1 to {@link MAX_REPORTED_MESSAGES}). */
  messages: ReportedMessage[];
}
/** A payload of a kind this version does not know: kept, not interpreted. */
export interface UnknownPayload extends PayloadBase {
  kind: 'unknown';
  /** The kind as sent. */
  originalKind: string;
  raw: Record<string, unknown>;
}

/** Every payload (one union over all kinds, PROTOCOL.md §12). */
export type Payload =
  | TextPayload
  | ReplyPayload
  | ReactionPayload
  | EditPayload
  | DeletePayload
  | ReceiptPayload
  | TypingPayload
  | FilePayload
  | SenderKeyPayload
  | GroupChangePayload
  | ProfilePayload
  | SyncPayload
  | ReportPayload
  | PinPayload
  | CallPayload
  | UnknownPayload;

/** Kinds this version understands. */
export const PAYLOAD_KINDS = [
  'text',
  'reply',
  'reaction',
  'edit',
  'delete',
  'receipt',
  'typing',
  'file',
  'sender-key',
  'group-change',
  'profile',
  'sync',
  'report',
  'pin',
  ...CALL_KINDS,
] as const;

/** One of {@link PAYLOAD_KINDS}. */
export type PayloadKind = (typeof PAYLOAD_KINDS)[number];

/** A payload without `id` and `ts` (filled by the engine). */
export type PayloadInput = Payload extends infer P
  ? P extends Payload
    ? Omit<P, 'id' | 'ts'>
    : never
  : never;

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const B64_PATTERN = /^[A-Za-z0-9_-]*$/;
const ENTITY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const CONVERSATION_PATTERN = /^(dm:[a-z0-9_]{3,32}|group:[A-Za-z0-9_-]{1,64})$/;
const USERNAME_IN_PAYLOAD = /^[a-z0-9_]{3,32}$/;

/** base64url (no padding) of bytes; no dependency on libsodium. */
function base64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A message id from 16 random bytes. The randomness is the caller's (this module has no source
 * of its own, like the rest of `@sotto/crypto`); `@sotto/client`'s `newMessageId` supplies the
 * platform's CSPRNG.
 */
export function messageIdFrom(random: (n: number) => Uint8Array): string {
  return base64url(random(16));
}

/** True for a well-formed message id. */
export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

type Obj = Record<string, unknown>;

function fail(field: string, why: string): never {
  throw new PayloadError('INVALID_FIELD', `payload field ${field} ${why}`);
}
function str(o: Obj, field: string, max: number, pattern?: RegExp): string {
  const v = o[field];
  if (typeof v !== 'string') fail(field, 'must be a string');
  if (v.length > max) fail(field, `is longer than ${max}`);
  if (pattern && !pattern.test(v)) fail(field, 'has an invalid format');
  return v;
}
function optStr(o: Obj, field: string, max: number): string | undefined {
  return o[field] === undefined ? undefined : str(o, field, max);
}
function int(o: Obj, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(field, 'must be a non-negative integer');
  }
  return v;
}
function msgId(o: Obj, field: string): string {
  return str(o, field, 22, ID_PATTERN);
}

/** Leading bytes of each thumbnail format (`null` = any byte). */
const IMAGE_MAGIC: Record<FileThumbnail['mime'], (number | null)[]> = {
  'image/jpeg': [0xff, 0xd8, 0xff],
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  // "RIFF" size "WEBP"
  'image/webp': [0x52, 0x49, 0x46, 0x46, null, null, null, null, 0x57, 0x45, 0x42, 0x50],
};

/** The first `n` bytes of base64url text (no padding). */
function leadingBytes(b64: string, n: number): Uint8Array {
  const chars = b64
    .slice(0, Math.ceil(n / 3) * 4)
    .replace(/-/g, '+')
    .replace(/_/g, '/');
  const bin = atob(chars + '='.repeat((4 - (chars.length % 4)) % 4));
  return Uint8Array.from(bin.slice(0, n), (c: string) => c.charCodeAt(0));
}

function thumbnail(o: Obj): FileThumbnail {
  const t = o.thumbnail;
  if (typeof t !== 'object' || t === null || Array.isArray(t))
    fail('thumbnail', 'must be an object');
  const th = t as Obj;
  const mime = th.mime;
  if (!(THUMBNAIL_MIMES as readonly unknown[]).includes(mime)) {
    fail('thumbnail.mime', `must be one of ${THUMBNAIL_MIMES.join(', ')}`);
  }
  const side = (field: 'width' | 'height'): number => {
    const v = th[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_THUMBNAIL_SIDE) {
      fail(`thumbnail.${field}`, `must be an integer from 1 to ${MAX_THUMBNAIL_SIDE}`);
    }
    return v;
  };
  const width = side('width');
  const height = side('height');
  const data = th.data;
  if (typeof data !== 'string' || !B64_PATTERN.test(data) || data.length % 4 === 1) {
    fail('thumbnail.data', 'must be base64url');
  }
  if (Math.floor((data.length * 3) / 4) > MAX_THUMBNAIL_BYTES) {
    fail('thumbnail.data', `is larger than ${MAX_THUMBNAIL_BYTES} bytes`);
  }
  const magic = IMAGE_MAGIC[mime as FileThumbnail['mime']];
  const head = leadingBytes(data, magic.length);
  if (head.length < magic.length || magic.some((b, i) => b !== null && head[i] !== b)) {
    fail('thumbnail.data', `is not a ${String(mime)} image`);
  }
  return { mime: mime as FileThumbnail['mime'], width, height, data };
}

function voice(o: Obj): VoiceNote {
  const v = o.voice;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('voice', 'must be an object');
  if (!(VOICE_NOTE_MIMES as readonly unknown[]).includes(o.mime)) {
    fail('mime', `of a voice note must be one of ${VOICE_NOTE_MIMES.join(', ')}`);
  }
  const vo = v as Obj;
  const durationMs = vo.durationMs;
  if (
    typeof durationMs !== 'number' ||
    !Number.isSafeInteger(durationMs) ||
    durationMs < 1 ||
    durationMs > MAX_VOICE_NOTE_MS
  ) {
    fail('voice.durationMs', `must be an integer from 1 to ${MAX_VOICE_NOTE_MS}`);
  }
  const waveform = vo.waveform;
  if (typeof waveform !== 'string' || !B64_PATTERN.test(waveform) || waveform.length % 4 === 1) {
    fail('voice.waveform', 'must be base64url');
  }
  const samples = Math.floor((waveform.length * 3) / 4);
  if (samples < 1 || samples > MAX_WAVEFORM_SAMPLES) {
    fail('voice.waveform', `must hold 1 to ${MAX_WAVEFORM_SAMPLES} samples`);
  }
  return { durationMs, waveform };
}

/** `decode()`, with a field error of mentions.ts or pins.ts made `INVALID_FIELD`. */
function fields<T>(decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof MentionFieldError || err instanceof MarkFieldError)
      throw new PayloadError('INVALID_FIELD', err.message, { cause: err });
    throw err;
  }
}

/** A text, reply or edit with its `mentions` field decoded (absent stays absent). */
function withMentions<P extends TextPayload | ReplyPayload | EditPayload>(o: Obj, p: P): P {
  const mentions = fields(() => decodeMentions(o.mentions, p.text));
  return mentions === undefined ? p : { ...p, mentions };
}

/** Decode the kind-specific fields of a known kind (strict) from a JSON object. */
function decodeKnown(o: Obj, base: PayloadBase, kind: PayloadKind, nested: boolean): Payload {
  if (isCallKind(kind)) return decodeCall(o, base, kind);
  switch (kind) {
    case 'text':
      return withMentions(o, {
        ...base,
        kind,
        text: str(o, 'text', MAX_TEXT_LENGTH),
        ...fields(() => decodeForwarded(o.forwarded)),
      });
    case 'reply':
      return withMentions(o, {
        ...base,
        kind,
        text: str(o, 'text', MAX_TEXT_LENGTH),
        replyTo: msgId(o, 'replyTo'),
      });
    case 'reaction': {
      const emoji = o.emoji === null ? null : str(o, 'emoji', 32);
      return { ...base, kind, target: msgId(o, 'target'), emoji };
    }
    case 'edit':
      return withMentions(o, {
        ...base,
        kind,
        target: msgId(o, 'target'),
        text: str(o, 'text', MAX_TEXT_LENGTH),
      });
    case 'pin':
      return { ...base, kind, ...fields(() => decodePinFields(o)) };
    case 'delete':
      return { ...base, kind, target: msgId(o, 'target') };
    case 'receipt': {
      const status = o.status;
      if (status !== 'delivered' && status !== 'read' && status !== 'played') {
        fail('status', 'must be delivered, read or played');
      }
      const ids = o.ids;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000) {
        fail('ids', 'must be a list of 1 to 1000 message ids');
      }
      if (!ids.every(isMessageId)) fail('ids', 'must hold message ids');
      return { ...base, kind, status, ids: ids };
    }
    case 'typing': {
      if (typeof o.typing !== 'boolean') fail('typing', 'must be a boolean');
      const p: TypingPayload = { ...base, kind, typing: o.typing };
      if (o.conversation !== undefined)
        p.conversation = str(o, 'conversation', 80, CONVERSATION_PATTERN);
      return p;
    }
    case 'file': {
      const p: FilePayload = {
        ...base,
        kind,
        blobId: str(o, 'blobId', 128, ENTITY_PATTERN),
        name: str(o, 'name', 255),
        mime: str(o, 'mime', 255),
        size: int(o, 'size'),
        key: str(o, 'key', 64, B64_PATTERN),
        hash: str(o, 'hash', 64, B64_PATTERN),
      };
      const caption = optStr(o, 'caption', MAX_TEXT_LENGTH);
      if (caption !== undefined) p.caption = caption;
      if (o.thumbnail !== undefined) p.thumbnail = thumbnail(o);
      if (o.voice !== undefined) p.voice = voice(o);
      return { ...p, ...fields(() => decodeForwarded(o.forwarded)) };
    }
    case 'sender-key':
      return {
        ...base,
        kind,
        groupId: str(o, 'groupId', 64, ENTITY_PATTERN),
        distribution: str(o, 'distribution', 4096, B64_PATTERN),
      };
    case 'group-change': {
      const p: GroupChangePayload = {
        ...base,
        kind,
        groupId: str(o, 'groupId', 64, ENTITY_PATTERN),
      };
      if (o.record !== undefined) p.record = str(o, 'record', 8192, B64_PATTERN);
      return p;
    }
    case 'profile':
      try {
        return { ...base, kind, ...decodeProfileFields(o) };
      } catch (err) {
        if (err instanceof ProfileFieldError)
          throw new PayloadError('INVALID_FIELD', err.message, { cause: err });
        throw err;
      }
    case 'report': {
      const list = o.messages;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_REPORTED_MESSAGES)
        fail('messages', `must be 1 to ${MAX_REPORTED_MESSAGES} messages`);
      const messages = (list as unknown[]).map((m): ReportedMessage => {
        if (typeof m !== 'object' || m === null || Array.isArray(m))
          fail('messages', 'must be objects');
        const e = m as Obj;
        return {
          id: msgId(e, 'id'),
          sender: str(e, 'sender', 32, USERNAME_IN_PAYLOAD),
          ts: int(e, 'ts'),
          text: str(e, 'text', MAX_TEXT_LENGTH),
        };
      });
      return {
        ...base,
        kind,
        reportId: msgId(o, 'reportId'),
        reported: str(o, 'reported', 32, USERNAME_IN_PAYLOAD),
        conversation: str(o, 'conversation', 80, CONVERSATION_PATTERN),
        note: str(o, 'note', 2000),
        messages,
      };
    }
    case 'sync': {
      if (nested) fail('inner', 'must not nest a sync payload');
      const conversation = str(o, 'conversation', 80, CONVERSATION_PATTERN);
      const innerRaw = o.inner;
      if (typeof innerRaw !== 'object' || innerRaw === null || Array.isArray(innerRaw)) {
        fail('inner', 'must be an object');
      }
      const inner = decodeObject(innerRaw as Obj, true);
      if (inner.kind === 'unknown' || inner.kind === 'sync') fail('inner', 'has an unknown kind');
      // Call signalling goes to one device at a time and is never copied to our own devices.
      if (isCallPayload(inner)) fail('inner', 'must not be call signalling');
      return { ...base, kind, conversation, inner };
    }
  }
}

function isCallPayload(p: Payload): p is CallPayload {
  return isCallKind(p.kind);
}

/** A call kind's fields (call.ts); its field errors become `INVALID_FIELD`. */
function decodeCall(o: Obj, base: PayloadBase, kind: CallKind): CallPayload {
  try {
    return { ...base, kind, ...decodeCallFields(kind, o) } as CallPayload;
  } catch (err) {
    if (err instanceof CallFieldError)
      throw new PayloadError('INVALID_FIELD', err.message, { cause: err });
    throw err;
  }
}

function decodeObject(o: Obj, nested: boolean): Payload {
  if (o.v !== PAYLOAD_VERSION) {
    throw new PayloadError(
      'UNSUPPORTED_VERSION',
      `payload version ${String(o.v)} is not ${PAYLOAD_VERSION}`,
    );
  }
  const base: PayloadBase = { id: msgId(o, 'id'), ts: int(o, 'ts') };
  const kind = str(o, 'kind', 64);
  if ((PAYLOAD_KINDS as readonly string[]).includes(kind)) {
    return decodeKnown(o, base, kind as PayloadKind, nested);
  }
  return { ...base, kind: 'unknown', originalKind: kind, raw: o };
}

function toObject(p: Payload): Obj {
  if (p.kind === 'unknown') return { ...p.raw };
  const { kind, id, ts, ...fields } = p;
  const o: Obj = { v: PAYLOAD_VERSION, id, ts, kind, ...fields };
  if (p.kind === 'sync') o.inner = toObject(p.inner);
  return o;
}

/**
 * Encode a payload to its UTF-8 JSON bytes (unpadded). The result is
 * validated by decoding it again, so nothing invalid ever leaves this module.
 *
 * @throws PayloadError INVALID_FIELD or OVERSIZED
 */
export function encodePayload(p: Payload): Uint8Array {
  const bytes = jsonBytes(toObject(p));
  if (bytes.length > MAX_PAYLOAD_BYTES) {
    throw new PayloadError(
      'OVERSIZED',
      `payload is ${bytes.length} bytes, over ${MAX_PAYLOAD_BYTES}`,
    );
  }
  decodePayload(bytes);
  return bytes;
}

/**
 * Decode payload bytes (already unpadded).
 *
 * @throws PayloadError MALFORMED, UNSUPPORTED_VERSION, INVALID_FIELD or OVERSIZED
 */
export function decodePayload(bytes: Uint8Array): Payload {
  if (bytes.length > MAX_PAYLOAD_BYTES) {
    throw new PayloadError(
      'OVERSIZED',
      `payload is ${bytes.length} bytes, over ${MAX_PAYLOAD_BYTES}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8Text(bytes));
  } catch (cause) {
    throw new PayloadError('MALFORMED', 'payload is not UTF-8 JSON', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PayloadError('MALFORMED', 'payload is not a JSON object');
  }
  return decodeObject(value as Obj, false);
}

/** True when `err` is a {@link PayloadError}, optionally of the given code. */
export function isPayloadError(err: unknown, code?: PayloadErrorCode): err is PayloadError {
  return err instanceof PayloadError && (code === undefined || err.code === code);
}
