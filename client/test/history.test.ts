/**
 * The history export format of linking (client/src/internal/history.ts):
 * well-formed exports decode to the records; every malformed one is
 * HISTORY_INVALID naming what is wrong, never a crash or a partial result.
 * Export → import between two memory stores (the blob kept in a map standing
 * in for the key server, which link-history.e2e uses for real): all messages
 * arrive, also past page edges of tied timestamps, and a repeated import
 * changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { ready, utf8 } from '@sotto/crypto';
import { isClientError } from '../src/errors.ts';
import type { HttpClient } from '../src/http.ts';
import type { Ctx } from '../src/internal/context.ts';
import { Emitter } from '../src/internal/emitter.ts';
import {
  decodeHistory,
  exportHistory,
  importHistory,
  parseHistoryRef,
} from '../src/internal/history.ts';
import type { AccountRecord, ClientStore, MessageRecord } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';

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

describe('history export and import', () => {
  const blobs = new Map<string, Uint8Array>();
  function ctxOf(store: ClientStore): Ctx {
    const http = {
      uploadBlob: async (bytes: Uint8Array) => {
        const id = (blobs.size + 1).toString(16).padStart(64, '0');
        blobs.set(id, bytes);
        return { id, size: bytes.length };
      },
      downloadBlob: async (id: string) => blobs.get(id)!,
    } as unknown as HttpClient;
    return {
      store,
      http,
      now: () => 1_800_000_000_000,
      events: new Emitter(),
      account: () => ({ username: ME }) as AccountRecord,
    } as unknown as Ctx;
  }

  it('copies every message, ties across page edges included; a second import skips them all', async () => {
    await ready();
    const from = createMemoryStore();
    // 1200 messages sharing one timestamp (more than a page of 500) plus a few later ones.
    const ms = Array.from({ length: 1210 }, (_, i) =>
      record({
        id: `m${String(i).padStart(21, '0')}`,
        conversationId: i % 2 ? 'dm:bob' : 'group:g1',
        timestamp: 1_700_000_000_000 + (i < 1200 ? 0 : i),
        body: { text: `message ${i}` },
      }),
    );
    await from.batch(ms.map((message) => ({ op: 'putMessage' as const, message })));
    const ref = (await exportHistory(ctxOf(from), 64 * 1024 * 1024))!;
    expect(ref).toMatchObject({ count: 1210, omitted: 0 });

    const to = createMemoryStore();
    const ctx = ctxOf(to);
    const seen: number[] = [];
    expect(await importHistory(ctx, ref, (done) => seen.push(done))).toEqual({
      imported: 1210,
      skipped: 0,
    });
    expect(seen.at(-1)).toBe(1210);
    expect((await to.listMessages('dm:bob', { limit: 2000 })).length).toBe(605);
    expect((await to.search('message 1209')).map((h) => h.message.id)).toContain(ms[1209]!.id);

    // A reaction added here after the first import survives a second one.
    await to.batch([{ op: 'react', messageId: ms[0]!.id, user: ME, emoji: '🎉' }]);
    expect(await importHistory(ctx, ref, () => undefined)).toEqual({ imported: 0, skipped: 1210 });
    expect((await to.getMessage(ms[0]!.id))!.reactions[ME]).toBe('🎉');
  });
});
