/**
 * The rows the durable stores write at rest, built and opened here once for SQLite and Dexie
 * alike (PROTOCOL.md §14.1): each row is its lookup fields — blinded, or clear where listed in
 * `sealed.ts` — plus `v`, the record sealed with the row's table and stored primary key as
 * associated data. A backend stores these fields as they are (Dexie) or as columns (SQLite)
 * and decides nothing about what is sealed.
 */
import type { TermChange } from './apply.ts';
import { outboxKey } from './common.ts';
import { rowKey, type RecordCodec } from './sealed.ts';
import type {
  ContactRecord,
  GroupRecord,
  MessageRecord,
  OutboxEntry,
  OwnSenderKeyRecord,
  PrekeyKind,
  PrekeySecretRecord,
  SenderKeyRecord,
} from './types.ts';

/** A sealed record under one blinded key (key-value, own sender keys, outbox, contacts, groups). */
export interface KeyedRow {
  k: string;
  v: Uint8Array;
}
/** A prekey: kind and id clear (they are public), the key pair sealed. */
export interface PrekeyRow {
  kind: string;
  id: number;
  v: Uint8Array;
}
/** A session: blinded user and (user, device); sealed `{ device, state }`. */
export interface SessionRow {
  u: string;
  d: string;
  v: Uint8Array;
}
/** A received sender key: blinded group, user and (user, device), clear key id. */
export interface SenderKeyRow {
  g: string;
  u: string;
  d: string;
  keyId: number;
  v: Uint8Array;
}
/** A message: clear id and timestamp, blinded conversation, unread flag. */
export interface MessageRow {
  id: string;
  c: string;
  t: number;
  unread: boolean;
  v: Uint8Array;
}
/** An outbox entry: blinded key, clear creation time (the resend order). */
export interface OutboxRow extends KeyedRow {
  createdAt: number;
}

/** Row builders and openers of one open store. */
export interface SealedRows {
  kvKey(key: string): string;
  kv(key: string, value: unknown): KeyedRow;
  openKv<T>(key: string, row: KeyedRow): T;
  prekey(p: PrekeySecretRecord): PrekeyRow;
  openPrekey(row: PrekeyRow): PrekeySecretRecord;
  /** Blinded lookup fields of a session. */
  sessionKey(user: string, device: string): { u: string; d: string };
  session(user: string, device: string, state: Uint8Array): SessionRow;
  openSession(row: SessionRow): { device: string; state: Uint8Array };
  userKey(user: string): string;
  groupKey(groupId: string): string;
  ownSenderKey(r: OwnSenderKeyRecord): KeyedRow;
  openOwnSenderKey(row: KeyedRow): OwnSenderKeyRecord;
  /** Blinded lookup fields of a received sender key. */
  senderKeyKey(groupId: string, user: string, device: string): { g: string; u: string; d: string };
  senderKey(r: SenderKeyRecord): SenderKeyRow;
  openSenderKey(row: SenderKeyRow): SenderKeyRecord;
  conversationKey(conversationId: string): string;
  message(m: MessageRecord): MessageRow;
  openMessage(row: Pick<MessageRow, 'id' | 'v'>): MessageRecord;
  outboxKey(key: string): string;
  outbox(key: string, entry: OutboxEntry): OutboxRow;
  openOutbox(row: KeyedRow): OutboxEntry;
  contact(c: ContactRecord): KeyedRow;
  openContact(row: KeyedRow): ContactRecord;
  group(g: GroupRecord): KeyedRow;
  openGroup(row: KeyedRow): GroupRecord;
  /**
   * A message's search-term change as blinded index keys: all of them, the stale ones (to
   * delete) and the ones the previous version lacked (`RecordCodec.blindTerms`).
   */
  terms(change: TermChange): { keys: string[]; stale: string[]; added: string[] };
  /** All blinded index keys of a message's words (`messageTerms`). */
  searchKeys(terms: Map<string, number>): string[];
}

/** Row builders over `codec`. */
export function sealedRows(codec: RecordCodec): SealedRows {
  const keyed = (
    table: 'ownSenderKeys' | 'outbox' | 'contacts' | 'groups',
    k: string,
    value: unknown,
  ) => ({
    k,
    v: codec.seal(table, k, value),
  });
  const rows: SealedRows = {
    kvKey: (key) => codec.blind('kv', key),
    kv(key, value) {
      const k = rows.kvKey(key);
      return { k, v: codec.sealKv(key, k, value) };
    },
    openKv: (key, row) => codec.openKv(key, row.k, row.v),
    prekey: (p) => ({ kind: p.kind, id: p.id, v: codec.seal('prekeys', rowKey(p.kind, p.id), p) }),
    openPrekey: (row) => codec.open('prekeys', rowKey(row.kind as PrekeyKind, row.id), row.v),
    sessionKey: (user, device) => ({
      u: codec.blind('user', user),
      d: codec.blind('device', rowKey(user, device)),
    }),
    session(user, device, state) {
      const { u, d } = rows.sessionKey(user, device);
      return { u, d, v: codec.seal('sessions', rowKey(u, d), { device, state }) };
    },
    openSession: (row) => codec.open('sessions', rowKey(row.u, row.d), row.v),
    userKey: (user) => codec.blind('user', user),
    groupKey: (groupId) => codec.blind('group', groupId),
    ownSenderKey: (r) => keyed('ownSenderKeys', rows.groupKey(r.groupId), r),
    openOwnSenderKey: (row) => codec.open('ownSenderKeys', row.k, row.v),
    senderKeyKey: (groupId, user, device) => ({
      g: rows.groupKey(groupId),
      ...rows.sessionKey(user, device),
    }),
    senderKey(r) {
      const { g, u, d } = rows.senderKeyKey(r.groupId, r.user, r.device);
      return { g, u, d, keyId: r.keyId, v: codec.seal('senderKeys', rowKey(g, u, d, r.keyId), r) };
    },
    openSenderKey: (row) => codec.open('senderKeys', rowKey(row.g, row.u, row.d, row.keyId), row.v),
    conversationKey: (conversationId) => codec.blind('conversation', conversationId),
    message: (m) => ({
      id: m.id,
      c: rows.conversationKey(m.conversationId),
      t: m.timestamp,
      unread: m.unread,
      v: codec.seal('messages', m.id, m),
    }),
    openMessage: (row) => codec.open('messages', row.id, row.v),
    outboxKey: (key) => codec.blind('outbox', key),
    outbox: (key, entry) => ({
      ...keyed('outbox', rows.outboxKey(key), entry),
      createdAt: entry.createdAt,
    }),
    openOutbox: (row) => codec.open('outbox', row.k, row.v),
    contact: (c) => keyed('contacts', rows.userKey(c.username), c),
    openContact: (row) => codec.open('contacts', row.k, row.v),
    group: (g) => keyed('groups', rows.groupKey(g.groupId), g),
    openGroup: (row) => codec.open('groups', row.k, row.v),
    terms: (change) => codec.blindTerms(change),
    searchKeys: (terms) => codec.blindTerms({ terms, stale: [] }).keys,
  };
  return rows;
}

/** Outbox order: oldest first, ties by the clear key (message, recipient, device). */
export function compareOutbox(a: OutboxEntry, b: OutboxEntry): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  const ka = outboxKey(a.messageId, a.recipient, a.recipientDevice);
  const kb = outboxKey(b.messageId, b.recipient, b.recipientDevice);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
