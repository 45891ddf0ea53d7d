/**
 * Durable Node {@link ClientStore} on SQLite (better-sqlite3) for bots, the CLI
 * and the IoT bridge. One file, WAL journal, file mode 0600 (it holds private
 * keys and history). Every {@link ClientStore.batch} is one SQLite
 * transaction running the shared applier (`store/apply.ts`) over this file's
 * primitives. Every record is sealed at rest by the one sealing layer (`store/sealed.ts`,
 * `store/rows.ts`, PROTOCOL.md §14) under a storage key kept in the `storage_key` table, in
 * clear or — with a passphrase — wrapped under it (`store/keyring.ts`). The search index is
 * one row per blinded key and write (`sqlite-postings.ts`); a batch's existence check, seen-id
 * check and seen-id write are one statement each, not one per message (issue 23).
 *
 * Runtime: Node only.
 */
/* eslint-disable @typescript-eslint/require-await -- a synchronous backend implementing the async ClientStore interface */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ACCOUNT_KEY, applyOpsSync, settingKey, type StorePrimitives } from '../store/apply.ts';
import { ready } from '@sotto/crypto';
import { byText, compareMessages, conversationSummaries, DEFAULT_PAGE } from '../store/common.ts';
import { openStorageKey, type KeyRecord, type KeySlot } from '../store/keyring.ts';
import {
  compareOutbox,
  sealedRows,
  type KeyedRow,
  type PrekeyRow,
  type SealedRows,
  type SenderKeyRow,
  type SessionRow,
} from '../store/rows.ts';
import {
  createRecordCodec,
  decodeJson,
  encodeJson,
  sealedSearch,
  type RecordCodec,
} from '../store/sealed.ts';
import type { AccountRecord, ClientStore, MessageRecord, StoreOp } from '../store/types.ts';
import { assertKnownOps } from '../store/validate.ts';
import { migrateLegacySqlite } from './sqlite-legacy.ts';
import { migrateTermRows, POSTINGS_SCHEMA, sqlitePostings } from './sqlite-postings.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS storage_key (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sealed_kv (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sealed_prekeys (kind TEXT NOT NULL, id INTEGER NOT NULL, v BLOB NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS sealed_sessions (u TEXT NOT NULL, d TEXT NOT NULL, v BLOB NOT NULL, PRIMARY KEY (u, d));
CREATE TABLE IF NOT EXISTS sealed_own_sender_keys (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sealed_sender_keys (g TEXT NOT NULL, u TEXT NOT NULL, d TEXT NOT NULL, key_id INTEGER NOT NULL, v BLOB NOT NULL, PRIMARY KEY (g, u, d, key_id));
CREATE TABLE IF NOT EXISTS sealed_messages (id TEXT PRIMARY KEY, c TEXT NOT NULL, t INTEGER NOT NULL, unread INTEGER NOT NULL, v BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sealed_messages_in_order ON sealed_messages (c, t, id);
CREATE INDEX IF NOT EXISTS sealed_messages_unread ON sealed_messages (c) WHERE unread = 1;
CREATE TABLE IF NOT EXISTS sealed_outbox (k TEXT PRIMARY KEY, created_at INTEGER NOT NULL, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sealed_contacts (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sealed_groups (k TEXT PRIMARY KEY, v BLOB NOT NULL);
`;

/** Options for {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. */
  path: string;
  /**
   * Passphrase the storage key is wrapped under (CLI `--passphrase-file`, `SOTTO_PASSPHRASE`).
   * Required once a store has one; given for a store without one, it sets it. Without one the
   * storage key is kept in the file beside the data, and the file's 0600 mode is the protection.
   */
  passphrase?: string;
}

/**
 * Open (creating if needed) a SQLite client store. The file and its WAL side-files are made
 * mode 0600; every record is sealed (`store/sealed.ts`). Opening is lazy: the storage key is
 * unwrapped on the first call, which fails with `ClientError('STORE_LOCKED')` or
 * `('WRONG_PASSPHRASE')` for a passphrase-protected file opened without or with a wrong one.
 */
export function createSqliteStore(options: SqliteStoreOptions): ClientStore {
  const { path } = options;
  const onDisk = path !== ':memory:';
  if (onDisk && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  if (onDisk) chmodSync(path, 0o600);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits to a power loss, and a batch
  // holds the session states a published ciphertext came from — rolled back, the next message
  // would reuse a key. An fsync a commit: ~0.25 ms here; the queued burst did not move
  // (docs/PERFORMANCE.md, 2026-12-07).
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Deleted and overwritten rows are zeroed on disk, not left in free pages.
  db.pragma('secure_delete = ON');
  db.exec(SCHEMA + POSTINGS_SCHEMA);
  migrateTermRows(db);
  const postings = sqlitePostings(db);
  if (onDisk) {
    for (const side of [`${path}-wal`, `${path}-shm`]) if (existsSync(side)) chmodSync(side, 0o600);
  }

  const q = {
    keyGet: db.prepare<[], { json: string }>("SELECT json FROM storage_key WHERE id = 'storage'"),
    keyAdd: db.prepare("INSERT OR IGNORE INTO storage_key (id, json) VALUES ('storage', ?)"),
    keyPut: db.prepare("INSERT OR REPLACE INTO storage_key (id, json) VALUES ('storage', ?)"),
    kvGet: db.prepare<[string], { k: string; v: Uint8Array }>(
      'SELECT k, v FROM sealed_kv WHERE k = ?',
    ),
    kvPut: db.prepare('INSERT OR REPLACE INTO sealed_kv (k, v) VALUES (?, ?)'),
    kvDel: db.prepare('DELETE FROM sealed_kv WHERE k = ?'),
    prekeyPut: db.prepare('INSERT OR REPLACE INTO sealed_prekeys (kind, id, v) VALUES (?, ?, ?)'),
    prekeyDel: db.prepare('DELETE FROM sealed_prekeys WHERE kind = ? AND id = ?'),
    prekeyGet: db.prepare<[string, number], PrekeyRow>(
      'SELECT kind, id, v FROM sealed_prekeys WHERE kind = ? AND id = ?',
    ),
    prekeyList: db.prepare<[string], PrekeyRow>(
      'SELECT kind, id, v FROM sealed_prekeys WHERE kind = ? ORDER BY id',
    ),
    sessionPut: db.prepare('INSERT OR REPLACE INTO sealed_sessions (u, d, v) VALUES (?, ?, ?)'),
    sessionDel: db.prepare('DELETE FROM sealed_sessions WHERE u = ? AND d = ?'),
    sessionGet: db.prepare<[string, string], SessionRow>(
      'SELECT u, d, v FROM sealed_sessions WHERE u = ? AND d = ?',
    ),
    sessionsOf: db.prepare<[string], SessionRow>('SELECT u, d, v FROM sealed_sessions WHERE u = ?'),
    ownSkPut: db.prepare('INSERT OR REPLACE INTO sealed_own_sender_keys (k, v) VALUES (?, ?)'),
    ownSkDel: db.prepare('DELETE FROM sealed_own_sender_keys WHERE k = ?'),
    ownSkGet: db.prepare<[string], KeyedRow>('SELECT k, v FROM sealed_own_sender_keys WHERE k = ?'),
    skPut: db.prepare(
      'INSERT OR REPLACE INTO sealed_sender_keys (g, u, d, key_id, v) VALUES (?, ?, ?, ?, ?)',
    ),
    skGet: db.prepare<[string, string, string, number], SenderKeyRow>(
      'SELECT g, u, d, key_id AS keyId, v FROM sealed_sender_keys WHERE g = ? AND u = ? AND d = ? AND key_id = ?',
    ),
    skDelGroup: db.prepare('DELETE FROM sealed_sender_keys WHERE g = ?'),
    skDelUser: db.prepare('DELETE FROM sealed_sender_keys WHERE g = ? AND u = ?'),
    skDelDevice: db.prepare('DELETE FROM sealed_sender_keys WHERE g = ? AND u = ? AND d = ?'),
    msgPut: db.prepare(
      'INSERT OR REPLACE INTO sealed_messages (id, c, t, unread, v) VALUES (?, ?, ?, ?, ?)',
    ),
    msgGet: db.prepare<[string], { id: string; v: Uint8Array }>(
      'SELECT id, v FROM sealed_messages WHERE id = ?',
    ),
    /** Rows of a JSON array of ids, in one statement (a receive batch's existence check). */
    msgGetMany: db.prepare<[string], { id: string; v: Uint8Array }>(
      'SELECT id, v FROM sealed_messages WHERE id IN (SELECT value FROM json_each(?))',
    ),
    msgPageDown: db.prepare<
      [string, number, number, number, number],
      { id: string; v: Uint8Array }
    >(
      `SELECT id, v FROM sealed_messages WHERE c = ? AND t > ? AND t < ?
       ORDER BY t DESC, id DESC LIMIT ? OFFSET ?`,
    ),
    msgPageUp: db.prepare<[string, number, number, number, number], { id: string; v: Uint8Array }>(
      `SELECT id, v FROM sealed_messages WHERE c = ? AND t > ? AND t < ?
       ORDER BY t, id LIMIT ? OFFSET ?`,
    ),
    msgCount: db.prepare<[string, number, number], { n: number }>(
      'SELECT COUNT(*) AS n FROM sealed_messages WHERE c = ? AND t > ? AND t < ?',
    ),
    msgPosition: db.prepare<[string], { c: string; t: number }>(
      'SELECT c, t FROM sealed_messages WHERE id = ?',
    ),
    msgIndex: db.prepare<[string, number, number, string], { n: number }>(
      `SELECT COUNT(*) AS n FROM sealed_messages WHERE c = ? AND (t < ? OR (t = ? AND id < ?))`,
    ),
    msgUnreadIn: db.prepare<[string], { id: string; v: Uint8Array }>(
      'SELECT id, v FROM sealed_messages WHERE c = ? AND unread = 1',
    ),
    conversations: db.prepare<[], { c: string; unread: number }>(
      'SELECT c, SUM(unread) AS unread FROM sealed_messages GROUP BY c',
    ),
    conversationIds: db.prepare<[string], { id: string }>(
      'SELECT id FROM sealed_messages WHERE c = ? ORDER BY t DESC, id DESC',
    ),
    outboxPut: db.prepare(
      'INSERT OR REPLACE INTO sealed_outbox (k, created_at, v) VALUES (?, ?, ?)',
    ),
    outboxDel: db.prepare('DELETE FROM sealed_outbox WHERE k = ?'),
    outboxGet: db.prepare<[string], KeyedRow>('SELECT k, v FROM sealed_outbox WHERE k = ?'),
    outboxList: db.prepare<[], KeyedRow>('SELECT k, v FROM sealed_outbox'),
    seenPut: db.prepare('INSERT OR REPLACE INTO seen (id, at) SELECT value, ? FROM json_each(?)'),
    seenHas: db.prepare<[string], { id: string }>('SELECT id FROM seen WHERE id = ?'),
    seenAmong: db.prepare<[string], { id: string }>(
      'SELECT id FROM seen WHERE id IN (SELECT value FROM json_each(?))',
    ),
    seenPrune: db.prepare('DELETE FROM seen WHERE at < ?'),
    contactPut: db.prepare('INSERT OR REPLACE INTO sealed_contacts (k, v) VALUES (?, ?)'),
    contactGet: db.prepare<[string], KeyedRow>('SELECT k, v FROM sealed_contacts WHERE k = ?'),
    contactList: db.prepare<[], KeyedRow>('SELECT k, v FROM sealed_contacts'),
    groupPut: db.prepare('INSERT OR REPLACE INTO sealed_groups (k, v) VALUES (?, ?)'),
    groupDel: db.prepare('DELETE FROM sealed_groups WHERE k = ?'),
    groupGet: db.prepare<[string], KeyedRow>('SELECT k, v FROM sealed_groups WHERE k = ?'),
    groupList: db.prepare<[], KeyedRow>('SELECT k, v FROM sealed_groups'),
  };

  const slot: KeySlot = {
    load: async () => {
      const row = q.keyGet.get();
      return row ? decodeJson<KeyRecord>(row.json) : undefined;
    },
    add: async (record) => q.keyAdd.run(encodeJson(record)).changes === 1,
    save: async (record) => void q.keyPut.run(encodeJson(record)),
  };

  let rows!: SealedRows;
  let codec!: RecordCodec;
  const opening = (async () => {
    await ready();
    const key = await openStorageKey(slot, { passphrase: options.passphrase, fresh: 'plain' });
    codec = createRecordCodec(key);
    rows = sealedRows(codec);
    migrateLegacySqlite(db, (ops) => runBatch(ops));
  })();
  // A failed open is reported by every call; this keeps it from being an unhandled rejection.
  opening.catch(() => undefined);

  const loadMessage = (id: string): MessageRecord | undefined => {
    const row = q.msgGet.get(id);
    return row ? rows.openMessage(row) : undefined;
  };

  const primitives: StorePrimitives = {
    putKv: (key, value) => {
      const { k, v } = rows.kv(key, value);
      q.kvPut.run(k, v);
    },
    deleteKv: (key) => void q.kvDel.run(rows.kvKey(key)),
    putPrekeys: (prekeys) => {
      for (const p of prekeys) {
        const { kind, id, v } = rows.prekey(p);
        q.prekeyPut.run(kind, id, v);
      }
    },
    deletePrekey: (kind, id) => void q.prekeyDel.run(kind, id),
    putSession: (user, device, state) => {
      const { u, d, v } = rows.session(user, device, state);
      q.sessionPut.run(u, d, v);
    },
    deleteSession: (user, device) => {
      const { u, d } = rows.sessionKey(user, device);
      q.sessionDel.run(u, d);
    },
    putOwnSenderKey: (r) => {
      const { k, v } = rows.ownSenderKey(r);
      q.ownSkPut.run(k, v);
    },
    deleteOwnSenderKey: (groupId) => void q.ownSkDel.run(rows.groupKey(groupId)),
    putSenderKey: (r) => {
      const { g, u, d, keyId, v } = rows.senderKey(r);
      q.skPut.run(g, u, d, keyId, v);
    },
    deleteSenderKeys: (groupId, user, device) => {
      const k = rows.senderKeyKey(groupId, user ?? '', device ?? '');
      if (user === undefined) q.skDelGroup.run(k.g);
      else if (device === undefined) q.skDelUser.run(k.g, k.u);
      else q.skDelDevice.run(k.g, k.u, k.d);
    },
    getMessages: (ids) => {
      if (ids.length === 1) return [loadMessage(ids[0]!)];
      const found = new Map(q.msgGetMany.all(JSON.stringify(ids)).map((r) => [r.id, r]));
      return ids.map((id) => {
        const row = found.get(id);
        return row ? rows.openMessage(row) : undefined;
      });
    },
    putMessages: (writes) => {
      // The call's new postings go down as one row per blinded key (sqlite-postings.ts).
      const terms = postings.begin();
      for (const { message, index } of writes) {
        const { id, c, t, unread, v } = rows.message(message);
        q.msgPut.run(id, c, t, unread ? 1 : 0, v);
        if (index === null) continue;
        const { added, stale } = rows.terms(index);
        terms.change(id, added, stale);
      }
      terms.write();
    },
    listUnread: (conversationId) =>
      q.msgUnreadIn.all(rows.conversationKey(conversationId)).map((r) => rows.openMessage(r)),
    getOutbox: (key) => {
      const row = q.outboxGet.get(rows.outboxKey(key));
      return row ? rows.openOutbox(row) : undefined;
    },
    putOutbox: (entries) => {
      for (const { key, entry } of entries) {
        const { k, createdAt, v } = rows.outbox(key, entry);
        q.outboxPut.run(k, createdAt, v);
      }
    },
    deleteOutbox: (keys) => {
      for (const key of keys) q.outboxDel.run(rows.outboxKey(key));
    },
    putSeen: (ids, at) => void q.seenPut.run(at, JSON.stringify(ids)),
    putContact: (c) => {
      const { k, v } = rows.contact(c);
      q.contactPut.run(k, v);
    },
    putGroup: (g) => {
      const { k, v } = rows.group(g);
      q.groupPut.run(k, v);
    },
    deleteGroup: (groupId) => void q.groupDel.run(rows.groupKey(groupId)),
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
      await opening;
      runBatch(ops);
    },
    async getAccount() {
      await opening;
      const row = q.kvGet.get(rows.kvKey(ACCOUNT_KEY));
      return row ? rows.openKv<AccountRecord>(ACCOUNT_KEY, row) : null;
    },
    putAccount(account) {
      return store.batch([{ op: 'putAccount', account }]);
    },
    async getPrekey(kind, id) {
      await opening;
      const row = q.prekeyGet.get(kind, id);
      return row ? rows.openPrekey(row) : null;
    },
    async listPrekeys(kind) {
      await opening;
      return q.prekeyList.all(kind).map((r) => rows.openPrekey(r));
    },
    async getSession(user, device) {
      await opening;
      const { u, d } = rows.sessionKey(user, device);
      const row = q.sessionGet.get(u, d);
      return row ? new Uint8Array(rows.openSession(row).state) : null;
    },
    async listSessionDevices(user) {
      await opening;
      return q.sessionsOf
        .all(rows.userKey(user))
        .map((r) => rows.openSession(r).device)
        .sort();
    },
    async getOwnSenderKey(groupId) {
      await opening;
      const row = q.ownSkGet.get(rows.groupKey(groupId));
      return row ? rows.openOwnSenderKey(row) : null;
    },
    async getSenderKey(groupId, user, device, keyId) {
      await opening;
      const k = rows.senderKeyKey(groupId, user, device);
      const row = q.skGet.get(k.g, k.u, k.d, keyId);
      return row ? rows.openSenderKey(row) : null;
    },
    async getMessage(id) {
      await opening;
      return loadMessage(id) ?? null;
    },
    async listMessages(conversationId, options = {}) {
      await opening;
      const c = rows.conversationKey(conversationId);
      const [after, before] = bounds(options);
      const limit = Math.max(0, options.limit ?? DEFAULT_PAGE);
      const offset = Math.max(0, options.offset ?? 0);
      if (options.from === 'oldest') {
        return q.msgPageUp.all(c, after, before, limit, offset).map((r) => rows.openMessage(r));
      }
      return q.msgPageDown
        .all(c, after, before, limit, offset)
        .map((r) => rows.openMessage(r))
        .reverse();
    },
    async countMessages(conversationId, options = {}) {
      await opening;
      return q.msgCount.get(rows.conversationKey(conversationId), ...bounds(options))!.n;
    },
    async indexOfMessage(id) {
      await opening;
      const m = q.msgPosition.get(id);
      return m ? q.msgIndex.get(m.c, m.t, m.t, id)!.n : -1;
    },
    async listUnread(conversationId) {
      await opening;
      return (primitives.listUnread(conversationId) as MessageRecord[]).sort(compareMessages);
    },
    async listConversations() {
      await opening;
      const latest: { last: MessageRecord; unread: number }[] = [];
      for (const { c, unread } of q.conversations.all()) {
        const row = q.msgPageDown.get(c, -Infinity, Infinity, 1, 0);
        if (row !== undefined) latest.push({ last: rows.openMessage(row), unread });
      }
      return conversationSummaries(latest);
    },
    async listOutbox() {
      await opening;
      return q.outboxList
        .all()
        .map((r) => rows.openOutbox(r))
        .sort(compareOutbox);
    },
    async hasSeen(id) {
      await opening;
      return q.seenHas.get(id) !== undefined;
    },
    async seenAmong(ids) {
      await opening;
      return new Set(q.seenAmong.all(JSON.stringify(ids)).map((r) => r.id));
    },
    async pruneSeen(before) {
      await opening;
      q.seenPrune.run(before);
    },
    async getContact(username) {
      await opening;
      const row = q.contactGet.get(rows.userKey(username));
      return row ? rows.openContact(row) : null;
    },
    async listContacts() {
      await opening;
      return q.contactList
        .all()
        .map((r) => rows.openContact(r))
        .sort((a, b) => byText(a.username, b.username));
    },
    async getGroup(groupId) {
      await opening;
      const row = q.groupGet.get(rows.groupKey(groupId));
      return row ? rows.openGroup(row) : null;
    },
    async listGroups() {
      await opening;
      return q.groupList
        .all()
        .map((r) => rows.openGroup(r))
        .sort((a, b) => byText(a.groupId, b.groupId));
    },
    async getSetting<T>(key: string) {
      await opening;
      const row = q.kvGet.get(rows.kvKey(settingKey(key)));
      return row ? rows.openKv<T>(settingKey(key), row) : undefined;
    },
    setSetting(key, value) {
      return store.batch([{ op: 'setSetting', key, value }]);
    },
    async search(query, options = {}) {
      await opening;
      return sealedSearch(
        codec,
        {
          postings: (k) => postings.ids(k),
          conversation: (c) => q.conversationIds.all(rows.conversationKey(c)).map((r) => r.id),
          load: (ids) => ids.flatMap((id) => loadMessage(id) ?? []),
        },
        query,
        options,
      );
    },
    async close() {
      await opening.catch(() => undefined);
      if (db.open) db.close();
    },
  };
  return store;
}
