/** The encrypted payload codec (PROTOCOL.md §12). */
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  isMessageId,
  isPayloadError,
  MAX_THUMBNAIL_BYTES,
  MAX_VOICE_NOTE_MS,
  MAX_WAVEFORM_SAMPLES,
  newMessageId,
  type FilePayload,
  type Payload,
} from '../src/payload.ts';

const id = newMessageId();
const id2 = newMessageId();
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
/** A JPEG-looking thumbnail body of `n` bytes (SOI + APP0 marker, then filler). */
const jpeg = (n: number): string =>
  b64(Uint8Array.from({ length: n }, (_, i) => [0xff, 0xd8, 0xff, 0xe0][i] ?? i % 251));
const webp = b64(
  Uint8Array.from(
    [...'RIFF']
      .map((c) => c.charCodeAt(0))
      .concat(
        [1, 0, 0, 0],
        [...'WEBPVP8 '].map((c) => c.charCodeAt(0)),
      ),
  ),
);
const fileBase: FilePayload = {
  id,
  ts: 1,
  kind: 'file',
  blobId: 'b1',
  name: 'a.png',
  mime: 'image/png',
  size: 10,
  key: 'AAAA',
  hash: 'BBBB',
};
const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return isPayloadError(e) ? e.code : 'not-a-payload-error';
  }
  return undefined;
};

