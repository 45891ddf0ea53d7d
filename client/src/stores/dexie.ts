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
 * It never leaves this module's reads; the web client's direct reads may see it.
 *
 * Runtime: browser (or Node with `fake-indexeddb` in tests).
 */
import { Dexie, type Table } from 'dexie';
import {
  messageTerms,
  outboxKey,
  parseQuery,
  rankMatches,
  withDelete,
  withEdit,
  withReaction,
  withReceipt,
} from '../store/common.ts';
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

/** Open a Dexie-backed client store. */
export function createDexieStore(options: DexieStoreOptions): ClientStore {
  const db = new SottoDb(options.name);

  const putMessage = (m: MessageRecord): Promise<void> => putMessages([m]);
  /** Bulk path for runs of putMessage ops: one delete, two bulkPuts (bursts of thousands). */
  const putMessages = async (ms: MessageRecord[]): Promise<void> => {
    // Only messages already stored have terms to drop; compute their keys
    // instead of scanning the messageId index (much cheaper on big bursts).
    const existing = await db.messages.bulkGet(ms.map((m) => m.id));
    const stale: [string, string][] = [];
    for (const old of existing) {
      if (old) for (const token of messageTerms(old).keys()) stale.push([token, old.id]);
    }
    if (stale.length) await db.terms.bulkDelete(stale);
    await db.messages.bulkPut(ms.map(toRow));
    const rows: TermRow[] = [];
    for (const m of ms) {
      for (const [token, count] of messageTerms(m)) rows.push({ token, messageId: m.id, count });
    }
    if (rows.length) await db.terms.bulkPut(rows);
  };
  const update = async (id: string, fn: (m: MessageRecord) => MessageRecord): Promise<void> => {
    const m = fromRow(await db.messages.get(id));
    if (m) await putMessage(fn(m));
  };

  const apply = async (op: StoreOp): Promise<void> => {
    switch (op.op) {
      case 'putAccount':
        await db.kv.put({ key: 'account', value: op.account });
        return;
      case 'putPrekeys':
        await db.prekeys.bulkPut(op.prekeys);
        return;
      case 'deletePrekey':
        await db.prekeys.delete([op.kind, op.id]);
        return;
      case 'putSession':
        await db.sessions.put({ user: op.user, device: op.device, state: op.state });
        return;
      case 'deleteSession':
        await db.sessions.delete([op.user, op.device]);
        return;
      case 'putOwnSenderKey':
        await db.ownSenderKeys.put(op.record);
        return;
      case 'deleteOwnSenderKey':
        await db.ownSenderKeys.delete(op.groupId);
        return;
      case 'putSenderKey':
        await db.senderKeys.put(op.record);
        return;
      case 'deleteSenderKeys':
        if (op.user === undefined) await db.senderKeys.where('groupId').equals(op.groupId).delete();
        else if (op.device === undefined) {
          await db.senderKeys.where('[groupId+user]').equals([op.groupId, op.user]).delete();
        } else {
          await db.senderKeys
            .where('[groupId+user+device]')
            .equals([op.groupId, op.user, op.device])
            .delete();
        }
        return;
      case 'putMessage':
        await putMessage(op.message);
        return;
      case 'setReceipt':
        await update(op.messageId, (m) => withReceipt(m, op.recipient, op.status));
        return;
      case 'editMessage':
        await update(op.messageId, (m) => withEdit(m, op.body, op.editedAt));
        return;
      case 'deleteMessage':
        await update(op.messageId, withDelete);
        return;
      case 'react':
        await update(op.messageId, (m) => withReaction(m, op.user, op.emoji));
        return;
      case 'markConversationRead':
        await db.messages
          .where('unreadIn')
          .equals(op.conversationId)
          .modify((m) => {
            m.unread = false;
            delete m.unreadIn;
          });
        return;
      case 'putOutbox':
        await db.outbox.bulkPut(
          op.entries.map((e) => ({
            ...e,
            key: outboxKey(e.messageId, e.recipient, e.recipientDevice),
          })),
        );
        return;
      case 'removeOutbox':
        await db.outbox.delete(outboxKey(op.messageId, op.recipient, op.recipientDevice));
        return;
      case 'touchOutbox': {
        const key = outboxKey(op.messageId, op.recipient, op.recipientDevice);
        const e = await db.outbox.get(key);
        if (e) await db.outbox.put({ ...e, attempts: e.attempts + 1, lastAttemptAt: op.at });
        return;
      }
      case 'markSeen':
        await db.seen.bulkPut(op.ids.map((id) => ({ id, at: op.at })));
        return;
      case 'putContact':
        await db.contacts.put(op.contact);
        return;
      case 'putGroup':
        await db.groups.put(op.group);
        return;
      case 'deleteGroup':
        await db.groups.delete(op.groupId);
        return;
      case 'setSetting':
        await db.kv.put({ key: `setting:${op.key}`, value: op.value });
        return;
      case 'deleteSetting':
        await db.kv.delete(`setting:${op.key}`);
        return;
    }
  };

  const stripOutbox = ({ key: _key, ...e }: OutboxRow): OutboxEntry => e;

  const store: ClientStore = {
    async batch(ops) {
      assertKnownOps(ops);
      await db.transaction('rw', db.tables, async () => {
        let run: MessageRecord[] = [];
        for (const op of ops) {
          if (op.op === 'putMessage') {
            run.push(op.message);
            continue;
          }
          if (run.length) await putMessages(run);
          run = [];
          await apply(op);
        }
        if (run.length) await putMessages(run);
      });
    },
    async getAccount() {
      const row = await db.kv.get('account');
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
      const rows = await db.messages
        .where('[conversationId+timestamp]')
        .between(
          [conversationId, -Infinity],
          [conversationId, options.before ?? Infinity],
          true,
          false,
        )
        .reverse()
        .limit(options.limit ?? 50)
        .toArray();
      // Ties on timestamp: order by id, the same as the other stores.
      return rows
        .map((r) => fromRow(r))
        .sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
    },
    async listUnread(conversationId) {
      const rows = await db.messages.where('unreadIn').equals(conversationId).toArray();
      return rows
        .map((r) => fromRow(r))
        .sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
    },
    async listConversations() {
      const ids = (await db.messages.orderBy('conversationId').uniqueKeys()) as string[];
      const out: ConversationSummary[] = [];
      for (const conversationId of ids) {
        const last = await db.messages
          .where('[conversationId+timestamp]')
          .between([conversationId, -Infinity], [conversationId, Infinity])
          .last();
        if (!last) continue;
        const unread = await db.messages.where('unreadIn').equals(conversationId).count();
        out.push({ conversationId, lastMessageId: last.id, lastTimestamp: last.timestamp, unread });
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
      return (await db.kv.get(`setting:${key}`))?.value as T | undefined;
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
