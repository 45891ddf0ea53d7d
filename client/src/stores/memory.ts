/**
 * In-memory {@link ClientStore}: for tests and short-lived bots. Values are
 * deep-copied on the way in and out, so callers cannot mutate stored state by
 * accident (the same semantics as a real database). Passes the abstract suite.
 */
/* eslint-disable @typescript-eslint/require-await -- a synchronous backend implementing the async ClientStore interface */
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
  ListMessagesOptions,
  MessageRecord,
  OutboxEntry,
  OwnSenderKeyRecord,
  PrekeyKind,
  PrekeySecretRecord,
  SearchHit,
  SearchOptions,
  SenderKeyRecord,
  StoreOp,
} from '../store/types.ts';
import { assertKnownOps } from '../store/validate.ts';

const clone = <T>(v: T): T => structuredClone(v);

interface State {
  account: AccountRecord | null;
  prekeys: Map<string, PrekeySecretRecord>;
  sessions: Map<string, Uint8Array>;
  ownSenderKeys: Map<string, OwnSenderKeyRecord>;
  senderKeys: Map<string, SenderKeyRecord>;
  messages: Map<string, MessageRecord>;
  /** token → (message id → count) */
  terms: Map<string, Map<string, number>>;
  outbox: Map<string, OutboxEntry>;
  seen: Map<string, number>;
  contacts: Map<string, ContactRecord>;
  groups: Map<string, GroupRecord>;
  settings: Map<string, unknown>;
}