describe('payload codec', () => {
  it('makes 22-character base64url message ids from 16 random bytes', () => {
    expect(isMessageId(id)).toBe(true);
    expect(newMessageId(() => new Uint8Array(16).fill(255))).toBe('_____________________w');
    expect(id).not.toBe(id2);
  });

  const samples: Payload[] = [
    { id, ts: 1, kind: 'text', text: 'héllo 👋' },
    { id, ts: 1, kind: 'reply', text: 'yes', replyTo: id2 },
    { id, ts: 1, kind: 'reaction', target: id2, emoji: '👍' },
    { id, ts: 1, kind: 'reaction', target: id2, emoji: null },
    { id, ts: 1, kind: 'edit', target: id2, text: 'fixed' },
    { id, ts: 1, kind: 'delete', target: id2 },
    { id, ts: 1, kind: 'receipt', status: 'read', ids: [id2, id] },
    { id, ts: 1, kind: 'typing', typing: true, conversation: 'group:abc' },
    {
      id,
      ts: 1,
      kind: 'file',
      blobId: 'b1',
      name: 'a.png',
      mime: 'image/png',
      size: 10,
      key: 'AAAA',
      hash: 'BBBB',
      caption: 'look',
    },
    { ...fileBase, thumbnail: { mime: 'image/jpeg', width: 320, height: 180, data: jpeg(3000) } },
    { ...fileBase, thumbnail: { mime: 'image/webp', width: 1, height: 1, data: webp } },
    { id, ts: 1, kind: 'sender-key', groupId: 'g_1', distribution: 'AQID' },
    { id, ts: 1, kind: 'group-change', groupId: 'g_1', record: 'AQID' },
    { id, ts: 1, kind: 'profile', displayName: 'Alice' },
    {
      id,
      ts: 1,
      kind: 'sync',
      conversation: 'dm:bob',
      inner: { id: id2, ts: 2, kind: 'text', text: 'to bob' },
    },
  ];
  for (const p of samples) {
    it(`round-trips a ${p.kind} payload exactly`, () => {
      expect(decodePayload(encodePayload(p))).toEqual(p);
    });
  }

  it('keeps an unknown kind as raw data instead of failing, and re-encodes it unchanged', () => {
    const raw = { v: 1, id, ts: 5, kind: 'poll', question: 'lunch?', options: ['a', 'b'] };
    const p = decodePayload(enc(raw));
    expect(p).toEqual({ id, ts: 5, kind: 'unknown', originalKind: 'poll', raw });
    expect(JSON.parse(new TextDecoder().decode(encodePayload(p)))).toEqual(raw);
  });

  it('ignores unknown fields on known kinds (newer senders may add fields)', () => {
    expect(decodePayload(enc({ v: 1, id, ts: 5, kind: 'text', text: 'x', color: 'red' }))).toEqual({
      id,
      ts: 5,
      kind: 'text',
      text: 'x',
    });
  });

  it('rejects bytes that are not a UTF-8 JSON object as MALFORMED', () => {
    expect(code(() => decodePayload(Uint8Array.of(0xff, 0xfe)))).toBe('MALFORMED');
    expect(code(() => decodePayload(enc([1, 2])))).toBe('MALFORMED');
    expect(code(() => decodePayload(enc('text')))).toBe('MALFORMED');
    expect(code(() => decodePayload(new TextEncoder().encode('{"v":1,')))).toBe('MALFORMED');
  });

  it('rejects another format version as UNSUPPORTED_VERSION', () => {
    expect(code(() => decodePayload(enc({ v: 2, id, ts: 1, kind: 'text', text: 'x' })))).toBe(
      'UNSUPPORTED_VERSION',
    );
  });

  it('rejects wrong field types and formats as INVALID_FIELD', () => {
    const bad = [
      { v: 1, id: 'short', ts: 1, kind: 'text', text: 'x' },
      { v: 1, id, ts: -1, kind: 'text', text: 'x' },
      { v: 1, id, ts: 1, kind: 'text', text: 5 },
      { v: 1, id, ts: 1, kind: 'text', text: 'x'.repeat(16_001) },
      { v: 1, id, ts: 1, kind: 'reply', text: 'x', replyTo: 'nope' },
      { v: 1, id, ts: 1, kind: 'receipt', status: 'seen', ids: [id] },
      { v: 1, id, ts: 1, kind: 'receipt', status: 'read', ids: [] },
      { v: 1, id, ts: 1, kind: 'typing', typing: 'yes' },
      {
        v: 1,
        id,
        ts: 1,
        kind: 'file',
        blobId: 'b',
        name: 'n',
        mime: 'm',
        size: 1.5,
        key: 'a',
        hash: 'b',
      },
      {
        v: 1,
        id,
        ts: 1,
        kind: 'sync',
        conversation: 'dm:bob',
        inner: { v: 1, id, ts: 1, kind: 'sync', conversation: 'dm:bob', inner: {} },
      },
      {
        v: 1,
        id,
        ts: 1,
        kind: 'sync',
        conversation: 'dm:b/c',
        inner: { v: 1, id, ts: 1, kind: 'text', text: 'x' },
      },
    ];
    for (const b of bad)
      expect(
        code(() => decodePayload(enc(b))),
        JSON.stringify(b).slice(0, 80),
      ).toBe('INVALID_FIELD');
  });

  it('validates a file thumbnail: format, size in pixels and bytes, image signature', () => {
    const raw = (thumbnail: unknown) => enc({ ...fileBase, v: 1, thumbnail });
    const ok = { mime: 'image/jpeg', width: 10, height: 10, data: jpeg(100) };
    expect(decodePayload(raw(ok))).toEqual({ ...fileBase, thumbnail: ok });
    expect(decodePayload(raw({ ...ok, data: jpeg(MAX_THUMBNAIL_BYTES) }))).toMatchObject({
      kind: 'file',
    });
    const bad = [
      'data:image/jpeg;base64,AAAA',
      [ok],
      { ...ok, mime: 'image/gif' },
      { ...ok, mime: 'image/svg+xml' },
      { ...ok, width: 0 },
      { ...ok, height: 321 },
      { ...ok, width: 10.5 },
      { ...ok, width: '10' },
      { ...ok, data: undefined },
      { ...ok, data: 'not base64!' },
      { ...ok, data: jpeg(MAX_THUMBNAIL_BYTES + 1) },
      { ...ok, data: b64(new TextEncoder().encode('<svg onload=alert(1)>')) },
      { ...ok, data: '' },
      { ...ok, mime: 'image/png' },
      { ...ok, mime: 'image/webp', data: b64(new TextEncoder().encode('RIFF....WAVE')) },
    ];
    for (const t of bad)
      expect(
        code(() => decodePayload(raw(t))),
        JSON.stringify(t).slice(0, 60),
      ).toBe('INVALID_FIELD');
    expect(
      code(() => encodePayload({ ...fileBase, thumbnail: { ...ok, height: 400 } as never })),
    ).toBe('INVALID_FIELD');
  });

  it('decodes a voice note (Opus container, length, waveform) and a played receipt', () => {
    const voice = { durationMs: 4200, waveform: b64(Uint8Array.from([0, 17, 255, 128])) };
    const note = { ...fileBase, name: 'voice.webm', mime: 'audio/webm', voice };
    expect(decodePayload(encodePayload(note))).toEqual(note);
    const ogg = { ...note, mime: 'audio/ogg' };
    expect(decodePayload(encodePayload(ogg))).toEqual(ogg);
    const played: Payload = { id, ts: 1, kind: 'receipt', status: 'played', ids: [id2] };
    expect(decodePayload(encodePayload(played))).toEqual(played);
  });

  it('validates a voice note: container type, length bounds, waveform samples', () => {
    const raw = (over: Record<string, unknown>) =>
      enc({ ...fileBase, v: 1, mime: 'audio/webm', ...over });
    const ok = { durationMs: 1000, waveform: b64(new Uint8Array(MAX_WAVEFORM_SAMPLES)) };
    expect(decodePayload(raw({ voice: ok }))).toMatchObject({ voice: ok });
    const bad: Record<string, unknown>[] = [
      { voice: ok, mime: 'image/png' }, // a "voice note" that is not audio
      { voice: ok, mime: 'audio/webm;codecs=opus' }, // the bare container only
      { voice: ok, mime: 'video/webm' },
      { voice: 'yes' },
      { voice: [] },
      { voice: { ...ok, durationMs: 0 } },
      { voice: { ...ok, durationMs: MAX_VOICE_NOTE_MS + 1 } },
      { voice: { ...ok, durationMs: 1.5 } },
      { voice: { ...ok, durationMs: '1000' } },
      { voice: { ...ok, waveform: '' } },
      { voice: { ...ok, waveform: b64(new Uint8Array(MAX_WAVEFORM_SAMPLES + 1)) } },
      { voice: { ...ok, waveform: 'a+b/' } },
      { voice: { ...ok, waveform: 7 } },
      { voice: { durationMs: 1000 } },
    ];
    for (const o of bad)
      expect(
        code(() => decodePayload(raw(o))),
        JSON.stringify(o).slice(0, 80),
      ).toBe('INVALID_FIELD');
    expect(
      code(() =>
        decodePayload(enc({ v: 1, id, ts: 1, kind: 'receipt', status: 'heard', ids: [id] })),
      ),
    ).toBe('INVALID_FIELD');
  });

  it('refuses to encode a payload over the size limit as OVERSIZED', () => {
    const big: Payload = {
      id,
      ts: 1,
      kind: 'unknown',
      originalKind: 'x',
      raw: { v: 1, id, ts: 1, kind: 'x', blob: 'a'.repeat(70_000) },
    };
    expect(code(() => encodePayload(big))).toBe('OVERSIZED');
    expect(code(() => decodePayload(new Uint8Array(70_000)))).toBe('OVERSIZED');
  });

  it('refuses to encode an invalid payload', () => {
    expect(code(() => encodePayload({ id: 'x', ts: 1, kind: 'text', text: 'a' }))).toBe(
      'INVALID_FIELD',
    );
  });
});
