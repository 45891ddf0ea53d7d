/**
 * The history export format of linking (client/src/internal/history.ts):
 * well-formed exports decode to the records; every malformed one is
 * HISTORY_INVALID naming what is wrong, never a crash or a partial result.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '@sotto/crypto';
import { isClientError } from '../src/errors.ts';
import { decodeHistory, parseHistoryRef } from '../src/internal/history.ts';
import type { MessageRecord } from '../src/store/types.ts';

const ME = 'alice';

function record(over: Partial<MessageRecord> = {}): MessageRecord {
  return {
    conversationId: 'dm:bob',
    id: 'AAAAAAAAAAAAAAAAAAAAAA',
    sender: 'bob',
    senderDevice: 'd1',
    timestamp: 1_700_000_000_000,
    receivedAt: 1_700_000_000_100,
    kind: 'text',
    body: { text: 'hi' },
    outgoing: false,
    unread: false,
    status: {},
    edited: false,
    deleted: false,
    reactions: { alice: '👍' },
    ...over,
  };
}

function exportOf(
  records: unknown[],
  header: unknown = { v: 1, count: records.length },
): Uint8Array {
  return utf8([header, ...records].map((r) => JSON.stringify(r)).join('\n') + '\n');
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (isClientError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'ok';
}

describe('history export format', () => {
  it('decodes records, edited and outgoing ones included', () => {
    const rs = [
      record(),
      record({
        id: 'BBBBBBBBBBBBBBBBBBBBBB',
        sender: ME,
        outgoing: true,
        status: { 'bob:d1': 'read' },
        edited: true,
        editedAt: 1_700_000_001_000,
      }),
    ];
    expect(decodeHistory(exportOf(rs), ME)).toEqual(rs);
  });

  it.each<[string, unknown[], unknown?]>([
    ['unknown version', [record()], { v: 2, count: 1 }],
    ['count does not match', [record()], { v: 1, count: 2 }],
    ['not an object', [42]],
    ['bad conversationId', [record({ conversationId: 'chat:bob' })]],
    ['bad id', [record({ id: '' })]],
    ['bad timestamp', [record({ timestamp: -1 })]],
    ['bad body', [record({ body: 'hi' as unknown as Record<string, unknown> })]],
    ['outgoing does not match', [record({ outgoing: true })]],
    ['bad status', [record({ status: { 'bob:d1': 'seen' as 'read' } })]],
    ['bad reactions', [record({ reactions: { bob: 1 as unknown as string } })]],
    ['bad senderKind', [record({ senderKind: 'robot' as 'bot' })]],
  ])('refuses %s', (what, records, header) => {
    const bytes = exportOf(records, header ?? { v: 1, count: records.length });
    const result = codeOf(() => decodeHistory(bytes, ME));
    expect(result).toMatch(/^HISTORY_INVALID: /);
    expect(result).toContain(what);
  });

  it('refuses a line that is not JSON', () => {
    const bytes = utf8('{"v":1,"count":1}\n{"id":\n');
    expect(codeOf(() => decodeHistory(bytes, ME))).toBe(
      'HISTORY_INVALID: history line 2: not JSON',
    );
  });

  it('parses a history reference or refuses a malformed one', () => {
    const ref = {
      blobId: 'a'.repeat(64),
      key: 'k',
      digest: 'd',
      size: 10,
      count: 2,
      omitted: 0,
    };
    expect(parseHistoryRef(ref)).toEqual(ref);
    expect(parseHistoryRef(undefined)).toBeUndefined();
    expect(codeOf(() => parseHistoryRef({ ...ref, blobId: '../x' }))).toMatch(/^HISTORY_INVALID/);
    expect(codeOf(() => parseHistoryRef({ ...ref, count: -1 }))).toMatch(/^HISTORY_INVALID/);
  });
});