/** Create an empty in-memory store. */
export function createMemoryStore(): ClientStore {
  const s: State = {
    account: null,
    prekeys: new Map(),
    sessions: new Map(),
    ownSenderKeys: new Map(),
    senderKeys: new Map(),
    messages: new Map(),
    terms: new Map(),
    outbox: new Map(),
    seen: new Map(),
    contacts: new Map(),
    groups: new Map(),
    settings: new Map(),
  };

  const unindex = (id: string): void => {
    const old = s.messages.get(id);
    if (!old) return;
    for (const token of messageTerms(old).keys()) {
      const m = s.terms.get(token);
      m?.delete(id);
      if (m?.size === 0) s.terms.delete(token);
    }
  };
  const putMessage = (message: MessageRecord): void => {
    unindex(message.id);
    s.messages.set(message.id, clone(message));
    for (const [token, count] of messageTerms(message)) {
      let m = s.terms.get(token);
      if (!m) s.terms.set(token, (m = new Map<string, number>()));
      m.set(message.id, count);
    }
  };
  const update = (id: string, fn: (m: MessageRecord) => MessageRecord): void => {
    const m = s.messages.get(id);
    if (m) putMessage(fn(m));
  };

  const apply = (op: StoreOp): void => {
    switch (op.op) {
      case 'putAccount':
        s.account = clone(op.account);
        return;
      case 'putPrekeys':
        for (const p of op.prekeys) s.prekeys.set(`${p.kind}|${p.id}`, clone(p));
        return;
      case 'deletePrekey':
        s.prekeys.delete(`${op.kind}|${op.id}`);
        return;
      case 'putSession':
        s.sessions.set(`${op.user}|${op.device}`, op.state.slice());
        return;
      case 'deleteSession':
        s.sessions.delete(`${op.user}|${op.device}`);
        return;
      case 'putOwnSenderKey':
        s.ownSenderKeys.set(op.record.groupId, clone(op.record));
        return;
      case 'deleteOwnSenderKey':
        s.ownSenderKeys.delete(op.groupId);
        return;
      case 'putSenderKey': {
        const r = op.record;
        s.senderKeys.set(`${r.groupId}|${r.user}|${r.device}|${r.keyId}`, clone(r));
        return;
      }
      case 'deleteSenderKeys':
        for (const [k, r] of s.senderKeys) {
          if (r.groupId !== op.groupId) continue;
          if (op.user !== undefined && r.user !== op.user) continue;
          if (op.device !== undefined && r.device !== op.device) continue;
          s.senderKeys.delete(k);
        }
        return;
      case 'putMessage':
        putMessage(op.message);
        return;
      case 'setReceipt':
        update(op.messageId, (m) => withReceipt(m, op.recipient, op.status));
        return;
      case 'editMessage':
        update(op.messageId, (m) => withEdit(m, op.body, op.editedAt));
        return;
      case 'deleteMessage':
        update(op.messageId, withDelete);
        return;
      case 'react':
        update(op.messageId, (m) => withReaction(m, op.user, op.emoji));
        return;
      case 'markConversationRead':
        for (const m of s.messages.values()) {
          if (m.conversationId === op.conversationId && m.unread) m.unread = false;
        }
        return;
      case 'putOutbox':
        for (const e of op.entries) {
          s.outbox.set(outboxKey(e.messageId, e.recipient, e.recipientDevice), clone(e));
        }
        return;
      case 'removeOutbox':
        s.outbox.delete(outboxKey(op.messageId, op.recipient, op.recipientDevice));
        return;
      case 'touchOutbox': {
        const e = s.outbox.get(outboxKey(op.messageId, op.recipient, op.recipientDevice));
        if (e) {
          e.attempts += 1;
          e.lastAttemptAt = op.at;
        }
        return;
      }
      case 'markSeen':
        for (const id of op.ids) s.seen.set(id, op.at);
        return;
      case 'putContact':
        s.contacts.set(op.contact.username, clone(op.contact));
        return;
      case 'putGroup':
        s.groups.set(op.group.groupId, clone(op.group));
        return;
      case 'deleteGroup':
        s.groups.delete(op.groupId);
        return;
      case 'setSetting':
        s.settings.set(op.key, clone(op.value));
        return;
      case 'deleteSetting':
        s.settings.delete(op.key);
        return;
    }
  };

  const store: ClientStore = {
    async batch(ops) {
      assertKnownOps(ops);
      for (const op of ops) apply(op);
    },
    async getAccount() {
      return clone(s.account);
    },
    putAccount(account) {
      return store.batch([{ op: 'putAccount', account }]);
    },
    async getPrekey(kind: PrekeyKind, id: number) {
      return clone(s.prekeys.get(`${kind}|${id}`) ?? null);
    },
    async listPrekeys(kind) {
      return clone(
        [...s.prekeys.values()].filter((p) => p.kind === kind).sort((a, b) => a.id - b.id),
      );
    },
    async getSession(user, device) {
      return s.sessions.get(`${user}|${device}`)?.slice() ?? null;
    },
    async listSessionDevices(user) {
      return [...s.sessions.keys()]
        .map((k) => k.split('|'))
        .filter(([u]) => u === user)
        .map(([, d]) => d!)
        .sort();
    },
    async getOwnSenderKey(groupId) {
      return clone(s.ownSenderKeys.get(groupId) ?? null);
    },
    async getSenderKey(groupId, user, device, keyId) {
      return clone(s.senderKeys.get(`${groupId}|${user}|${device}|${keyId}`) ?? null);
    },
    async getMessage(id) {
      return clone(s.messages.get(id) ?? null);
    },
    async listMessages(conversationId, options: ListMessagesOptions = {}) {
      const limit = options.limit ?? 50;
      const all = [...s.messages.values()]
        .filter(
          (m) =>
            m.conversationId === conversationId &&
            (options.before === undefined || m.timestamp < options.before),
        )
        .sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
      return clone(all.slice(Math.max(0, all.length - limit)));
    },
    async listUnread(conversationId) {
      const unread = [...s.messages.values()]
        .filter((m) => m.conversationId === conversationId && m.unread)
        .sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : 1));
      return clone(unread);
    },
    async listConversations() {
      const byConv = new Map<string, ConversationSummary>();
      for (const m of s.messages.values()) {
        let c = byConv.get(m.conversationId);
        if (!c) {
          c = {
            conversationId: m.conversationId,
            lastMessageId: m.id,
            lastTimestamp: m.timestamp,
            unread: 0,
          };
          byConv.set(m.conversationId, c);
        } else if (m.timestamp > c.lastTimestamp) {
          c.lastMessageId = m.id;
          c.lastTimestamp = m.timestamp;
        }
        if (m.unread) c.unread += 1;
      }
      return [...byConv.values()].sort((a, b) => b.lastTimestamp - a.lastTimestamp);
    },
    async listOutbox() {
      return clone([...s.outbox.values()].sort((a, b) => a.createdAt - b.createdAt));
    },
    async hasSeen(id) {
      return s.seen.has(id);
    },
    async pruneSeen(before) {
      for (const [id, at] of s.seen) if (at < before) s.seen.delete(id);
    },
    async getContact(username) {
      return clone(s.contacts.get(username) ?? null);
    },
    async listContacts() {
      return clone([...s.contacts.values()].sort((a, b) => (a.username < b.username ? -1 : 1)));
    },
    async getGroup(groupId) {
      return clone(s.groups.get(groupId) ?? null);
    },
    async listGroups() {
      return clone([...s.groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1)));
    },
    async getSetting<T>(key: string) {
      return clone(s.settings.get(key)) as T | undefined;
    },
    setSetting(key, value) {
      return store.batch([{ op: 'setSetting', key, value }]);
    },
    async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
      const q = parseQuery(query);
      if (!q) return [];
      const matches = q.exact.map((t) => new Map(s.terms.get(t) ?? []));
      const prefixed = new Map<string, number>();
      for (const [token, ids] of s.terms) {
        if (!token.startsWith(q.prefix)) continue;
        for (const [id, c] of ids) prefixed.set(id, (prefixed.get(id) ?? 0) + c);
      }
      matches.push(prefixed);
      return clone(rankMatches(matches, (id) => s.messages.get(id), options));
    },
    async close() {},
  };
  return store;
}
