/** The call signalling payloads of the codec (PROTOCOL.md §12.1). */
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  isPayloadError,
  newMessageId,
  sdpFingerprints,
  type Payload,
} from '../src/payload.ts';

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const hex = (seed: number): string =>
  Array.from({ length: 32 }, (_, i) => ((i * 7 + seed) % 256).toString(16).padStart(2, '0'))
    .join(':')
    .toUpperCase();
const FP = `sha-256 ${hex(1)}`;
const OTHER = `sha-256 ${hex(2)}`;
/** A minimal SDP as Chromium writes it, with one fingerprint line per media section. */
const sdp = (fp: string, sections = 2): string =>
  [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    ...Array.from({ length: sections }, (_, i) => [
      `m=${i === 0 ? 'audio' : 'video'} 9 UDP/TLS/RTP/SAVPF 111`,
      `a=fingerprint:${fp}`,
      `a=mid:${i}`,
    ]).flat(),
    '',
  ].join('\r\n');
const base = () => ({ id: newMessageId(), ts: 1 });
const wire = () => ({ v: 1, ...base() });
const callId = newMessageId();

function rejects(o: unknown, match: RegExp): void {
  let err: unknown;
  try {
    decodePayload(enc(o));
  } catch (e) {
    err = e;
  }
  expect(isPayloadError(err, 'INVALID_FIELD'), String(err)).toBe(true);
  expect((err as Error).message).toMatch(match);
}

describe('call signalling payloads', () => {
  it('round-trips every call kind', () => {
    const list: Payload[] = [
      { ...base(), kind: 'call-offer', callId, media: 'video', sdp: sdp(FP), fingerprint: FP },
      {
        ...base(),
        kind: 'call-offer',
        callId,
        media: 'audio',
        sdp: sdp(FP, 1),
        fingerprint: FP,
        conversation: 'group:abc',
      },
      { ...base(), kind: 'call-answer', callId, sdp: sdp(FP), fingerprint: FP },
      {
        ...base(),
        kind: 'call-ice',
        callId,
        candidates: [
          {
            candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host',
            sdpMid: '0',
            sdpMLineIndex: 0,
          },
          { candidate: '', sdpMid: null, sdpMLineIndex: null },
        ],
      },
      { ...base(), kind: 'call-hangup', callId, reason: 'answered-elsewhere' },
      { ...base(), kind: 'call-busy', callId },
    ];
    for (const p of list) expect(decodePayload(encodePayload(p))).toEqual(p);
  });

  it('refuses an offer or answer whose SDP states a fingerprint other than the one it claims', () => {
    const mixed = sdp(FP).replace(
      `a=fingerprint:${FP}\r\na=mid:1`,
      `a=fingerprint:${OTHER}\r\na=mid:1`,
    );
    expect(sdpFingerprints(mixed)).toEqual([FP, OTHER]);
    for (const kind of ['call-offer', 'call-answer']) {
      rejects(
        { ...wire(), kind, callId, media: 'video', sdp: sdp(OTHER), fingerprint: FP },
        /fingerprint other than/,
      );
      rejects(
        { ...wire(), kind, callId, media: 'video', sdp: mixed, fingerprint: FP },
        /fingerprint other than/,
      );
      rejects(
        { ...wire(), kind, callId, media: 'video', sdp: 'v=0\r\n', fingerprint: FP },
        /no DTLS fingerprint/,
      );
      rejects(
        { ...wire(), kind, callId, media: 'video', sdp: sdp(FP), fingerprint: 'sha-1 AA:BB' },
        /fingerprint must be/,
      );
    }
  });

  it('compares fingerprints without regard to the case of the SDP line', () => {
    const lower = sdp(FP).replace(
      /a=fingerprint:sha-256 ([0-9A-F:]+)/g,
      (_, h: string) => `a=fingerprint:SHA-256 ${h.toLowerCase()}`,
    );
    const p = decodePayload(
      enc({ ...wire(), kind: 'call-answer', callId, sdp: lower, fingerprint: FP }),
    );
    expect(p.kind).toBe('call-answer');
  });

  it('refuses malformed call fields with INVALID_FIELD', () => {
    rejects({ ...wire(), kind: 'call-busy', callId: 'short' }, /callId/);
    rejects({ ...wire(), kind: 'call-hangup', callId, reason: 'bored' }, /reason/);
    rejects(
      { ...wire(), kind: 'call-offer', callId, media: 'fax', sdp: sdp(FP), fingerprint: FP },
      /media/,
    );
    rejects(
      {
        ...wire(),
        kind: 'call-offer',
        callId,
        media: 'audio',
        sdp: sdp(FP),
        fingerprint: FP,
        conversation: 'dm:bob',
      },
      /conversation/,
    );
    rejects(
      {
        ...wire(),
        kind: 'call-offer',
        callId,
        media: 'audio',
        sdp: sdp(FP) + 'x'.repeat(24_000),
        fingerprint: FP,
      },
      /sdp/,
    );
    rejects({ ...wire(), kind: 'call-ice', callId, candidates: [] }, /candidates/);
    rejects(
      {
        ...wire(),
        kind: 'call-ice',
        callId,
        candidates: [{ candidate: 'candidate:1\r\na=evil', sdpMid: '0', sdpMLineIndex: 0 }],
      },
      /one line/,
    );
    rejects(
      {
        ...wire(),
        kind: 'call-ice',
        callId,
        candidates: Array.from({ length: 21 }, () => ({
          candidate: '',
          sdpMid: null,
          sdpMLineIndex: null,
        })),
      },
      /candidates/,
    );
  });

  it('refuses call signalling inside a sync copy', () => {
    rejects(
      {
        ...wire(),
        kind: 'sync',
        conversation: 'dm:bob',
        inner: { ...wire(), kind: 'call-busy', callId },
      },
      /call signalling/,
    );
  });
});
