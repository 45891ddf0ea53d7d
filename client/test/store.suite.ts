/**
 * The abstract ClientStore suite: every store implementation runs exactly
 * these tests (like aedes-persistence's abstract.js). Call
 * `storeSuite(name, open)` from a `*.test.ts` file; `open(reopen?)` returns a
 * fresh store, or — when `reopen` is given and the store is durable — the
 * same database opened again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountRecord, ClientStore, MessageRecord, OutboxEntry } from '../src/store/types.ts';

/** How a test opens stores: `open()` makes a new one; `reopen(previous)` reopens a durable one. */
export interface StoreFactory {
  open(): Promise<ClientStore>;
  /** Close and reopen the same database, or undefined for non-durable stores. */
  reopen?: (store: ClientStore) => Promise<ClientStore>;
  /** Messages in the burst test (default 5,000). */
  burst?: number;
}

const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);

function account(over: Partial<AccountRecord> = {}): AccountRecord {
  return {
    username: 'alice',
    deviceId: 'dev1',
    kind: 'user',
    accessToken: 'a',
    refreshToken: 'r',
    uik: { publicKey: bytes(1, 2), secretKey: bytes(3, 4) },
    signing: { publicKey: bytes(5), secretKey: bytes(6) },
    identity: { publicKey: bytes(7), secretKey: bytes(8) },
    certificate: bytes(9, 9, 9),
    signedPrekeyAt: 1000,
    createdAt: 1000,
    ...over,
  };
}

let seq = 0;
/** A received text message, fields overridable (ids and times unique per call). */
export function message(over: Partial<MessageRecord> = {}): MessageRecord {
  seq += 1;
  return {
    conversationId: 'dm:bob',
    id: `m${String(seq).padStart(6, '0')}`,
    sender: 'bob',
    senderDevice: 'd1',
    timestamp: 1_000 + seq,
    receivedAt: 2_000 + seq,
    kind: 'text',
    body: { text: 'hello world' },
    outgoing: false,
    unread: true,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
    ...over,
  };
}

function outbox(over: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    messageId: 'm1',
    recipient: 'bob',
    recipientDevice: 'd1',
    topic: 'sotto/v1/inbox/bob/d1',
    plaintext: bytes(1, 2, 3),
    attempts: 0,
    createdAt: 10,
    lastAttemptAt: 0,
    ...over,
  };
}

