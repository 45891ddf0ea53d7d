/**
 * Browser {@link ClientStore} on IndexedDB through Dexie 4. The Dexie schema
 * (`version(n).stores()`) is defined here and only here; the web client opens
 * its database through {@link createDexieStore}.
 *
 * Everything is sealed at rest by the one sealing layer (`store/sealed.ts`, PROTOCOL.md §14)
 * under the device's storage key (`store/keyring.ts`), kept in the `storageKey` table: by
 * default wrapped by a non-extractable WebCrypto key, with the app lock by a passphrase. Rows
 * hold a sealed record (`v`) plus the blinded or clear index fields their reads need.
 *
 * Each {@link ClientStore.batch} is one read-write IndexedDB transaction over the tables its
 * ops touch ({@link OP_TABLES}), so a burst of incoming messages is written in a few
 * transactions rather than thousands; sealing is synchronous (libsodium), so it runs inside
 * the transaction without letting it commit early. A burst of new messages is added without
 * reading first (`addMessages`): only ids already stored (a redelivery) are read and replaced.
 *
 * Unread messages carry `unreadIn` (= their blinded conversation, absent once read), indexed
 * so that unread counts and "mark read" touch only the unread rows. The search index is written
 * per batch, in the `postings` table (`dexie-postings.ts`), by the message primitives
 * (`dexie-messages.ts`).
 *
 * Runtime: browser (or Node with `fake-indexeddb` in tests).
 */
import { Dexie, type Table } from 'dexie';
import { ready } from '@sotto/crypto';
import { ACCOUNT_KEY, applyOps, settingKey, type StorePrimitives } from '../store/apply.ts';
import { byText, compareMessages, conversationSummaries, DEFAULT_PAGE } from '../store/common.ts';
import {
  changePassphrase,
  isPassphraseLocked,
  openStorageKey,
  type KeyRecord,
  type KeySlot,
} from '../store/keyring.ts';
import {
  compareOutbox,
  sealedRows,
  type KeyedRow,
  type OutboxRow,
  type PrekeyRow,
  type SealedRows,
  type SenderKeyRow,
  type SessionRow,
} from '../store/rows.ts';
import { createRecordCodec, sealedSearch, type RecordCodec } from '../store/sealed.ts';
import type { AccountRecord, ClientStore, MessageRecord, StoreOp } from '../store/types.ts';
import { assertKnownOps } from '../store/validate.ts';
import { migrateLegacy } from './dexie-legacy.ts';
import {
  messagePrimitives,
  type DexieMessageRow,
  type MessagePrimitives,
  type MessageTables,
} from './dexie-messages.ts';
import {
  bucketOf,
  bucketRecords,
  compactBucket,
  idsOf,
  isSmall,
  MERGE_ABOVE,
  movePostings,
  type PostingRecord,
  type PostingRedirect,
  type PostingTables,
} from './dexie-postings.ts';

/**
 * v4: a v3 row's search keys (`w`: the blinds alone) as `[blind, t]` (no storage key needed:
 * the blinds stay the same, the timestamp is the row's own).
 */
function timedSearchKeys(row: { t: number; w: unknown[] }): void {
  row.w = row.w.map((k): unknown => (Array.isArray(k) ? k : [k, row.t]));
}
interface SeenRow {
  id: string;
  at: number;
}
/** The storage key, and the marker that the clear v1/v2 tables were sealed (or were empty). */
type StorageKeyRow = { id: 'storage'; record: KeyRecord } | { id: 'legacy-sealed' };

/** Drops a put's returned key: primitives resolve to nothing. */
const done = (): void => undefined;

/** The Sotto IndexedDB database: the single definition of its schema. */
export class SottoDb extends Dexie {
  storageKey!: Table<StorageKeyRow, StorageKeyRow['id']>;
  sealedKv!: Table<KeyedRow, string>;
  sealedPrekeys!: Table<PrekeyRow, [string, number]>;
  sealedSessions!: Table<SessionRow, [string, string]>;
  sealedOwnSenderKeys!: Table<KeyedRow, string>;
  sealedSenderKeys!: Table<SenderKeyRow, [string, string, string, number]>;
  sealedMessages!: Table<DexieMessageRow, string>;
  sealedOutbox!: Table<OutboxRow, string>;
  seen!: Table<SeenRow, string>;
  sealedContacts!: Table<KeyedRow, string>;
  sealedGroups!: Table<KeyedRow, string>;
  postings!: Table<PostingRecord, [number, string]>;
  postingRedirects!: Table<PostingRedirect, [number, string]>;

