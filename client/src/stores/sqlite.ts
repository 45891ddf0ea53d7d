/**
 * Durable Node {@link ClientStore} on SQLite (better-sqlite3) for bots, the CLI
 * and the IoT bridge. One file, WAL journal, file mode 0600 (it holds private
 * keys and decrypted history). Every {@link ClientStore.batch} is one SQLite
 * transaction running the shared applier (`store/apply.ts`) over this file's
 * primitives. Records are JSON with binary fields tagged as base64url.
 *
 * Runtime: Node only.
 */
/* eslint-disable @typescript-eslint/require-await -- a synchronous backend implementing the async ClientStore interface */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ACCOUNT_KEY, applyOpsSync, settingKey, type StorePrimitives } from '../store/apply.ts';
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
  StoreOp,
} from '../store/types.ts';
import { assertKnownOps } from '../store/validate.ts';

/** JSON with `Uint8Array` values encoded as `{"$b": base64url}`. */
function encode(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v instanceof Uint8Array ? { $b: Buffer.from(v).toString('base64url') } : v,
  );
}

function decode<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$b === 'string' && Object.keys(o).length === 1) {
        return new Uint8Array(Buffer.from(o.$b, 'base64url'));
      }
    }
    return v;
  }) as T;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS prekeys (kind TEXT NOT NULL, id INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS sessions (user TEXT NOT NULL, device TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (user, device));
CREATE TABLE IF NOT EXISTS own_sender_keys (group_id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sender_keys (group_id TEXT NOT NULL, user TEXT NOT NULL, device TEXT NOT NULL, key_id INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (group_id, user, device, key_id));
CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, timestamp INTEGER NOT NULL, unread INTEGER NOT NULL, json TEXT NOT NULL);
DROP INDEX IF EXISTS messages_by_conversation;
CREATE INDEX IF NOT EXISTS messages_in_order ON messages (conversation_id, timestamp, id);
CREATE INDEX IF NOT EXISTS messages_unread ON messages (conversation_id) WHERE unread = 1;
CREATE TABLE IF NOT EXISTS terms (token TEXT NOT NULL, message_id TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (token, message_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_by_message ON terms (message_id);
CREATE TABLE IF NOT EXISTS outbox (key TEXT PRIMARY KEY, created_at INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contacts (username TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (group_id TEXT PRIMARY KEY, json TEXT NOT NULL);
`;

/** Options for {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. */
  path: string;
}

/**
 * Open (creating if needed) a SQLite client store. The file and its WAL
 * side-files are made mode 0600.
 */
export function createSqliteStore(options: SqliteStoreOptions): ClientStore {
  const { path } = options;
  const onDisk = path !== ':memory:';
  if (onDisk && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  if (onDisk) chmodSync(path, 0o600);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  if (onDisk) {
    for (const side of [`${path}-wal`, `${path}-shm`]) if (existsSync(side)) chmodSync(side, 0o600);
  }

  const q = {
    kvGet: db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?'),
    kvPut: db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)'),
    kvDel: db.prepare('DELETE FROM kv WHERE key = ?'),
    prekeyPut: db.prepare('INSERT OR REPLACE INTO prekeys (kind, id, json) VALUES (?, ?, ?)'),
    prekeyDel: db.prepare('DELETE FROM prekeys WHERE kind = ? AND id = ?'),
    prekeyGet: db.prepare<[string, number], { json: string }>(
      'SELECT json FROM prekeys WHERE kind = ? AND id = ?',
    ),
    prekeyList: db.prepare<[string], { json: string }>(
      'SELECT json FROM prekeys WHERE kind = ? ORDER BY id',
    ),
    sessionPut: db.prepare(
      'INSERT OR REPLACE INTO sessions (user, device, state) VALUES (?, ?, ?)',
    ),
    sessionDel: db.prepare('DELETE FROM sessions WHERE user = ? AND device = ?'),
    sessionGet: db.prepare<[string, string], { state: Buffer }>(
      'SELECT state FROM sessions WHERE user = ? AND device = ?',
    ),
    sessionDevices: db.prepare<[string], { device: string }>(
      'SELECT device FROM sessions WHERE user = ? ORDER BY device',
    ),
    ownSkPut: db.prepare('INSERT OR REPLACE INTO own_sender_keys (group_id, json) VALUES (?, ?)'),
    ownSkDel: db.prepare('DELETE FROM own_sender_keys WHERE group_id = ?'),
    ownSkGet: db.prepare<[string], { json: string }>(
      'SELECT json FROM own_sender_keys WHERE group_id = ?',
    ),
    skPut: db.prepare(
      'INSERT OR REPLACE INTO sender_keys (group_id, user, device, key_id, json) VALUES (?, ?, ?, ?, ?)',
    ),
    skGet: db.prepare<[string, string, string, number], { json: string }>(
      'SELECT json FROM sender_keys WHERE group_id = ? AND user = ? AND device = ? AND key_id = ?',
    ),
    skDelGroup: db.prepare('DELETE FROM sender_keys WHERE group_id = ?'),
    skDelUser: db.prepare('DELETE FROM sender_keys WHERE group_id = ? AND user = ?'),
    skDelDevice: db.prepare(
      'DELETE FROM sender_keys WHERE group_id = ? AND user = ? AND device = ?',
    ),
    msgPut: db.prepare(
      'INSERT OR REPLACE INTO messages (id, conversation_id, timestamp, unread, json) VALUES (?, ?, ?, ?, ?)',
    ),
    msgGet: db.prepare<[string], { json: string }>('SELECT json FROM messages WHERE id = ?'),
    msgPageDown: db.prepare<[string, number, number, number, number], { json: string }>(
      `SELECT json FROM messages WHERE conversation_id = ? AND timestamp > ? AND timestamp < ?
       ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?`,
    ),
    msgPageUp: db.prepare<[string, number, number, number, number], { json: string }>(
      `SELECT json FROM messages WHERE conversation_id = ? AND timestamp > ? AND timestamp < ?
       ORDER BY timestamp, id LIMIT ? OFFSET ?`,
    ),
    msgCount: db.prepare<[string, number, number], { n: number }>(
      'SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? AND timestamp > ? AND timestamp < ?',
    ),
    msgPosition: db.prepare<[string], { conversation_id: string; timestamp: number }>(
      'SELECT conversation_id, timestamp FROM messages WHERE id = ?',
    ),
    msgIndex: db.prepare<[string, number, number, string], { n: number }>(
      `SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?
       AND (timestamp < ? OR (timestamp = ? AND id < ?))`,
    ),
    msgUnreadIn: db.prepare<[string], { json: string }>(
      'SELECT json FROM messages WHERE conversation_id = ? AND unread = 1',
    ),
    conversations: db.prepare<[], { conversation_id: string; unread: number }>(
      'SELECT conversation_id, SUM(unread) AS unread FROM messages GROUP BY conversation_id',
    ),
    termPut: db.prepare('INSERT OR REPLACE INTO terms (token, message_id, count) VALUES (?, ?, ?)'),
    termDel: db.prepare('DELETE FROM terms WHERE token = ? AND message_id = ?'),
    termExact: db.prepare<[string], { message_id: string; count: number }>(
      'SELECT message_id, count FROM terms WHERE token = ?',
    ),
    termPrefix: db.prepare<[string, string], { message_id: string; count: number }>(
      'SELECT message_id, SUM(count) AS count FROM terms WHERE token >= ? AND token < ? GROUP BY message_id',
    ),
    outboxPut: db.prepare('INSERT OR REPLACE INTO outbox (key, created_at, json) VALUES (?, ?, ?)'),
    outboxDel: db.prepare('DELETE FROM outbox WHERE key = ?'),
    outboxGet: db.prepare<[string], { json: string }>('SELECT json FROM outbox WHERE key = ?'),
    outboxList: db.prepare<[], { json: string }>(
      'SELECT json FROM outbox ORDER BY created_at, key',
    ),
    seenPut: db.prepare('INSERT OR REPLACE INTO seen (id, at) VALUES (?, ?)'),
    seenHas: db.prepare<[string], { id: string }>('SELECT id FROM seen WHERE id = ?'),
    seenPrune: db.prepare('DELETE FROM seen WHERE at < ?'),
    contactPut: db.prepare('INSERT OR REPLACE INTO contacts (username, json) VALUES (?, ?)'),
    contactGet: db.prepare<[string], { json: string }>(
      'SELECT json FROM contacts WHERE username = ?',
    ),
    contactList: db.prepare<[], { json: string }>('SELECT json FROM contacts ORDER BY username'),
    groupPut: db.prepare('INSERT OR REPLACE INTO groups (group_id, json) VALUES (?, ?)'),
    groupDel: db.prepare('DELETE FROM groups WHERE group_id = ?'),
    groupGet: db.prepare<[string], { json: string }>('SELECT json FROM groups WHERE group_id = ?'),
    groupList: db.prepare<[], { json: string }>('SELECT json FROM groups ORDER BY group_id'),
  };

  const loadMessage = (id: string): MessageRecord | undefined => {
    const row = q.msgGet.get(id);
    return row ? decode<MessageRecord>(row.json) : undefined;
  };

  const primitives: StorePrimitives = {
    putKv: (key, value) => void q.kvPut.run(key, encode(value)),
    deleteKv: (key) => void q.kvDel.run(key),
    putPrekeys: (prekeys) => {
      for (const p of prekeys) q.prekeyPut.run(p.kind, p.id, encode(p));
    },
    deletePrekey: (kind, id) => void q.prekeyDel.run(kind, id),
    putSession: (user, device, state) => void q.sessionPut.run(user, device, Buffer.from(state)),
    deleteSession: (user, device) => void q.sessionDel.run(user, device),
    putOwnSenderKey: (r) => void q.ownSkPut.run(r.groupId, encode(r)),
    deleteOwnSenderKey: (groupId) => void q.ownSkDel.run(groupId),
    putSenderKey: (r) => void q.skPut.run(r.groupId, r.user, r.device, r.keyId, encode(r)),
    deleteSenderKeys: (groupId, user, device) => {
      if (user === undefined) q.skDelGroup.run(groupId);
      else if (device === undefined) q.skDelUser.run(groupId, user);
      else q.skDelDevice.run(groupId, user, device);
    },
    getMessages: (ids) => ids.map(loadMessage),
    putMessages: (writes) => {
      for (const { message: m, index } of writes) {
        q.msgPut.run(m.id, m.conversationId, m.timestamp, m.unread ? 1 : 0, encode(m));
        if (index === null) continue;
        for (const token of index.stale) q.termDel.run(token, m.id);
        for (const [token, count] of index.terms) q.termPut.run(token, m.id, count);
      }
    },
    listUnread: (conversationId) =>
      q.msgUnreadIn.all(conversationId).map((r) => decode<MessageRecord>(r.json)),
    getOutbox: (key) => {
      const row = q.outboxGet.get(key);
      return row ? decode<OutboxEntry>(row.json) : undefined;
    },
    putOutbox: (entries) => {
      for (const { key, entry } of entries) q.outboxPut.run(key, entry.createdAt, encode(entry));
    },
    deleteOutbox: (key) => void q.outboxDel.run(key),
    putSeen: (ids, at) => {
      for (const id of ids) q.seenPut.run(id, at);
    },
    putContact: (c) => void q.contactPut.run(c.username, encode(c)),
    putGroup: (g) => void q.groupPut.run(g.groupId, encode(g)),
    deleteGroup: (groupId) => void q.groupDel.run(groupId),
  };

  const runBatch = db.transaction((ops: readonly StoreOp[]) => applyOpsSync(ops, primitives));

  /** Bind values of a time window (open ends as ±Infinity, which SQLite compares as REAL). */
  const bounds = (w: { before?: number; after?: number }): [number, number] => [
    w.after ?? -Infinity,
    w.before ?? Infinity,
  ];

  const store: ClientStore = {
    async batch(ops) {
      assertKnownOps(ops);
      runBatch(ops);
    },
    async getAccount() {
      const row = q.kvGet.get(ACCOUNT_KEY);
      return row ? decode<AccountRecord>(row.value) : null;
    },
    putAccount(account) {
      return store.batch([{ op: 'putAccount', account }]);
    },
    async getPrekey(kind, id) {
      const row = q.prekeyGet.get(kind, id);
      return row ? decode<PrekeySecretRecord>(row.json) : null;
    },
    async listPrekeys(kind) {
      return q.prekeyList.all(kind).map((r) => decode<PrekeySecretRecord>(r.json));
    },
    async getSession(user, device) {
      const row = q.sessionGet.get(user, device);
      return row ? new Uint8Array(row.state) : null;
    },
    async listSessionDevices(user) {
      return q.sessionDevices.all(user).map((r) => r.device);
    },
    async getOwnSenderKey(groupId) {
      const row = q.ownSkGet.get(groupId);
      return row ? decode<OwnSenderKeyRecord>(row.json) : null;
    },
    async getSenderKey(groupId, user, device, keyId) {
      const row = q.skGet.get(groupId, user, device, keyId);
      return row ? decode<SenderKeyRecord>(row.json) : null;
    },
    async getMessage(id) {
      return loadMessage(id) ?? null;
    },
    async listMessages(conversationId, options = {}) {
      const [after, before] = bounds(options);
      const limit = Math.max(0, options.limit ?? DEFAULT_PAGE);
      const offset = Math.max(0, options.offset ?? 0);
      if (options.from === 'oldest') {
        return q.msgPageUp
          .all(conversationId, after, before, limit, offset)
          .map((r) => decode<MessageRecord>(r.json));
      }
      return q.msgPageDown
        .all(conversationId, after, before, limit, offset)
        .map((r) => decode<MessageRecord>(r.json))
        .reverse();
    },
    async countMessages(conversationId, options = {}) {
      return q.msgCount.get(conversationId, ...bounds(options))!.n;
    },
    async indexOfMessage(id) {
      const m = q.msgPosition.get(id);
      return m ? q.msgIndex.get(m.conversation_id, m.timestamp, m.timestamp, id)!.n : -1;
    },
    async listUnread(conversationId) {
      return (primitives.listUnread(conversationId) as MessageRecord[]).sort(compareMessages);
    },
    async listConversations() {
      const out: ConversationSummary[] = [];
      for (const { conversation_id: conversationId, unread } of q.conversations.all()) {
        const row = q.msgPageDown.get(conversationId, -Infinity, Infinity, 1, 0);
        if (row === undefined) continue;
        const last = decode<MessageRecord>(row.json);
        out.push({
          conversationId,
          lastMessageId: last.id,
          lastTimestamp: last.timestamp,
          unread,
          last,
        });
      }
      return out.sort((a, b) => b.lastTimestamp - a.lastTimestamp);
    },
    async listOutbox() {
      return q.outboxList.all().map((r) => decode<OutboxEntry>(r.json));
    },
    async hasSeen(id) {
      return q.seenHas.get(id) !== undefined;
    },
    async pruneSeen(before) {
      q.seenPrune.run(before);
    },
    async getContact(username) {
      const row = q.contactGet.get(username);
      return row ? decode<ContactRecord>(row.json) : null;
    },
    async listContacts() {
      return q.contactList.all().map((r) => decode<ContactRecord>(r.json));
    },
    async getGroup(groupId) {
      const row = q.groupGet.get(groupId);
      return row ? decode<GroupRecord>(row.json) : null;
    },
    async listGroups() {
      return q.groupList.all().map((r) => decode<GroupRecord>(r.json));
    },
    async getSetting<T>(key: string) {
      const row = q.kvGet.get(settingKey(key));
      return row ? decode<T>(row.value) : undefined;
    },
    setSetting(key, value) {
      return store.batch([{ op: 'setSetting', key, value }]);
    },
    async search(query, options = {}) {
      const parsed = parseQuery(query);
      if (!parsed) return [];
      const toMap = (rows: { message_id: string; count: number }[]): Map<string, number> =>
        new Map(rows.map((r) => [r.message_id, r.count]));
      const matches = parsed.exact.map((t) => toMap(q.termExact.all(t)));
      matches.push(toMap(q.termPrefix.all(parsed.prefix, `${parsed.prefix}\u{10FFFF}`)));
      return rankMatches(matches, loadMessage, options);
    },
    async close() {
      if (db.open) db.close();
    },
  };
  return store;
}