/** Register the abstract suite for one store implementation. */
export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`ClientStore: ${name}`, () => {
    const opened: ClientStore[] = [];
    const open = async (): Promise<ClientStore> => {
      const s = await factory.open();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it('returns null for an account that was never stored', async () => {
      const s = await open();
      expect(await s.getAccount()).toBeNull();
    });

    it('round-trips the account record with its binary keys intact', async () => {
      const s = await open();
      await s.putAccount(account());
      const got = await s.getAccount();
      expect(got).toEqual(account());
      expect(got?.uik.secretKey).toBeInstanceOf(Uint8Array);
    });

    it('stores prekey secrets by kind and id and deletes a used one', async () => {
      const s = await open();
      const pk = (kind: 'onetime' | 'signed', id: number) => ({
        kind,
        id,
        publicKey: bytes(id),
        secretKey: bytes(id, id),
        createdAt: 5,
      });
      await s.batch([
        { op: 'putPrekeys', prekeys: [pk('onetime', 2), pk('onetime', 1), pk('signed', 1)] },
      ]);
      expect((await s.listPrekeys('onetime')).map((p) => p.id)).toEqual([1, 2]);
      expect((await s.getPrekey('signed', 1))?.secretKey).toEqual(bytes(1, 1));
      await s.batch([{ op: 'deletePrekey', kind: 'onetime', id: 1 }]);
      expect(await s.getPrekey('onetime', 1)).toBeNull();
      expect(await s.getPrekey('signed', 1)).not.toBeNull();
    });

    it('keeps one pairwise session per remote user and device', async () => {
      const s = await open();
      await s.batch([
        { op: 'putSession', user: 'bob', device: 'b', state: bytes(1) },
        { op: 'putSession', user: 'bob', device: 'a', state: bytes(2) },
        { op: 'putSession', user: 'carol', device: 'a', state: bytes(3) },
        { op: 'putSession', user: 'bob', device: 'b', state: bytes(4) },
      ]);
      expect(await s.getSession('bob', 'b')).toEqual(bytes(4));
      expect(await s.listSessionDevices('bob')).toEqual(['a', 'b']);
      await s.batch([{ op: 'deleteSession', user: 'bob', device: 'a' }]);
      expect(await s.getSession('bob', 'a')).toBeNull();
    });

    it('stores own and received sender keys and deletes them per group, user or device', async () => {
      const s = await open();
      const sk = (user: string, device: string, keyId: number) => ({
        groupId: 'g1',
        user,
        device,
        keyId,
        state: bytes(keyId),
        createdAt: 1,
      });
      await s.batch([
        {
          op: 'putOwnSenderKey',
          record: {
            groupId: 'g1',
            keyId: 7,
            state: bytes(7),
            distributedTo: ['bob:d1'],
            createdAt: 1,
            messageCount: 0,
          },
        },
        { op: 'putSenderKey', record: sk('bob', 'd1', 1) },
        { op: 'putSenderKey', record: sk('bob', 'd2', 1) },
        { op: 'putSenderKey', record: sk('carol', 'd1', 1) },
        { op: 'putSenderKey', record: { ...sk('bob', 'd1', 1), groupId: 'g2' } },
      ]);
      expect((await s.getOwnSenderKey('g1'))?.distributedTo).toEqual(['bob:d1']);
      expect((await s.getSenderKey('g1', 'bob', 'd2', 1))?.state).toEqual(bytes(1));
      await s.batch([{ op: 'deleteSenderKeys', groupId: 'g1', user: 'bob', device: 'd1' }]);
      expect(await s.getSenderKey('g1', 'bob', 'd1', 1)).toBeNull();
      expect(await s.getSenderKey('g1', 'bob', 'd2', 1)).not.toBeNull();
      await s.batch([{ op: 'deleteSenderKeys', groupId: 'g1', user: 'bob' }]);
      expect(await s.getSenderKey('g1', 'bob', 'd2', 1)).toBeNull();
      expect(await s.getSenderKey('g1', 'carol', 'd1', 1)).not.toBeNull();
      await s.batch([
        { op: 'deleteSenderKeys', groupId: 'g1' },
        { op: 'deleteOwnSenderKey', groupId: 'g1' },
      ]);
      expect(await s.getSenderKey('g1', 'carol', 'd1', 1)).toBeNull();
      expect(await s.getOwnSenderKey('g1')).toBeNull();
      expect(await s.getSenderKey('g2', 'bob', 'd1', 1)).not.toBeNull();
    });

    it('lists the latest messages of a conversation oldest first, paging backwards', async () => {
      const s = await open();
      const ms = Array.from({ length: 10 }, (_, i) => message({ timestamp: 100 + i, id: `x${i}` }));
      await s.batch([
        ...ms.map((m) => ({ op: 'putMessage' as const, message: m })),
        { op: 'putMessage', message: message({ conversationId: 'dm:carol' }) },
      ]);
      const page = await s.listMessages('dm:bob', { limit: 3 });
      expect(page.map((m) => m.id)).toEqual(['x7', 'x8', 'x9']);
      const older = await s.listMessages('dm:bob', { limit: 3, before: 107 });
      expect(older.map((m) => m.id)).toEqual(['x4', 'x5', 'x6']);
      expect(await s.getMessage('x3')).toEqual(ms[3]);
    });

    it('pages a conversation by time in both directions and by position', async () => {
      const s = await open();
      const ms = Array.from({ length: 10 }, (_, i) => message({ timestamp: 100 + i, id: `x${i}` }));
      await s.batch([
        ...ms.map((m) => ({ op: 'putMessage' as const, message: m })),
        { op: 'putMessage', message: message({ conversationId: 'dm:carol', timestamp: 104 }) },
      ]);
      const ids = (page: MessageRecord[]): string[] => page.map((m) => m.id);
      // Forwards from a timestamp, and a window closed on both sides.
      expect(ids(await s.listMessages('dm:bob', { after: 103, from: 'oldest', limit: 3 }))).toEqual(
        ['x4', 'x5', 'x6'],
      );
      expect(ids(await s.listMessages('dm:bob', { after: 103, before: 108 }))).toEqual([
        'x4',
        'x5',
        'x6',
        'x7',
      ]);
      expect(ids(await s.listMessages('dm:bob', { after: 107, before: 108 }))).toEqual([]);
      // By position from either end (the virtual list's rows i…i+limit).
      expect(ids(await s.listMessages('dm:bob', { from: 'oldest', offset: 2, limit: 3 }))).toEqual([
        'x2',
        'x3',
        'x4',
      ]);
      expect(ids(await s.listMessages('dm:bob', { offset: 2, limit: 3 }))).toEqual([
        'x5',
        'x6',
        'x7',
      ]);
      expect(ids(await s.listMessages('dm:bob', { from: 'oldest', offset: 9, limit: 3 }))).toEqual([
        'x9',
      ]);
      expect(await s.listMessages('dm:bob', { from: 'oldest', offset: 10 })).toEqual([]);
      expect(await s.listMessages('dm:nobody')).toEqual([]);
      // Counts, in windows too, without reading the rows.
      expect(await s.countMessages('dm:bob')).toBe(10);
      expect(await s.countMessages('dm:bob', { before: 105 })).toBe(5);
      expect(await s.countMessages('dm:bob', { after: 105 })).toBe(4);
      expect(await s.countMessages('dm:bob', { after: 101, before: 104 })).toBe(2);
      expect(await s.countMessages('dm:carol')).toBe(1);
      expect(await s.countMessages('dm:nobody')).toBe(0);
      // Positions address the same rows as offsets.
      expect(await s.indexOfMessage('x0')).toBe(0);
      expect(await s.indexOfMessage('x7')).toBe(7);
      expect(await s.indexOfMessage('unknown')).toBe(-1);
      const [at] = await s.listMessages('dm:bob', {
        from: 'oldest',
        offset: await s.indexOfMessage('x6'),
        limit: 1,
      });
      expect(at).toEqual(ms[6]);
    });

    it('orders messages of the same millisecond by id, and pages past them by offset', async () => {
      const s = await open();
      await s.batch(
        [
          message({ id: 'tb', timestamp: 50 }),
          message({ id: 'ta', timestamp: 50 }),
          message({ id: 'tc', timestamp: 50 }),
          message({ id: 'tz', timestamp: 40 }),
          message({ id: 'ty', timestamp: 60 }),
        ].map((m) => ({ op: 'putMessage' as const, message: m })),
      );
      const ids = (page: MessageRecord[]): string[] => page.map((m) => m.id);
      expect(ids(await s.listMessages('dm:bob'))).toEqual(['tz', 'ta', 'tb', 'tc', 'ty']);
      expect(ids(await s.listMessages('dm:bob', { before: 60, limit: 2 }))).toEqual(['tb', 'tc']);
      // Two of the millisecond seen already: skip them, the next page keeps the third.
      expect(ids(await s.listMessages('dm:bob', { before: 51, offset: 2, limit: 2 }))).toEqual([
        'tz',
        'ta',
      ]);
      expect(ids(await s.listMessages('dm:bob', { after: 40, from: 'oldest', limit: 2 }))).toEqual([
        'ta',
        'tb',
      ]);
      expect(await s.indexOfMessage('tb')).toBe(2);
      expect(await s.indexOfMessage('tc')).toBe(3);
      expect((await s.listConversations())[0]?.lastMessageId).toBe('ty');
    });

    it('previews each conversation with its latest record; a notice is never unread', async () => {
      const s = await open();
      const hello = message({ conversationId: 'dm:bob', timestamp: 10, unread: true });
      // The engine's timeline line about a changed safety number: stored read, never counted.
      const notice = message({
        conversationId: 'dm:bob',
        timestamp: 20,
        kind: 'notice',
        body: { notice: 'keyChange', user: 'bob' },
        unread: false,
      });
      const gone = message({ conversationId: 'group:g', timestamp: 30, unread: false });
      const tie1 = message({ id: 'q1', conversationId: 'dm:dave', timestamp: 5 });
      const tie2 = message({ id: 'q2', conversationId: 'dm:dave', timestamp: 5, unread: false });
      await s.batch(
        [hello, notice, gone, tie2, tie1].map((m) => ({ op: 'putMessage' as const, message: m })),
      );
      await s.batch([{ op: 'deleteMessage', messageId: gone.id }]);
      const convs = await s.listConversations();
      expect(
        convs.map((c) => [c.conversationId, c.lastMessageId, c.lastTimestamp, c.unread]),
      ).toEqual([
        ['group:g', gone.id, 30, 0],
        ['dm:bob', notice.id, 20, 1],
        ['dm:dave', 'q2', 5, 1],
      ]);
      expect(convs[0]?.last).toEqual({ ...gone, body: {}, deleted: true });
      expect(convs[1]?.last).toEqual(notice);
      expect(convs[2]?.last).toEqual(tie2);
      expect((await s.listUnread('dm:bob')).map((m) => m.id)).toEqual([hello.id]);
    });

    it('moves receipts forward per recipient device and never back', async () => {
      const s = await open();
      const m = message({ outgoing: true, status: { 'bob:d1': 'sent', 'bob:d2': 'sent' } });
      await s.batch([{ op: 'putMessage', message: m }]);
      await s.batch([
        { op: 'setReceipt', messageId: m.id, recipient: 'bob:d1', status: 'read' },
        { op: 'setReceipt', messageId: m.id, recipient: 'bob:d1', status: 'delivered' },
        { op: 'setReceipt', messageId: m.id, recipient: 'bob:d2', status: 'delivered' },
        { op: 'setReceipt', messageId: 'unknown', recipient: 'bob:d2', status: 'delivered' },
      ]);
      expect((await s.getMessage(m.id))?.status).toEqual({
        'bob:d1': 'read',
        'bob:d2': 'delivered',
      });
    });

    it('applies edits, reactions and delete-for-everyone', async () => {
      const s = await open();
      const m = message({ body: { text: 'first draft' } });
      await s.batch([{ op: 'putMessage', message: m }]);
      await s.batch([
        { op: 'editMessage', messageId: m.id, body: { text: 'final words' }, editedAt: 9 },
        { op: 'react', messageId: m.id, user: 'carol', emoji: '👍' },
        { op: 'react', messageId: m.id, user: 'dave', emoji: '🎉' },
        { op: 'react', messageId: m.id, user: 'dave', emoji: null },
      ]);
      let got = await s.getMessage(m.id);
      expect(got?.body).toEqual({ text: 'final words' });
      expect(got?.edited).toBe(true);
      expect(got?.reactions).toEqual({ carol: '👍' });
      expect(await s.search('draft')).toEqual([]);
      expect((await s.search('final')).map((h) => h.message.id)).toEqual([m.id]);
      await s.batch([{ op: 'deleteMessage', messageId: m.id }]);
      got = await s.getMessage(m.id);
      expect(got?.deleted).toBe(true);
      expect(got?.body).toEqual({});
      expect(await s.search('final')).toEqual([]);
    });

    it('counts unread messages per conversation and clears them when read', async () => {
      const s = await open();
      await s.batch([
        { op: 'putMessage', message: message({ conversationId: 'dm:bob', timestamp: 10 }) },
        { op: 'putMessage', message: message({ conversationId: 'dm:bob', timestamp: 30 }) },
        { op: 'putMessage', message: message({ conversationId: 'group:g', timestamp: 20 }) },
        {
          op: 'putMessage',
          message: message({ conversationId: 'group:g', timestamp: 5, unread: false }),
        },
      ]);
      let convs = await s.listConversations();
      expect(convs.map((c) => [c.conversationId, c.lastTimestamp, c.unread])).toEqual([
        ['dm:bob', 30, 2],
        ['group:g', 20, 1],
      ]);
      await s.batch([{ op: 'markConversationRead', conversationId: 'dm:bob' }]);
      convs = await s.listConversations();
      expect(convs.find((c) => c.conversationId === 'dm:bob')?.unread).toBe(0);
    });

    it('lists only the unread messages of one conversation, oldest first', async () => {
      const s = await open();
      const late = message({ conversationId: 'dm:bob', timestamp: 30 });
      const early = message({ conversationId: 'dm:bob', timestamp: 10 });
      await s.batch([
        { op: 'putMessage', message: late },
        { op: 'putMessage', message: early },
        { op: 'putMessage', message: message({ conversationId: 'dm:bob', unread: false }) },
        {
          op: 'putMessage',
          message: message({ conversationId: 'dm:bob', outgoing: true, unread: false }),
        },
        { op: 'putMessage', message: message({ conversationId: 'group:g', timestamp: 20 }) },
      ]);
      expect(await s.listUnread('dm:bob')).toEqual([early, late]);
      expect(await s.listUnread('dm:nobody')).toEqual([]);
      await s.batch([{ op: 'putMessage', message: { ...early, unread: false } }]);
      expect((await s.listUnread('dm:bob')).map((m) => m.id)).toEqual([late.id]);
      await s.batch([{ op: 'markConversationRead', conversationId: 'dm:bob' }]);
      expect(await s.listUnread('dm:bob')).toEqual([]);
      expect((await s.listUnread('group:g')).length).toBe(1);
    });

    it('keeps outbox entries per recipient device until removed, counting attempts', async () => {
      const s = await open();
      await s.batch([
        {
          op: 'putOutbox',
          entries: [
            outbox({ recipientDevice: 'd1', createdAt: 2 }),
            outbox({
              recipientDevice: 'd2',
              createdAt: 1,
              plaintext: undefined as never,
              envelope: bytes(9),
            }),
          ],
        },
      ]);
      await s.batch([
        { op: 'touchOutbox', messageId: 'm1', recipient: 'bob', recipientDevice: 'd1', at: 77 },
      ]);
      let list = await s.listOutbox();
      expect(list.map((e) => e.recipientDevice)).toEqual(['d2', 'd1']);
      expect(list[1]?.attempts).toBe(1);
      expect(list[1]?.lastAttemptAt).toBe(77);
      expect(list[1]?.plaintext).toEqual(bytes(1, 2, 3));
      expect(list[0]?.envelope).toEqual(bytes(9));
      await s.batch([
        { op: 'removeOutbox', messageId: 'm1', recipient: 'bob', recipientDevice: 'd2' },
      ]);
      list = await s.listOutbox();
      expect(list.map((e) => e.recipientDevice)).toEqual(['d1']);
    });

    it('remembers seen message ids and prunes old ones', async () => {
      const s = await open();
      await s.batch([
        { op: 'markSeen', ids: ['a', 'b'], at: 10 },
        { op: 'markSeen', ids: ['c'], at: 20 },
      ]);
      expect(await s.hasSeen('a')).toBe(true);
      expect(await s.hasSeen('z')).toBe(false);
      expect(await s.seenAmong(['z', 'c', 'a', 'y'])).toEqual(new Set(['a', 'c']));
      expect(await s.seenAmong([])).toEqual(new Set());
      await s.pruneSeen(15);
      expect(await s.hasSeen('a')).toBe(false);
      expect(await s.hasSeen('c')).toBe(true);
      expect(await s.seenAmong(['a', 'b', 'c'])).toEqual(new Set(['c']));
    });

    it('stores contacts with trust state, groups with their chain, and settings', async () => {
      const PIA_AVATAR = {
        blobId: 'blob1',
        key: 'a2V5',
        hash: 'aGFzaA',
        size: 900,
        mime: 'image/webp' as const,
        width: 256,
        height: 256,
      };
      const s = await open();
      await s.batch([
        {
          op: 'putContact',
          contact: {
            username: 'zed',
            uik: bytes(1),
            verified: true,
            pendingUik: bytes(2),
            updatedAt: 1,
          },
        },
        {
          op: 'putContact',
          contact: { username: 'bob', uik: null, verified: false, pendingUik: null, updatedAt: 1 },
        },
        {
          op: 'putContact',
          contact: {
            username: 'pia',
            uik: null,
            verified: false,
            pendingUik: null,
            displayName: 'Pia ✨',
            avatar: PIA_AVATAR,
            profileVersion: 1_700_000_000_000,
            updatedAt: 1,
          },
        },
        {
          op: 'putGroup',
          group: {
            groupId: 'g1',
            name: 'Home',
            chain: [bytes(1), bytes(2, 3)],
            members: ['alice'],
            admins: ['alice'],
            updatedAt: 1,
          },
        },
        {
          op: 'putGroup',
          group: {
            groupId: 'g2',
            name: 'Forked',
            chain: [bytes(4)],
            members: ['alice'],
            admins: ['alice'],
            updatedAt: 2,
            frozen: { reason: 'forked', at: 3 },
          },
        },
        { op: 'setSetting', key: 'presence', value: { share: false, n: [1, 2] } },
      ]);
      expect((await s.getContact('zed'))?.pendingUik).toEqual(bytes(2));
      // The freeze marker (a forked or rolled-back chain) survives a round trip; absent stays absent.
      expect((await s.getGroup('g2'))?.frozen).toEqual({ reason: 'forked', at: 3 });
      expect((await s.getGroup('g1'))?.frozen).toBeUndefined();
      expect((await s.listGroups()).map((g) => g.frozen?.reason ?? null)).toEqual([null, 'forked']);
      expect((await s.listContacts()).map((c) => c.username)).toEqual(['bob', 'pia', 'zed']);
      // A contact's profile (PROTOCOL.md §12 "Profiles") survives a round trip whole.
      const pia = await s.getContact('pia');
      expect(pia?.displayName).toBe('Pia ✨');
      expect(pia?.profileVersion).toBe(1_700_000_000_000);
      expect(pia?.avatar).toEqual(PIA_AVATAR);
      expect((await s.getGroup('g1'))?.chain).toEqual([bytes(1), bytes(2, 3)]);
      expect((await s.listGroups()).length).toBe(2);
      expect(await s.getSetting('presence')).toEqual({ share: false, n: [1, 2] });
      expect(await s.getSetting('missing')).toBeUndefined();
      await s.batch([
        { op: 'deleteGroup', groupId: 'g1' },
        { op: 'deleteSetting', key: 'presence' },
      ]);
      expect(await s.getGroup('g1')).toBeNull();
      expect(await s.getSetting('presence')).toBeUndefined();
    });

    it('writes nothing from a batch that contains an invalid op', async () => {
      const s = await open();
      const bad = [
        { op: 'putMessage', message: message() },
        { op: 'nonsense' },
      ] as unknown as Parameters<ClientStore['batch']>[0];
      await expect(s.batch(bad)).rejects.toThrow(TypeError);
      expect(await s.listConversations()).toEqual([]);
    });

    it('writes nothing from a batch whose op fails half-way', async () => {
      const s = await open();
      const m = message({ body: { text: 'rolled back' } });
      const bad = [
        { op: 'putMessage', message: m },
        { op: 'setSetting', key: 'ok', value: 1 },
        // A function can be neither cloned nor serialized: every backend fails on it.
        { op: 'setSetting', key: 'bad', value: () => 1 },
      ] as const;
      await expect(s.batch(bad)).rejects.toThrow();
      expect(await s.getMessage(m.id)).toBeNull();
      expect(await s.getSetting('ok')).toBeUndefined();
      expect(await s.search('rolled')).toEqual([]);
      expect(await s.listConversations()).toEqual([]);
    });

    it('takes a burst that repeats stored messages: those are replaced, the new ones added, each searchable once', async () => {
      const s = await open();
      const a = message({ body: { text: 'apricot first' } });
      const b = message({ body: { text: 'banana first' } });
      await s.batch([a, b].map((m) => ({ op: 'putMessage' as const, message: m })));
      // A redelivered `a` with other content, an unchanged `b`, and a new `c`, in one burst.
      const c = message({ body: { text: 'cherry new' } });
      const burst = [{ ...a, body: { text: 'apricot second' } }, b, c];
      await s.batch(burst.map((m) => ({ op: 'putMessage' as const, message: m })));
      expect((await s.listMessages('dm:bob', { limit: 10 })).map((m) => m.body.text)).toEqual([
        'apricot second',
        'banana first',
        'cherry new',
      ]);
      expect(await s.search('first')).toHaveLength(1);
      expect((await s.search('apricot')).map((h) => h.message.body.text)).toEqual([
        'apricot second',
      ]);
      expect((await s.search('cherry')).map((h) => h.message.id)).toEqual([c.id]);
      expect(await s.countMessages('dm:bob')).toBe(3);
    });

    it('indexes the last version of a message put twice in one batch, and keeps terms on receipts', async () => {
      const s = await open();
      const m = message({ body: { text: 'early words' }, outgoing: true });
      await s.batch([
        { op: 'putMessage', message: m },
        { op: 'putMessage', message: { ...m, body: { text: 'later words' } } },
      ]);
      expect(await s.search('early')).toEqual([]);
      expect((await s.search('later')).map((h) => h.message.id)).toEqual([m.id]);
      await s.batch([
        { op: 'setReceipt', messageId: m.id, recipient: 'bob:d1', status: 'delivered' },
        { op: 'react', messageId: m.id, user: 'bob', emoji: '👍' },
        { op: 'markConversationRead', conversationId: m.conversationId },
      ]);
      expect((await s.search('words')).map((h) => h.message.status)).toEqual([
        { 'bob:d1': 'delivered' },
      ]);
    });

    it('rewrites a message several times in one batch: its last text is indexed, its receipts and reactions kept', async () => {
      const s = await open();
      const a = message({ body: { text: 'original plums' }, outgoing: true });
      const b = message({ body: { text: 'other pears' }, timestamp: 2, outgoing: true });
      await s.batch([a, b].map((m) => ({ op: 'putMessage' as const, message: m })));
      await s.batch([
        { op: 'setReceipt', messageId: a.id, recipient: 'bob:d1', status: 'delivered' },
        { op: 'editMessage', messageId: a.id, body: { text: 'middle apples' }, editedAt: 5 },
        { op: 'react', messageId: b.id, user: 'bob', emoji: '👍' },
        { op: 'setReceipt', messageId: a.id, recipient: 'bob:d1', status: 'read' },
        { op: 'editMessage', messageId: a.id, body: { text: 'final cherries' }, editedAt: 6 },
        { op: 'setReceipt', messageId: b.id, recipient: 'bob:d1', status: 'delivered' },
        { op: 'deleteMessage', messageId: b.id },
      ]);
      for (const gone of ['original', 'plums', 'middle', 'apples', 'other', 'pears'])
        expect(await s.search(gone), gone).toEqual([]);
      const [hit] = await s.search('cherries');
      expect(hit?.message).toMatchObject({
        id: a.id,
        body: { text: 'final cherries' },
        status: { 'bob:d1': 'read' },
        edited: true,
      });
      const listed = await s.listMessages(a.conversationId, { limit: 5 });
      expect(listed.find((m) => m.id === b.id)).toMatchObject({
        id: b.id,
        deleted: true,
        status: { 'bob:d1': 'delivered' },
      });
    });

    it('searches edited and deleted messages by their current text only, each hit once', async () => {
      const s = await open();
      const a = message({ body: { text: 'draft one about plums' }, timestamp: 1 });
      const b = message({ body: { text: 'draft two' }, timestamp: 2 });
      const c = message({ body: { text: 'plums' }, conversationId: 'dm:z' });
      await s.batch([a, b, c].map((m) => ({ op: 'putMessage' as const, message: m })));
      // Each in a batch of its own: the old text was indexed by an earlier batch.
      await s.batch([
        { op: 'editMessage', messageId: a.id, body: { text: 'draft three' }, editedAt: 5 },
      ]);
      await s.batch([
        { op: 'editMessage', messageId: a.id, body: { text: 'draft four' }, editedAt: 6 },
      ]);
      await s.batch([{ op: 'deleteMessage', messageId: b.id }]);
      await s.batch([{ op: 'putMessage', message: { ...c, unread: false } }]);
      expect((await s.search('draft')).map((h) => h.message.id)).toEqual([a.id]);
      expect((await s.search('dra')).map((h) => h.message.id)).toEqual([a.id]);
      expect((await s.search('four')).map((h) => h.message.body)).toEqual([{ text: 'draft four' }]);
      for (const gone of ['one', 'three', 'two', 'draft two', 'draft one']) {
        expect(await s.search(gone), gone).toEqual([]);
      }
      expect((await s.search('plums')).map((h) => h.message.id)).toEqual([c.id]);
      expect(await s.search('plums', { conversationId: a.conversationId })).toEqual([]);
      expect(await s.search('draft', { conversationId: 'dm:z' })).toEqual([]);
      // A deleted message stays deleted when its (late) edit arrives.
      await s.batch([
        { op: 'editMessage', messageId: b.id, body: { text: 'revived' }, editedAt: 7 },
      ]);
      expect(await s.search('revived')).toEqual([]);
    });

    it('finds messages by whole words with prefix matching on the last word, ranked', async () => {
      const s = await open();
      const a = message({ body: { text: 'The quick brown fox' }, timestamp: 1 });
      const b = message({ body: { text: 'quick quick thinking, brownies!' }, timestamp: 2 });
      const c = message({
        body: { text: 'Café au lait' },
        conversationId: 'group:g',
        timestamp: 3,
      });
      const d = message({ kind: 'file', body: { name: 'quarterly-report.pdf' }, timestamp: 4 });
      await s.batch([a, b, c, d].map((m) => ({ op: 'putMessage' as const, message: m })));
      expect((await s.search('quick')).map((h) => h.message.id)).toEqual([b.id, a.id]);
      expect((await s.search('quick bro')).map((h) => h.message.id)).toEqual([b.id, a.id]);
      expect((await s.search('fox quick')).map((h) => h.message.id)).toEqual([a.id]);
      expect((await s.search('qui fox')).map((h) => h.message.id)).toEqual([]);
      expect((await s.search('CAFE')).map((h) => h.message.id)).toEqual([c.id]);
      expect((await s.search('report')).map((h) => h.message.id)).toEqual([d.id]);
      expect(await s.search('quick', { conversationId: 'group:g' })).toEqual([]);
      expect(await s.search('  ,, ')).toEqual([]);
    });

    const burst = factory.burst ?? 5000;
    it(`writes a burst of ${burst} messages in batches and finds them`, async () => {
      const s = await open();
      const all = Array.from({ length: burst }, (_, i) =>
        message({ id: `burst${i}`, timestamp: 10_000 + i, body: { text: `burst number n${i}` } }),
      );
      for (let i = 0; i < all.length; i += 500) {
        await s.batch(
          all.slice(i, i + 500).map((m) => ({ op: 'putMessage' as const, message: m })),
        );
      }
      expect((await s.listConversations())[0]?.unread).toBe(burst);
      expect((await s.search(`n${burst - 1}`)).map((h) => h.message.id)).toEqual([
        `burst${burst - 1}`,
      ]);
    });

    if (factory.reopen) {
      const reopen = factory.reopen;
      it('keeps everything across close and reopen', async () => {
        const s = await factory.open();
        await s.batch([
          { op: 'putAccount', account: account() },
          { op: 'putSession', user: 'bob', device: 'd1', state: bytes(4, 5) },
          { op: 'putMessage', message: message({ id: 'durable', body: { text: 'persist me' } }) },
          { op: 'putOutbox', entries: [outbox()] },
        ]);
        const again = await reopen(s);
        opened.push(again);
        expect((await again.getAccount())?.uik.secretKey).toEqual(bytes(3, 4));
        expect(await again.getSession('bob', 'd1')).toEqual(bytes(4, 5));
        expect((await again.search('persist')).map((h) => h.message.id)).toEqual(['durable']);
        expect((await again.listOutbox()).length).toBe(1);
      });
    }
  });
}