  constructor(name: string) {
    // Every read-write transaction waits for the disk: a batch holds session and sender-key
    // states, and the send path publishes a ciphertext only once the state that produced it is
    // committed. Chromium's default became "relaxed" in version 121 (complete before the data
    // reaches the disk), so after a power loss a state could roll back behind a published
    // ciphertext and the next message would reuse its key. Measured cost: none on a burst of
    // 500-message batches, within the noise on the send path (docs/PERFORMANCE.md, 2026-12-07).
    super(name, { chromeTransactionDurability: 'strict' });
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
    this.version(2).stores({
      messages: 'id, conversationId, [conversationId+timestamp], unreadIn',
    });
    // v3: sealed at rest (issue 15). New tables (IndexedDB cannot change a primary key); the
    // clear v1/v2 tables stay declared only until their rows are sealed into these on open
    // (`dexie-legacy.ts`), and are then empty.
    this.version(3).stores({
      storageKey: 'id',
      sealedKv: 'k',
      sealedPrekeys: '[kind+id], kind',
      sealedSessions: '[u+d], u',
      sealedOwnSenderKeys: 'k',
      sealedSenderKeys: '[g+u+d+keyId], g, [g+u], [g+u+d]',
      sealedMessages: 'id, c, [c+t], unreadIn, *w',
      sealedOutbox: 'k, createdAt',
      sealedContacts: 'k',
      sealedGroups: 'k',
    });
    // v4: search keys carry the timestamp, so a broad search opens the newest candidates first.
    this.version(4)
      .stores({})
      .upgrade((tx) =>
        tx
          .table('sealedMessages')
          .toCollection()
          .modify((row: { t: number; w: unknown[] }) => timedSearchKeys(row)),
      );
    // v5: the search keys leave the message rows for per-batch postings (issue 15: the
    // multi-entry index `*w` was most of a burst's cost), and the redirects of merged ones.
    this.version(5)
      .stores({
        sealedMessages: 'id, c, [c+t], unreadIn',
        postings: '[b+p]',
        postingRedirects: '[b+p], [b+to]',
      })
      .upgrade(movePostings);
  }
}

/** The names of the database's tables. */
type TableName = {
  [K in keyof SottoDb]: SottoDb[K] extends Table ? K : never;
}[keyof SottoDb];

const MESSAGE_TABLES: readonly TableName[] = ['sealedMessages', 'postings', 'postingRedirects'];

/**
 * The tables each op writes or reads: a batch's transaction spans only its ops' tables, so a
 * burst of messages does not hold every table (and reads of the others are not queued behind
 * it).
 */
const OP_TABLES: Record<StoreOp['op'], readonly TableName[]> = {
  putAccount: ['sealedKv'],
  setSetting: ['sealedKv'],
  deleteSetting: ['sealedKv'],
  putPrekeys: ['sealedPrekeys'],
  deletePrekey: ['sealedPrekeys'],
  putSession: ['sealedSessions'],
  deleteSession: ['sealedSessions'],
  putOwnSenderKey: ['sealedOwnSenderKeys'],
  deleteOwnSenderKey: ['sealedOwnSenderKeys'],
  putSenderKey: ['sealedSenderKeys'],
  deleteSenderKeys: ['sealedSenderKeys'],
  putMessage: MESSAGE_TABLES,
  setReceipt: MESSAGE_TABLES,
  editMessage: MESSAGE_TABLES,
  deleteMessage: MESSAGE_TABLES,
  react: MESSAGE_TABLES,
  markConversationRead: MESSAGE_TABLES,
  putOutbox: ['sealedOutbox'],
  removeOutbox: ['sealedOutbox'],
  touchOutbox: ['sealedOutbox'],
  markSeen: ['seen'],
  putContact: ['sealedContacts'],
  putGroup: ['sealedGroups'],
  deleteGroup: ['sealedGroups'],
};

