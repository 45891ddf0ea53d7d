/** Mentions in `text` and `reply` payloads (PROTOCOL.md §12 "Mentions"). */
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  isPayloadError,
  MAX_MENTIONS,
  mentionsOfMembers,
  newMessageId,
  type Payload,
} from '../src/payload.ts';

const id = newMessageId();
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const text = (mentions: unknown, t = 'hi @bob and @carol') =>
  decodePayload(enc({ v: 1, id, ts: 1, kind: 'text', text: t, mentions }));

describe('mentions in the payload', () => {
  it('round-trips mentions of a text and a reply, in text order', () => {
    const p: Payload = {
      id,
      ts: 5,
      kind: 'reply',
      text: 'hi @bob and @carol',
      replyTo: newMessageId(),
      mentions: [
        { start: 12, length: 6, user: 'carol' },
        { start: 3, length: 4, user: 'bob' },
      ],
    };
    const back = decodePayload(encodePayload(p));
    expect(back.kind === 'reply' && back.mentions).toEqual([
      { start: 3, length: 4, user: 'bob' },
      { start: 12, length: 6, user: 'carol' },
    ]);
  });

  it('leaves a text without mentions without the field', () => {
    const p = decodePayload(enc({ v: 1, id, ts: 1, kind: 'text', text: 'plain' }));
    expect('mentions' in p).toBe(false);
  });

  it('drops a mention past the end of the text, keeps the message and the other mentions', () => {
    const p = text([
      { start: 3, length: 4, user: 'bob' },
      { start: 16, length: 9, user: 'mallory' },
      { start: 1_000_000, length: 4, user: 'eve' },
    ]);
    expect(p.kind === 'text' && p.text).toBe('hi @bob and @carol');
    expect(p.kind === 'text' && p.mentions).toEqual([{ start: 3, length: 4, user: 'bob' }]);
  });

  it('drops a mention that does not start at an “@” or overlaps another', () => {
    const p = text([
      { start: 0, length: 2, user: 'bob' },
      { start: 3, length: 4, user: 'bob' },
      { start: 4, length: 3, user: 'carol' },
    ]);
    expect(p.kind === 'text' && p.mentions).toEqual([{ start: 3, length: 4, user: 'bob' }]);
  });

  it('refuses malformed mention lists as INVALID_FIELD', () => {
    const bad: unknown[] = [
      'bob',
      [{ start: -1, length: 4, user: 'bob' }],
      [{ start: 3, length: 4.5, user: 'bob' }],
      [{ start: 3, length: 4, user: 'Bob!' }],
      [{ start: 3, length: 4 }],
      [null],
      Array.from({ length: MAX_MENTIONS + 1 }, () => ({ start: 3, length: 4, user: 'bob' })),
    ];
    for (const mentions of bad) {
      let code = '';
      try {
        text(mentions);
      } catch (err) {
        code = isPayloadError(err) ? err.code : String(err);
      }
      expect(code, JSON.stringify(mentions).slice(0, 60)).toBe('INVALID_FIELD');
    }
  });

  it('keeps only mentions of the conversation’s members', () => {
    const mentions = [
      { start: 3, length: 4, user: 'bob' },
      { start: 12, length: 6, user: 'carol' },
    ];
    expect(mentionsOfMembers(mentions, new Set(['alice', 'bob']))).toEqual([mentions[0]]);
    expect(mentionsOfMembers(undefined, new Set(['alice']))).toEqual([]);
  });
});
