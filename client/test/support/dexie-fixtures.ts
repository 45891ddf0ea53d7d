/**
 * Fixtures of the Dexie store tests (`store.dexie*.test.ts`): message ops, a v5 database
 * rewritten as v3/v4 wrote it, and the raw postings of one message.
 */
import { Dexie } from 'dexie';

/** The tables of schema v3 and v4 (v4 changed only the search keys' shape). */
export const V4_TABLES = {
  kv: 'key',
  prekeys: '[kind+id], kind',
  sessions: '[user+device], user',
  ownSenderKeys: 'groupId',
  senderKeys: '[groupId+user+device+keyId], groupId, [groupId+user], [groupId+user+device]',
  messages: 'id, conversationId, [conversationId+timestamp], unreadIn',
  terms: '[token+messageId], token, messageId',
  outbox: 'key, createdAt',
  seen: 'id, at',
  contacts: 'username',
  groups: 'groupId',
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
};

export type Postings = { ids: string[]; ts: number[]; w: Map<string, number[]> }[];

/**
 * Rewrite the (v5) database `name` as schema `version` (3 or 4) wrote it: every table and row
 * as they are (without v5's batch ids and redirects), and each message's search keys back on its
 * row as `w` — `[blind, t]` in v4, the blinds alone in v3 — instead of in the postings table.
 */
export async function rewriteAs(name: string, version: 3 | 4): Promise<void> {
  const raw = await new Dexie(name).open();
  const tables = Object.fromEntries(
    await Promise.all(raw.tables.map(async (t) => [t.name, await t.toArray()] as const)),
  );
  raw.close();
  await Dexie.delete(name);
  const w = new Map<string, unknown[]>();
  for (const r of (tables.postings ?? []) as Postings) {
    for (const [k, at] of r.w) {
      for (const i of at) {
        const list = w.get(r.ids[i]!) ?? [];
        list.push(version === 4 ? [k, r.ts[i]] : k);
        w.set(r.ids[i]!, list);
      }
    }
  }
  const old = new Dexie(name);
  old.version(version).stores(V4_TABLES);
  await old.open();
  for (const [table, rows] of Object.entries(tables)) {
    if (table === 'postings' || table === 'postingRedirects') continue;
    const list =
      table === 'sealedMessages'
        ? rows.map(({ p: _p, ...r }: { id: string; p?: string }) => ({
            ...r,
            w: w.get(r.id) ?? [],
          }))
        : rows;
    await old.table(table).bulkPut(list);
  }
  old.close();
}

export const put = (id: string, t: number, text: string, conversationId = 'dm:bob') => ({
  op: 'putMessage' as const,
  message: {
    conversationId,
    id,
    sender: 'bob',
    senderDevice: 'd1',
    timestamp: t,
    receivedAt: t,
    kind: 'text',
    body: { text },
    outgoing: false,
    unread: true,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  },
});
export const ids = (hits: { message: { id: string } }[]) => hits.map((h) => h.message.id);

/**
 * The blinded keys whose raw postings list message `id` (every record scanned). The blinds of a
 * text are those of a reference message with the same text: blinds depend on the words only.
 */
export async function keysOf(name: string, id: string): Promise<Set<string>> {
  const raw = await new Dexie(name).open();
  const records = (await raw.table('postings').toArray()) as Postings;
  raw.close();
  const keys = new Set<string>();
  for (const r of records) {
    const at = new Set(r.ids.flatMap((x, i) => (x === id ? [i] : [])));
    for (const [k, list] of r.w) if (list.some((i) => at.has(i))) keys.add(k);
  }
  return keys;
}

export const edit = (messageId: string, text: string) => ({
  op: 'editMessage' as const,
  messageId,
  body: { text },
  editedAt: 9,
});