/** Options for {@link createDexieStore}. */
export interface DexieStoreOptions {
  /** IndexedDB database name (one per account on a browser profile). */
  name: string;
  /** The app-lock passphrase, for a database that has one (or to set one on a new database). */
  passphrase?: string;
}

/**
 * Delete a store's whole IndexedDB database (sign-out with wipe, a failed first sign-in). Close
 * the store first; callers outside this module never name Dexie or the schema.
 */
export function deleteDexieStore(name: string): Promise<void> {
  return Dexie.delete(name);
}

/** The key slot of a database: its `storageKey` row. */
function keySlot(db: SottoDb): KeySlot {
  return {
    load: async () => {
      const row = await db.storageKey.get('storage');
      return row?.id === 'storage' ? row.record : undefined;
    },
    add: (record) =>
      db.storageKey.add({ id: 'storage', record }).then(
        () => true,
        (err: unknown) => {
          if (err instanceof Dexie.ConstraintError) return false;
          throw err;
        },
      ),
    save: (record) => db.storageKey.put({ id: 'storage', record }).then(done),
  };
}

/** Run `fn` on the key slot of database `name` (its own short-lived connection). */
async function withSlot<T>(name: string, fn: (slot: KeySlot) => Promise<T>): Promise<T> {
  const db = new SottoDb(name);
  try {
    return await fn(keySlot(db));
  } finally {
    db.close();
  }
}

/** Whether database `name` is locked by a passphrase (the app asks for it before opening). */
export function isDexieStoreLocked(name: string): Promise<boolean> {
  return withSlot(name, isPassphraseLocked);
}

/**
 * Turn the app lock on (`next` given, `current` undefined), change it, or turn it off (`next`
 * undefined: the key goes back under a new non-extractable device key). The data is not
 * re-sealed: only the storage key's wrapping changes.
 *
 * @throws ClientError `WRONG_PASSPHRASE` when `current` does not open it (nothing changed).
 */
export function setDexieStorePassphrase(
  name: string,
  current: string | undefined,
  next: string | undefined,
): Promise<void> {
  return withSlot(name, (slot) => changePassphrase(slot, current, next, 'device'));
}

/**
 * Open a Dexie-backed client store. Opening is lazy: the storage key is unwrapped on the first
 * call, which fails with `ClientError('STORE_LOCKED')` or `('WRONG_PASSPHRASE')` when the
 * database has an app lock and no or a wrong passphrase was given.
 */
