/**
 * Browser {@link ClientStore} on IndexedDB through Dexie 4. The Dexie schema
 * (`version(n).stores()`) is defined here and only here; the web client opens
 * its database through {@link SottoDb} / {@link createDexieStore}.
 *
 * Each {@link ClientStore.batch} is one read-write IndexedDB transaction over
 * every table, so a burst of incoming messages is written in a few
 * transactions rather than thousands. Values are stored by structured clone
 * (Uint8Array kept as is).
 *
 * Unread messages carry one extra stored field, `unreadIn` (= their
 * conversation id, absent once read), indexed so that unread counts and
 * "mark read" touch only the unread rows (IndexedDB cannot index booleans).
 * It never leaves this module's reads.
 *
 * Runtime: browser (or Node with `fake-indexeddb` in tests).
 */
import { Dexie, type Table } from 'dexie';
import { ACCOUNT_KEY, applyOps, settingKey, type StorePrimitives } from '../store/apply.ts';
import { compareMessages, DEFAULT_PAGE, parseQuery, rankMatches } from '../store/common.ts';
import type {
  AccountRecord,
  ClientStore,
  ContactRecord,
  ConversationSummary,
  GroupRecord,
  MessageRecord,
  OutboxEntry,
  OwnSenderKeyRecord,
  PrekeySecretRecord,
  SenderKeyRecord,
} from '../store/types.ts';
import { assertKnownOps } from '../store/validate.ts';

interface KvRow {
  key: string;
  value: unknown;
}
interface SessionRow {
  user: string;
  device: string;
  state: Uint8Array;
}
interface TermRow {
  token: string;
  messageId: string;
  count: number;
}
interface OutboxRow extends OutboxEntry {
  key: string;
}
/** A stored message: the record plus the unread index key. */
type MessageRow = MessageRecord & { unreadIn?: string };

/** The row to store for a message (sets or drops `unreadIn`). */
function toRow(m: MessageRecord): MessageRow {
  const { unreadIn: _old, ...rest } = m as MessageRow;
  return m.unread ? { ...rest, unreadIn: m.conversationId } : rest;
}

/** The message of a stored row. */
function fromRow(r: MessageRow): MessageRecord;
function fromRow(r: MessageRow | undefined): MessageRecord | undefined;
function fromRow(r: MessageRow | undefined): MessageRecord | undefined {
  if (r === undefined || r.unreadIn === undefined) return r;
  const { unreadIn: _u, ...m } = r;
  return m;
}

/** An outbox entry without its row key. */
const stripOutbox = ({ key: _key, ...e }: OutboxRow): OutboxEntry => e;

/** Drops a put's returned key: primitives resolve to nothing. */
const done = (): void => undefined;

interface SeenRow {
  id: string;
  at: number;
}

/** The Sotto IndexedDB database: the single definition of its schema. */
export class SottoDb extends Dexie {
  kv!: Table<KvRow, string>;
  prekeys!: Table<PrekeySecretRecord, [string, number]>;
  sessions!: Table<SessionRow, [string, string]>;
  ownSenderKeys!: Table<OwnSenderKeyRecord, string>;
  senderKeys!: Table<SenderKeyRecord, [string, string, string, number]>;
  messages!: Table<MessageRow, string>;
  terms!: Table<TermRow, [string, string]>;
  outbox!: Table<OutboxRow, string>;
  seen!: Table<SeenRow, string>;
  contacts!: Table<ContactRecord, string>;
  groups!: Table<GroupRecord, string>;

  constructor(name: string) {
    super(name);
    this.version(1).stores({
      kv: 'key',
      prekeys: '[kind+id], kind',
      sessions: '[user+device], user',
      ownSenderKeys: 'groupId',
      senderKeys: '[groupId+user+device+keyId], groupId, [groupId+user], [groupId+user+device]',
      messages: 'id, conversationId, [conversationId+timestamp]',
      terms: '[token+messageId], token, messageId',
      outbox: 'key, createdAt',
      seen: 'id, at',
      contacts: 'username',
      groups: 'groupId',
    });
    // v2: index unread messages by conversation (unread counts without a scan).
    this.version(2)
      .stores({ messages: 'id, conversationId, [conversationId+timestamp], unreadIn' })
      .upgrade((tx) =>
        tx
          .table<MessageRow, string>('messages')
          .toCollection()
          .modify((m) => {
            if (m.unread) m.unreadIn = m.conversationId;
          }),
      );
  }
}

