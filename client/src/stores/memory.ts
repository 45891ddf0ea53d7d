/**
 * In-memory {@link ClientStore}: for tests and short-lived bots. Values are
 * deep-copied on the way in and out, so callers cannot mutate stored state by
 * accident (the same semantics as a real database). Writes go through the
 * shared applier (`store/apply.ts`); a batch that throws half-way is rolled
 * back from an undo journal, so batches are all-or-nothing here too. Passes
 * the abstract suite.
 */
/* eslint-disable @typescript-eslint/require-await -- a synchronous backend implementing the async ClientStore interface */
import { ACCOUNT_KEY, applyOpsSync, settingKey, type StorePrimitives } from '../store/apply.ts';
import {
  compareMessages,
  conversationSummaries,
  inWindow,
  pageOf,
  parseQuery,
  rankMatches,
} from '../store/common.ts';
import type {
  AccountRecord,
  ClientStore,
  ContactRecord,
  GroupRecord,
  MessageRecord,
  OutboxEntry,
  OwnSenderKeyRecord,
  PrekeyKind,
  PrekeySecretRecord,
  SearchHit,
  SearchOptions,
  SenderKeyRecord,
} from '../store/types.ts';
import { assertKnownOps } from '../store/validate.ts';

const clone = <T>(v: T): T => structuredClone(v);

interface State {
  kv: Map<string, unknown>;
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
}

/** Create an empty in-memory store. */
export function createMemoryStore(): ClientStore {
  const s: State = {
    kv: new Map(),
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
  };

  /** Undo steps of the batch in progress, newest last. */
  let journal: (() => void)[] = [];
  const set = <K, V>(map: Map<K, V>, key: K, value: V): void => {
    const had = map.has(key);
    const old = map.get(key);
    journal.push(() => (had ? map.set(key, old as V) : map.delete(key)));
    map.set(key, value);
  };
  const del = <K, V>(map: Map<K, V>, key: K): void => {
    if (!map.has(key)) return;
    const old = map.get(key) as V;
    journal.push(() => map.set(key, old));
    map.delete(key);
  };

  const primitives: StorePrimitives = {
    putKv: (key, value) => set(s.kv, key, clone(value)),
    deleteKv: (key) => del(s.kv, key),
    putPrekeys: (prekeys) => {
      for (const p of prekeys) set(s.prekeys, `${p.kind}|${p.id}`, clone(p));
    },
    deletePrekey: (kind, id) => del(s.prekeys, `${kind}|${id}`),
    putSession: (user, device, state) => set(s.sessions, `${user}|${device}`, state.slice()),
    deleteSession: (user, device) => del(s.sessions, `${user}|${device}`),
    putOwnSenderKey: (r) => set(s.ownSenderKeys, r.groupId, clone(r)),
    deleteOwnSenderKey: (groupId) => del(s.ownSenderKeys, groupId),
    putSenderKey: (r) =>
      set(s.senderKeys, `${r.groupId}|${r.user}|${r.device}|${r.keyId}`, clone(r)),
    deleteSenderKeys: (groupId, user, device) => {
      for (const [k, r] of [...s.senderKeys]) {
        if (r.groupId !== groupId) continue;
        if (user !== undefined && r.user !== user) continue;
        if (device !== undefined && r.device !== device) continue;
        del(s.senderKeys, k);
      }
    },
    getMessages: (ids) => ids.map((id) => s.messages.get(id)),
    putMessages: (writes) => {
      for (const { message, index } of writes) {
        set(s.messages, message.id, clone(message));
        if (index === null) continue;
        for (const token of index.stale) {
          const ids = s.terms.get(token);
          if (ids === undefined) continue;
          del(ids, message.id);
          if (ids.size === 0) del(s.terms, token);
        }
        for (const [token, count] of index.terms) {
          let ids = s.terms.get(token);
          if (ids === undefined) set(s.terms, token, (ids = new Map<string, number>()));
          set(ids, message.id, count);
        }
      }
    },
    listUnread: (conversationId) =>
      [...s.messages.values()].filter((m) => m.unread && m.conversationId === conversationId),
    getOutbox: (key) => s.outbox.get(key),
    putOutbox: (entries) => {
      for (const { key, entry } of entries) set(s.outbox, key, clone(entry));
    },
    deleteOutbox: (keys) => {
      for (const key of keys) del(s.outbox, key);
    },
    putSeen: (ids, at) => {
      for (const id of ids) set(s.seen, id, at);
    },
    putContact: (c) => set(s.contacts, c.username, clone(c)),
    putGroup: (g) => set(s.groups, g.groupId, clone(g)),
    deleteGroup: (groupId) => del(s.groups, groupId),
  };

  /** The messages of a conversation in a time window, in order. */
  const conversation = (
    conversationId: string,
    w: { before?: number; after?: number } = {},
  ): MessageRecord[] =>
    [...s.messages.values()]
      .filter((m) => m.conversationId === conversationId && inWindow(m, w))
      .sort(compareMessages);

  const store: ClientStore = {
    async batch(ops) {
      assertKnownOps(ops);
      journal = [];
      try {
        applyOpsSync(ops, primitives);
      } catch (err) {
        for (const undo of journal.reverse()) undo();
        throw err;
      } finally {
        journal = [];
      }
    },
    async getAccount() {
      return clone((s.kv.get(ACCOUNT_KEY) as AccountRecord | undefined) ?? null);
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
    async listMessages(conversationId, options = {}) {
      return clone(pageOf(conversation(conversationId, options), options));
    },
    async countMessages(conversationId, options = {}) {
      let n = 0;
      for (const m of s.messages.values()) {
        if (m.conversationId === conversationId && inWindow(m, options)) n++;
      }
      return n;
    },
    async indexOfMessage(id) {
      const target = s.messages.get(id);
      if (target === undefined) return -1;
      let n = 0;
      for (const m of s.messages.values()) {
        if (m.conversationId === target.conversationId && compareMessages(m, target) < 0) n++;
      }
      return n;
    },
    async listUnread(conversationId) {
      return clone(primitives.listUnread(conversationId) as MessageRecord[]).sort(compareMessages);
    },
    async listConversations() {
      const byConv = new Map<string, { last: MessageRecord; unread: number }>();
      for (const m of s.messages.values()) {
        const c = byConv.get(m.conversationId);
        if (c === undefined) byConv.set(m.conversationId, { last: m, unread: m.unread ? 1 : 0 });
        else {
          if (compareMessages(m, c.last) > 0) c.last = m;
          if (m.unread) c.unread += 1;
        }
      }
      return conversationSummaries(
        [...byConv.values()].map(({ last, unread }) => ({ last: clone(last), unread })),
      );
    },
    async listOutbox() {
      return clone([...s.outbox.values()].sort((a, b) => a.createdAt - b.createdAt));
    },
    async hasSeen(id) {
      return s.seen.has(id);
    },
    async seenAmong(ids) {
      return new Set(ids.filter((id) => s.seen.has(id)));
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
      return clone(s.kv.get(settingKey(key))) as T | undefined;
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