export function createDexieStore(options: DexieStoreOptions): ClientStore {
  const db = new SottoDb(options.name);
  let codec!: RecordCodec;
  let rows!: SealedRows;
  const opening = (async () => {
    await ready();
    const [key, sealedBefore] = await Promise.all([
      openStorageKey(keySlot(db), { passphrase: options.passphrase, fresh: 'device' }),
      db.storageKey.get('legacy-sealed'),
    ]);
    codec = createRecordCodec(key);
    rows = sealedRows(codec);
    // Once per database: seal what an older version left in clear (not on every open).
    if (sealedBefore === undefined) {
      await migrateLegacy(db, (ops) => applyOps(ops, primitives()));
      await db.storageKey.put({ id: 'legacy-sealed' });
    }
  })();
  // A failed open is reported by every call; this keeps it from being an unhandled rejection.
  opening.catch(() => undefined);

  /** The index range of one (blinded) conversation's messages, strictly inside a time window. */
  const range = (c: string, w: { before?: number; after?: number } = {}) =>
    db.sealedMessages
      .where('[c+t]')
      .between([c, w.after ?? -Infinity], [c, w.before ?? Infinity], w.after === undefined, false);
  const window = (conversationId: string, w: { before?: number; after?: number } = {}) =>
    range(rows.conversationKey(conversationId), w);
  const openMessages = (list: readonly DexieMessageRow[]) => list.map((r) => rows.openMessage(r));
  const postingTables: PostingTables = { records: db.postings, redirects: db.postingRedirects };
  /** A key's postings, newest first; a bucket of too many small records is merged first. */
  const postings = async (key: string): Promise<string[]> => {
    const b = bucketOf(key);
    const records = await bucketRecords(db.postings, b);
    if (records.filter(isSmall).length <= MERGE_ABOVE) return idsOf(records, key);
    await db.transaction('rw', db.postings, db.postingRedirects, () =>
      compactBucket(postingTables, b),
    );
    return idsOf(await bucketRecords(db.postings, b), key);
  };

  const messageTables: MessageTables = {
    messages: db.sealedMessages,
    postings: postingTables,
  };
  /** Fresh primitives for one batch (see {@link messagePrimitives}). */
  const primitives = (): StorePrimitives => ({
    ...basePrimitives,
    ...messagePrimitives(messageTables, rows, new Map()),
  });
  const basePrimitives: Omit<StorePrimitives, keyof MessagePrimitives> = {
    putKv: (key, value) => db.sealedKv.put(rows.kv(key, value)).then(done),
    deleteKv: (key) => db.sealedKv.delete(rows.kvKey(key)),
    putPrekeys: (prekeys) =>
      db.sealedPrekeys.bulkPut(prekeys.map((p) => rows.prekey(p))).then(done),
    deletePrekey: (kind, id) => db.sealedPrekeys.delete([kind, id]),
    putSession: (user, device, state) =>
      db.sealedSessions.put(rows.session(user, device, state)).then(done),
    deleteSession: (user, device) => {
      const { u, d } = rows.sessionKey(user, device);
      return db.sealedSessions.delete([u, d]);
    },
    putOwnSenderKey: (r) => db.sealedOwnSenderKeys.put(rows.ownSenderKey(r)).then(done),
    deleteOwnSenderKey: (groupId) => db.sealedOwnSenderKeys.delete(rows.groupKey(groupId)),
    putSenderKey: (r) => db.sealedSenderKeys.put(rows.senderKey(r)).then(done),
    deleteSenderKeys: async (groupId, user, device) => {
      const k = rows.senderKeyKey(groupId, user ?? '', device ?? '');
      if (user === undefined) await db.sealedSenderKeys.where('g').equals(k.g).delete();
      else if (device === undefined) {
        await db.sealedSenderKeys.where('[g+u]').equals([k.g, k.u]).delete();
      } else {
        await db.sealedSenderKeys.where('[g+u+d]').equals([k.g, k.u, k.d]).delete();
      }
    },
    getOutbox: async (key) => {
      const row = await db.sealedOutbox.get(rows.outboxKey(key));
      return row && rows.openOutbox(row);
    },
    putOutbox: (entries) =>
      db.sealedOutbox.bulkPut(entries.map(({ key, entry }) => rows.outbox(key, entry))).then(done),
    deleteOutbox: (keys) => db.sealedOutbox.bulkDelete(keys.map((k) => rows.outboxKey(k))),
    putSeen: (ids, at) => db.seen.bulkPut(ids.map((id) => ({ id, at }))).then(done),
    putContact: (c) => db.sealedContacts.put(rows.contact(c)).then(done),
    putGroup: (g) => db.sealedGroups.put(rows.group(g)).then(done),
    deleteGroup: (groupId) => db.sealedGroups.delete(rows.groupKey(groupId)),
  };

  const store: ClientStore = {
    async batch(ops) {
      assertKnownOps(ops);
      await opening;
      const tables = new Set(ops.flatMap(({ op }) => OP_TABLES[op]));
      if (tables.size === 0) return;
      await db.transaction('rw', [...tables], () => applyOps(ops, primitives()));
    },
    async getAccount() {
      await opening;
      const row = await db.sealedKv.get(rows.kvKey(ACCOUNT_KEY));
      return row ? rows.openKv<AccountRecord>(ACCOUNT_KEY, row) : null;
    },
    putAccount(account) {
      return store.batch([{ op: 'putAccount', account }]);
    },
    async getPrekey(kind, id) {
      await opening;
      const row = await db.sealedPrekeys.get([kind, id]);
      return row ? rows.openPrekey(row) : null;
    },
    async listPrekeys(kind) {
      await opening;
      const list = await db.sealedPrekeys.where('kind').equals(kind).sortBy('id');
      return list.map((r) => rows.openPrekey(r));
    },
    async getSession(user, device) {
      await opening;
      const { u, d } = rows.sessionKey(user, device);
      const row = await db.sealedSessions.get([u, d]);
      return row ? rows.openSession(row).state : null;
    },
    async listSessionDevices(user) {
      await opening;
      const list = await db.sealedSessions.where('u').equals(rows.userKey(user)).toArray();
      return list.map((r) => rows.openSession(r).device).sort();
    },
    async getOwnSenderKey(groupId) {
      await opening;
      const row = await db.sealedOwnSenderKeys.get(rows.groupKey(groupId));
      return row ? rows.openOwnSenderKey(row) : null;
    },
    async getSenderKey(groupId, user, device, keyId) {
      await opening;
      const k = rows.senderKeyKey(groupId, user, device);
      const row = await db.sealedSenderKeys.get([k.g, k.u, k.d, keyId]);
      return row ? rows.openSenderKey(row) : null;
    },
    async getMessage(id) {
      await opening;
      const row = await db.sealedMessages.get(id);
      return row ? rows.openMessage(row) : null;
    },
    async listMessages(conversationId, options = {}) {
      await opening;
      const limit = Math.max(0, options.limit ?? DEFAULT_PAGE);
      const offset = Math.max(0, options.offset ?? 0);
      const win = window(conversationId, options);
      // IndexedDB orders equal index keys by primary key (the id), so a cursor walks the
      // conversation in (timestamp, id) order either way; offsets advance the cursor unread.
      if (options.from === 'oldest') {
        return openMessages(await win.offset(offset).limit(limit).toArray());
      }
      const list = await win.reverse().offset(offset).limit(limit).toArray();
      return openMessages(list.reverse());
    },
    async countMessages(conversationId, options = {}) {
      await opening;
      return window(conversationId, options).count();
    },
    async indexOfMessage(id) {
      await opening;
      const m = await db.sealedMessages.get(id);
      if (m === undefined) return -1;
      const [before, same] = await Promise.all([
        range(m.c, { before: m.t }).count(),
        db.sealedMessages.where('[c+t]').equals([m.c, m.t]).primaryKeys(),
      ]);
      return before + same.filter((other) => other < id).length;
    },
    async listUnread(conversationId) {
      await opening;
      return (await primitives().listUnread(conversationId)).sort(compareMessages);
    },
    async listConversations() {
      await opening;
      const blinds = (await db.sealedMessages.orderBy('c').uniqueKeys()) as string[];
      const latest: { last: MessageRecord; unread: number }[] = [];
      for (const c of blinds) {
        const [row, unread] = await Promise.all([
          range(c).last(),
          db.sealedMessages.where('unreadIn').equals(c).count(),
        ]);
        if (row) latest.push({ last: rows.openMessage(row), unread });
      }
      return conversationSummaries(latest);
    },
    async listOutbox() {
      await opening;
      return (await db.sealedOutbox.toArray()).map((r) => rows.openOutbox(r)).sort(compareOutbox);
    },
    async hasSeen(id) {
      await opening;
      return (await db.seen.get(id)) !== undefined;
    },
    async seenAmong(ids) {
      await opening;
      const found = await db.seen.bulkGet([...ids]);
      return new Set(ids.filter((_, i) => found[i] !== undefined));
    },
    async pruneSeen(before) {
      await opening;
      await db.seen.where('at').below(before).delete();
    },
    async getContact(username) {
      await opening;
      const row = await db.sealedContacts.get(rows.userKey(username));
      return row ? rows.openContact(row) : null;
    },
    async listContacts() {
      await opening;
      const list = (await db.sealedContacts.toArray()).map((r) => rows.openContact(r));
      return list.sort((a, b) => byText(a.username, b.username));
    },
    async getGroup(groupId) {
      await opening;
      const row = await db.sealedGroups.get(rows.groupKey(groupId));
      return row ? rows.openGroup(row) : null;
    },
    async listGroups() {
      await opening;
      const list = (await db.sealedGroups.toArray()).map((r) => rows.openGroup(r));
      return list.sort((a, b) => byText(a.groupId, b.groupId));
    },
    async getSetting<T>(key: string) {
      await opening;
      const row = await db.sealedKv.get(rows.kvKey(settingKey(key)));
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
          postings,
          conversation: (c) => window(c).reverse().primaryKeys(),
          load: async (ids) =>
            openMessages((await db.sealedMessages.bulkGet(ids)).filter((r) => r !== undefined)),
        },
        query,
        options,
      );
    },
    async close() {
      await opening.catch(() => undefined);
      db.close();
    },
  };
  return store;
}
