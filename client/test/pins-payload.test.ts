/** The `pin` kind, the `forwarded` flag and an edit's mentions in the payload codec (PROTOCOL.md §12). */
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload, isPayloadError, newMessageId } from '../src/payload.ts';

const id = newMessageId();
const target = newMessageId();
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const decode = (o: Record<string, unknown>) => decodePayload(enc({ v: 1, id, ts: 1, ...o }));
const codeOf = (o: Record<string, unknown>): string => {
  try {
    decode(o);
    return 'decoded';
  } catch (err) {
    return isPayloadError(err) ? err.code : String(err);
  }
};

describe('pins, forwards and edits in the payload', () => {
  it('round-trips a pin and an unpin', () => {
    for (const action of ['pin', 'unpin'] as const) {
      const back = decodePayload(encodePayload({ id, ts: 2, kind: 'pin', target, action }));
      expect(back).toEqual({ id, ts: 2, kind: 'pin', target, action });
    }
  });

  it('refuses a pin without a message id or with another action as INVALID_FIELD', () => {
    expect(codeOf({ kind: 'pin', target: 'nope', action: 'pin' })).toBe('INVALID_FIELD');
    expect(codeOf({ kind: 'pin', target, action: 'toggle' })).toBe('INVALID_FIELD');
    expect(codeOf({ kind: 'pin', action: 'pin' })).toBe('INVALID_FIELD');
  });

  it('keeps `forwarded: true` on a text and a file, absent when absent, and refuses any other value', () => {
    const t = decode({ kind: 'text', text: 'x', forwarded: true });
    expect(t.kind === 'text' && t.forwarded).toBe(true);
    expect('forwarded' in decode({ kind: 'text', text: 'x' })).toBe(false);
    const file = {
      kind: 'file',
      blobId: 'blob1',
      name: 'a.txt',
      mime: 'text/plain',
      size: 1,
      key: 'AAAA',
      hash: 'AAAA',
    };
    const f = decode({ ...file, forwarded: true });
    expect(f.kind === 'file' && f.forwarded).toBe(true);
    for (const forwarded of [false, 'yes', 1, { from: 'alice' }])
      expect(codeOf({ kind: 'text', text: 'x', forwarded })).toBe('INVALID_FIELD');
  });

  it('carries mentions on an edit, checked against its new text', () => {
    const e = decode({
      kind: 'edit',
      target,
      text: 'hi @bob',
      mentions: [
        { start: 3, length: 4, user: 'bob' },
        { start: 9, length: 4, user: 'eve' },
      ],
    });
    expect(e.kind === 'edit' && e.mentions).toEqual([{ start: 3, length: 4, user: 'bob' }]);
    expect(codeOf({ kind: 'edit', target, text: 'x', mentions: 'bob' })).toBe('INVALID_FIELD');
  });
});
