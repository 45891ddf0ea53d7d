import { afterEach, describe, expect, it } from 'vitest';
import {
  HistoryStore,
  overallStatus,
  previewOf,
  reactionGroups,
  mergeLastPage,
  placeNew,
  reuseUnchanged,
} from '../src/services/history.ts';
import { freshStore, message, putMessages } from './support/fixtures.ts';

const stores: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

function open() {
  const { store } = freshStore();
  stores.push(store);
  return { store, history: new HistoryStore(store) };
}

describe('message helpers', () => {
  it('shows read only when every recipient user has read', () => {
    const m = message({
      id: 'a',
      outgoing: true,
      status: { 'bob:d1': 'read', 'carol:d1': 'delivered' },
    });
    expect(overallStatus(m)).toBe('delivered');
    expect(
      overallStatus({ ...m, status: { 'bob:d1': 'read', 'bob:d2': 'sent', 'carol:d1': 'read' } }),
    ).toBe('read');
    expect(overallStatus({ ...m, status: {} })).toBe('pending');
    expect(overallStatus({ ...m, status: { 'bob:d1': 'sent' } })).toBe('sent');
  });

  it('groups reactions by emoji', () => {
    const m = message({ id: 'a', reactions: { bob: '👍', carol: '👍', dan: '❤️' } });
    expect([...reactionGroups(m).entries()]).toEqual([
      ['👍', ['bob', 'carol']],
      ['❤️', ['dan']],
    ]);
  });

  it('previews files, deletions and long text', () => {
    expect(previewOf(message({ id: 'a', deleted: true }))).toBe('Message deleted');
    expect(
      previewOf(message({ id: 'a', kind: 'file', body: { name: 'cat.png', mime: 'image/png' } })),
    ).toBe('Photo: cat.png');
    expect(previewOf(message({ id: 'a', body: { text: 'x'.repeat(300) } })).length).toBe(120);
  });

  it('keeps the objects of unchanged messages across a re-read, and says when nothing changed', async () => {
    const { store, history } = open();
    await putMessages(store, [
      message({ id: 'a', timestamp: 1, unread: true }),
      message({ id: 'b', timestamp: 2, outgoing: true, status: { 'bob:d1': 'sent' } }),
      message({ id: 'c', timestamp: 3 }),
    ]);
    const shown = await history.range('dm:bob', 0, 10);
    const same = reuseUnchanged(shown, await history.range('dm:bob', 0, 10));
    expect(same.changed).toBe(false);
    expect(same.rows.every((m, i) => m === shown[i])).toBe(true);

    // Read locally (not shown), one receipt, one reaction, one edit, one new message at the end.
    await store.batch([
      { op: 'markConversationRead', conversationId: 'dm:bob' },
      { op: 'setReceipt', messageId: 'b', recipient: 'bob:d1', status: 'read' },
      { op: 'react', messageId: 'c', user: 'bob', emoji: '👍' },
      { op: 'putMessage', message: message({ id: 'd', timestamp: 4 }) },
    ]);
    const next = reuseUnchanged(shown, await history.range('dm:bob', 0, 10));
    expect(next.changed).toBe(true);
    expect(next.rows.map((m) => m.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(next.rows[0]).toBe(shown[0]);
    expect(next.rows[1]).not.toBe(shown[1]);
    expect(next.rows[1]!.status).toEqual({ 'bob:d1': 'read' });
    expect(next.rows[2]!.reactions).toEqual({ bob: '👍' });

    await store.batch([
      { op: 'editMessage', messageId: 'a', body: { text: 'edited' }, editedAt: 9 },
    ]);
    const edited = reuseUnchanged(next.rows, await history.range('dm:bob', 0, 10));
    expect(edited.changed).toBe(true);
    expect(edited.rows[0]!.body).toEqual({ text: 'edited' });
    expect(edited.rows.slice(1)).toEqual(next.rows.slice(1));
    expect(edited.rows[3]).toBe(next.rows[3]);
    expect(reuseUnchanged(undefined, shown)).toEqual({ rows: shown, changed: true });
  });
});

describe('HistoryStore', () => {
  it('reads any window of a 600-message conversation in time order', async () => {
    const { store, history } = open();
    const t0 = 1_700_000_000_000;
    await putMessages(
      store,
      Array.from({ length: 600 }, (_, i) =>
        message({ id: `m${String(i).padStart(5, '0')}`, timestamp: t0 + i }),
      ),
    );
    expect(await history.count('dm:bob')).toBe(600);
    const rows = await history.range('dm:bob', 500, 3);
    expect(rows.map((r) => r.id)).toEqual(['m00500', 'm00501', 'm00502']);
    expect(
      await history.indexOf({ conversationId: 'dm:bob', timestamp: t0 + 321, id: 'm00321' }),
    ).toBe(321);
    expect(await history.count('dm:carol')).toBe(0);
  }, 60_000);

  it('lists conversations newest first with groups and pending DMs', async () => {
    const { store, history } = open();
    await putMessages(store, [
      message({ id: 'a', conversationId: 'dm:bob', timestamp: 10, unread: true }),
      message({ id: 'b', conversationId: 'dm:carol', timestamp: 20, body: { text: 'latest' } }),
    ]);
    await store.batch([
      {
        op: 'putGroup',
        group: {
          groupId: 'g1',
          name: 'Team',
          chain: [],
          members: ['alice', 'bob'],
          admins: ['alice'],
          updatedAt: 5,
        },
      },
    ]);
    const rows = await history.conversations(['dave']);
    expect(rows.map((r) => [r.id, r.title, r.unread])).toEqual([
      ['dm:carol', 'carol', 0],
      ['dm:bob', 'bob', 1],
      ['group:g1', 'Team', 0],
      ['dm:dave', 'dave', 0],
    ]);
    expect(rows[0]?.preview).toBe('latest');
  });

  it('returns unread incoming messages for read receipts', async () => {
    const { store, history } = open();
    await putMessages(store, [
      message({ id: 'a', timestamp: 1, unread: true }),
      message({ id: 'b', timestamp: 2, unread: false }),
      message({ id: 'c', timestamp: 3, unread: true }),
      message({ id: 'd', timestamp: 4, outgoing: true, sender: 'alice' }),
    ]);
    expect((await history.unreadIncoming('dm:bob')).map((m) => m.id)).toEqual(['a', 'c']);
    expect(await history.totalUnread()).toBe(2);
  });

  it('finds messages by words through the engine index', async () => {
    const { store, history } = open();
    await putMessages(store, [
      message({ id: 'a', body: { text: 'meet at the station' } }),
      message({ id: 'b', body: { text: 'lunch tomorrow' } }),
    ]);
    expect((await history.search('stat')).map((h) => h.message.id)).toEqual(['a']);
  });
});

describe('new messages at the end of a conversation', () => {
  const at = (id: string, timestamp: number) => message({ id, timestamp });
  const ids = (rows: { id: string }[]) => rows.map((m) => m.id);

  it('appends in store order, places same-moment ties by id, skips what is shown', () => {
    const tail = [at('a', 1), at('m', 2)];
    const placed = placeNew(tail, 100, [at('x', 3), at('b', 2), at('m', 2), at('z', 3)], (id) =>
      ['q'].includes(id),
    );
    expect(placed && ids(placed.rows)).toEqual(['a', 'b', 'm', 'x', 'z']);
    expect(placed?.first).toBe(101);
    expect(placed?.added).toBe(3);
    expect(placeNew(tail, 100, [at('q', 5)], (id) => id === 'q')?.added).toBe(0);
  });

  it('gives up when a message belongs before the loaded rows', () => {
    expect(placeNew([at('m', 5)], 100, [at('a', 4)], () => false)).toBeNull();
    // At the very start of a conversation there is nothing before.
    expect(ids(placeNew([at('m', 5)], 0, [at('a', 4)], () => false)!.rows)).toEqual(['a', 'm']);
  });

  it('a short page read gets back rows placed while it was on its way', () => {
    const read = [at('a', 1), at('c', 3)];
    const shown = [at('a', 1), at('b', 2), at('d', 4)];
    expect(ids(mergeLastPage(read, shown, 100))).toEqual(['a', 'b', 'c', 'd']);
    expect(mergeLastPage(read, undefined, 100)).toBe(read);
    const full = Array.from({ length: 3 }, (_, i) => at(`f${i}`, i));
    expect(mergeLastPage(full, [...full, at('z', 9)], 3)).toBe(full);
  });
});