/** Options for {@link createDexieStore}. */
export interface DexieStoreOptions {
  /** IndexedDB database name (one per account on a browser profile). */
  name: string;
}

/**
 * Delete a store's whole IndexedDB database (sign-out with wipe, a failed first sign-in). Close
 * the store first; callers outside this module never name Dexie or the schema.
 */
export function deleteDexieStore(name: string): Promise<void> {
  return Dexie.delete(name);
}

/** Open a Dexie-backed client store. */
export function createDexieStore(options: DexieStoreOptions): ClientStore {
  const db = new SottoDb(options.name);

  /** The index range of one conversation's messages, strictly inside a time window. */
  const window = (conversationId: string, w: { before?: number; after?: number } = {}) =>
    db.messages
      .where('[conversationId+timestamp]')
      .between(
        [conversationId, w.after ?? -Infinity],
        [conversationId, w.before ?? Infinity],
        w.after === undefined,
        false,
      );

  const primitives: StorePrimitives = {
    putKv: (key, value) => db.kv.put({ key, value }).then(done),
    deleteKv: (key) => db.kv.delete(key),
    putPrekeys: (prekeys) => db.prekeys.bulkPut(prekeys).then(done),
    deletePrekey: (kind, id) => db.prekeys.delete([kind, id]),
    putSession: (user, device, state) => db.sessions.put({ user, device, state }).then(done),
    deleteSession: (user, device) => db.sessions.delete([user, device]),
    putOwnSenderKey: (r) => db.ownSenderKeys.put(r).then(done),
    deleteOwnSenderKey: (groupId) => db.ownSenderKeys.delete(groupId),
    putSenderKey: (r) => db.senderKeys.put(r).then(done),
    deleteSenderKeys: async (groupId, user, device) => {
      if (user === undefined) await db.senderKeys.where('groupId').equals(groupId).delete();
      else if (device === undefined) {
        await db.senderKeys.where('[groupId+user]').equals([groupId, user]).delete();
      } else {
        await db.senderKeys.where('[groupId+user+device]').equals([groupId, user, device]).delete();
      }
    },
    getMessages: async (ids) => (await db.messages.bulkGet([...ids])).map((r) => fromRow(r)),
    // Bursts of thousands: one bulkDelete of stale term keys (computed, not scanned from the
    // messageId index) and two bulkPuts. Term changes are netted first, in write order, so a
    // message written twice in one call ends up indexed as its last version.
    putMessages: async (writes) => {
      const net = new Map<string, TermRow | [string, string]>();
      for (const { message, index } of writes) {
        if (index === null) continue;
        const id = message.id;
        for (const token of index.stale) net.set(`${token}\u0000${id}`, [token, id]);
        for (const [token, count] of index.terms) {
          net.set(`${token}\u0000${id}`, { token, messageId: id, count });
        }
      }
      const stale: [string, string][] = [];
      const terms: TermRow[] = [];
      for (const change of net.values()) {
        if (Array.isArray(change)) stale.push(change);
        else terms.push(change);
      }
      if (stale.length) await db.terms.bulkDelete(stale);
      await db.messages.bulkPut(writes.map((w) => toRow(w.message)));
      if (terms.length) await db.terms.bulkPut(terms);
    },
    listUnread: async (conversationId) =>
      (await db.messages.where('unreadIn').equals(conversationId).toArray()).map((r) => fromRow(r)),
    getOutbox: async (key) => {
      const row = await db.outbox.get(key);
      return row && stripOutbox(row);
    },
    putOutbox: (entries) =>
      db.outbox.bulkPut(entries.map(({ key, entry }) => ({ ...entry, key }))).then(done),
    deleteOutbox: (key) => db.outbox.delete(key),
    putSeen: (ids, at) => db.seen.bulkPut(ids.map((id) => ({ id, at }))).then(done),
    putContact: (c) => db.contacts.put(c).then(done),
    putGroup: (g) => db.groups.put(g).then(done),
    deleteGroup: (groupId) => db.groups.delete(groupId),
  };

  const store: ClientStore = {
    async batch(ops) {
      assertKnownOps(ops);
      await db.transaction('rw', db.tables, () => applyOps(ops, primitives));
    },
    async getAccount() {
      const row = await db.kv.get(ACCOUNT_KEY);
      return row ? (row.value as AccountRecord) : null;
    },
    putAccount(account) {
      return store.batch([{ op: 'putAccount', account }]);
    },
    async getPrekey(kind, id) {
      return (await db.prekeys.get([kind, id])) ?? null;
    },
    async listPrekeys(kind) {
      const rows = await db.prekeys.where('kind').equals(kind).toArray();
      return rows.sort((a, b) => a.id - b.id);
    },
    async getSession(user, device) {
      return (await db.sessions.get([user, device]))?.state ?? null;
    },
    async listSessionDevices(user) {
      const rows = await db.sessions.where('user').equals(user).toArray();
      return rows.map((r) => r.device).sort();
    },
    async getOwnSenderKey(groupId) {
      return (await db.ownSenderKeys.get(groupId)) ?? null;
    },
    async getSenderKey(groupId, user, device, keyId) {
      return (await db.senderKeys.get([groupId, user, device, keyId])) ?? null;
    },
    async getMessage(id) {
      return fromRow(await db.messages.get(id)) ?? null;
    },
    async listMessages(conversationId, options = {}) {
      const limit = Math.max(0, options.limit ?? DEFAULT_PAGE);
      const offset = Math.max(0, options.offset ?? 0);
      const range = window(conversationId, options);
      // IndexedDB orders equal index keys by primary key (the id), so a cursor walks the
      // conversation in (timestamp, id) order either way; offsets advance the cursor unread.
      if (options.from === 'oldest') {
        return (await range.offset(offset).limit(limit).toArray()).map((r) => fromRow(r));
      }
      const rows = await range.reverse().offset(offset).limit(limit).toArray();
      return rows.reverse().map((r) => fromRow(r));
    },
    countMessages(conversationId, options = {}) {
      return window(conversationId, options).count();
    },
    async indexOfMessage(id) {
      const m = await db.messages.get(id);
      if (m === undefined) return -1;
      const [before, same] = await Promise.all([
        window(m.conversationId, { before: m.timestamp }).count(),
        db.messages
          .where('[conversationId+timestamp]')
          .equals([m.conversationId, m.timestamp])
          .primaryKeys(),
      ]);
      return before + same.filter((other) => other < id).length;
    },
    async listUnread(conversationId) {
      return (await primitives.listUnread(conversationId)).sort(compareMessages);
    },
    async listConversations() {
      const ids = (await db.messages.orderBy('conversationId').uniqueKeys()) as string[];
      const out: ConversationSummary[] = [];
      for (const conversationId of ids) {
        const [last, unread] = await Promise.all([
          window(conversationId).last(),
          db.messages.where('unreadIn').equals(conversationId).count(),
        ]);
        if (!last) continue;
        out.push({
          conversationId,
          lastMessageId: last.id,
          lastTimestamp: last.timestamp,
          unread,
          last: fromRow(last),
        });
      }
      return out.sort((a, b) => b.lastTimestamp - a.lastTimestamp);
    },
    async listOutbox() {
      const rows = await db.outbox.orderBy('createdAt').toArray();
      return rows.map(stripOutbox);
    },
    async hasSeen(id) {
      return (await db.seen.get(id)) !== undefined;
    },
    async pruneSeen(before) {
      await db.seen.where('at').below(before).delete();
    },
    async getContact(username) {
      return (await db.contacts.get(username)) ?? null;
    },
    async listContacts() {
      return db.contacts.orderBy('username').toArray();
    },
    async getGroup(groupId) {
      return (await db.groups.get(groupId)) ?? null;
    },
    async listGroups() {
      return db.groups.orderBy('groupId').toArray();
    },
    async getSetting<T>(key: string) {
      return (await db.kv.get(settingKey(key)))?.value as T | undefined;
    },
    setSetting(key, value) {
      return store.batch([{ op: 'setSetting', key, value }]);
    },
    async search(query, options = {}) {
      const parsed = parseQuery(query);
      if (!parsed) return [];
      const toMap = (rows: TermRow[]): Map<string, number> => {
        const m = new Map<string, number>();
        for (const r of rows) m.set(r.messageId, (m.get(r.messageId) ?? 0) + r.count);
        return m;
      };
      const matches: Map<string, number>[] = [];
      for (const t of parsed.exact)
        matches.push(toMap(await db.terms.where('token').equals(t).toArray()));
      matches.push(toMap(await db.terms.where('token').startsWith(parsed.prefix).toArray()));
      const candidates = new Set(matches[0]?.keys() ?? []);
      const loaded = new Map<string, MessageRecord>();
      const found = await db.messages.bulkGet([...candidates]);
      for (const m of found) if (m) loaded.set(m.id, fromRow(m));
      return rankMatches(matches, (id) => loaded.get(id), options);
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
  return store;
}
