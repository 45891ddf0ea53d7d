/**
 * The one {@link StoreOp} applier: what every write op means — a receipt only moves forward,
 * an edit re-indexes the text, a delete keeps a tombstone and drops its search terms, a
 * reaction is set or cleared, "mark read" clears the unread flag of one conversation, an outbox
 * attempt is counted — is written here once. Each backend (memory, SQLite, Dexie) implements
 * only {@link StorePrimitives}: put, delete and a few reads on its own tables, with no
 * decisions of its own.
 *
 * The applier is a generator that yields every primitive call's result back to its driver, so
 * the same code runs synchronously inside a better-sqlite3 transaction ({@link applyOpsSync},
 * which cannot span an `await`) and asynchronously inside an IndexedDB transaction
 * ({@link applyOps}). Atomicity is the driver's caller's job: it runs the whole batch inside
 * one transaction (or, for the memory store, on a copy it swaps in at the end).
 */
import {
  messageTerms,
  outboxKey,
  withDelete,
  withEdit,
  withReaction,
  withReceipt,
} from './common.ts';
import type {
  ContactRecord,
  GroupRecord,
  MessageRecord,
  OutboxEntry,
  OwnSenderKeyRecord,
  PrekeyKind,
  PrekeySecretRecord,
  SenderKeyRecord,
  StoreOp,
} from './types.ts';

/** A value now (synchronous backends) or later (IndexedDB). */
export type MaybePromise<T> = T | Promise<T>;

/** Key-value key of the account record. */
export const ACCOUNT_KEY = 'account';

/** Key-value key of a setting (kept apart from the account's key). */
export function settingKey(key: string): string {
  return `setting:${key}`;
}

/** New search terms of a message and the tokens its previous version was indexed under. */
export interface TermChange {
  /** Token → occurrences in the message as written. */
  terms: Map<string, number>;
  /** Tokens of the version being replaced (their rows for this message are dropped). */
  stale: string[];
}

/** One message row to write. */
export interface MessageWrite {
  message: MessageRecord;
  /** Search terms to replace, or null when the searchable text did not change (keep them). */
  index: TermChange | null;
}

/**
 * What a backend provides: storage of each kind of record, no semantics. Reads return what
 * the backend holds now, including writes made earlier in the same batch.
 */
export interface StorePrimitives {
  putKv(key: string, value: unknown): MaybePromise<void>;
  deleteKv(key: string): MaybePromise<void>;
  putPrekeys(prekeys: PrekeySecretRecord[]): MaybePromise<void>;
  deletePrekey(kind: PrekeyKind, id: number): MaybePromise<void>;
  putSession(user: string, device: string, state: Uint8Array): MaybePromise<void>;
  deleteSession(user: string, device: string): MaybePromise<void>;
  putOwnSenderKey(record: OwnSenderKeyRecord): MaybePromise<void>;
  deleteOwnSenderKey(groupId: string): MaybePromise<void>;
  putSenderKey(record: SenderKeyRecord): MaybePromise<void>;
  /** Delete a group's received sender keys: all, one user's, or one device's. */
  deleteSenderKeys(groupId: string, user?: string, device?: string): MaybePromise<void>;
  /** The stored messages with these ids, in the same order (undefined where absent). */
  getMessages(ids: readonly string[]): MaybePromise<(MessageRecord | undefined)[]>;
  /** Write message rows and, where given, replace their search terms. */
  putMessages(writes: readonly MessageWrite[]): MaybePromise<void>;
  /**
   * Optional: write rows of messages not stored yet (each indexed under all its terms) without
   * reading first, and leave the stored ones as they are; gives the positions in `writes` of
   * those left (the applier reads and replaces them). A backend whose reads cost a request
   * each (IndexedDB) answers a burst of new messages with writes alone (issue 15).
   */
  addMessages?(writes: readonly MessageWrite[]): MaybePromise<number[]>;
  /** The unread messages of a conversation, any order. */
  listUnread(conversationId: string): MaybePromise<MessageRecord[]>;
  getOutbox(key: string): MaybePromise<OutboxEntry | undefined>;
  /** Put outbox entries under their {@link outboxKey}. */
  putOutbox(entries: readonly { key: string; entry: OutboxEntry }[]): MaybePromise<void>;
  deleteOutbox(keys: readonly string[]): MaybePromise<void>;
  putSeen(ids: readonly string[], at: number): MaybePromise<void>;
  putContact(contact: ContactRecord): MaybePromise<void>;
  putGroup(group: GroupRecord): MaybePromise<void>;
  deleteGroup(groupId: string): MaybePromise<void>;
}

/**
 * Hands a primitive's result back to the applier: the driver resolves what is yielded and
 * sends it back in. The cast is the one place that trusts the driver to do exactly that.
 */
function* call<T>(value: MaybePromise<T>): Generator<unknown, T, unknown> {
  return (yield value) as T;
}

/** Search-term change from `old` (undefined: a new message) to `next`. */
function reindex(old: MessageRecord | undefined, next: MessageRecord): TermChange {
  return { terms: messageTerms(next), stale: old ? [...messageTerms(old).keys()] : [] };
}

/** Ops that rewrite one stored message: its row is read once, before the batch's first op. */
type RowUpdate = Extract<StoreOp, { op: 'setReceipt' | 'editMessage' | 'deleteMessage' | 'react' }>;
const UPDATES_ROW: ReadonlySet<StoreOp['op']> = new Set<RowUpdate['op']>([
  'setReceipt',
  'editMessage',
  'deleteMessage',
  'react',
]);
const updatesRow = (op: StoreOp): op is RowUpdate => UPDATES_ROW.has(op.op);

/**
 * The search-term change of a row rewritten twice before either write reached the backend:
 * the terms of the newest version, and the stale tokens of the version the backend holds.
 */
function laterIndex(pending: TermChange | null, next: TermChange | null): TermChange | null {
  if (next === null) return pending; // the text did not change: the pending change stands
  return { terms: next.terms, stale: pending?.stale ?? next.stale };
}

/** The row an op overwrites as a whole, for ops a later op on the same row makes moot. */
function overwrittenRow(op: StoreOp): string | null {
  switch (op.op) {
    case 'putSession':
    case 'deleteSession':
      return `session\u0000${op.user}\u0000${op.device}`;
    case 'putSenderKey': {
      const r = op.record;
      return `senderKey\u0000${r.groupId}\u0000${r.user}\u0000${r.device}\u0000${r.keyId}`;
    }
    default:
      return null;
  }
}

/**
 * Indexes of ops whose row a later op of the batch writes again: a receive batch advances the
 * same session or sender chain once per message, and only the last state is stored (no op
 * reads sessions or sender keys, so nothing in between can see the earlier ones).
 */
function superseded(ops: readonly StoreOp[]): Set<number> {
  const later = new Set<string>();
  const moot = new Set<number>();
  for (let i = ops.length - 1; i >= 0; i--) {
    const row = overwrittenRow(ops[i]!);
    if (row === null) continue;
    if (later.has(row)) moot.add(i);
    else later.add(row);
  }
  return moot;
}

/**
 * Every write of a batch as primitive calls, with the result of applying the ops in order —
 * but coalesced, because a receive batch is per message `putSession`, `markSeen`, `putMessage`
 * and one primitive call each would be one IndexedDB request each, and on a page every request
 * waits for its answer behind whatever else the page does (issue 23): message puts go down as
 * one bulk write until an op that rewrites one of them; the rows that receipts, edits, deletes
 * and reactions rewrite are read in one request up front and written in one at the end;
 * outbox puts and removals go down together until the other kind comes; superseded session and
 * sender-key states are skipped, and seen ids (which nothing here reads) are written at the end.
 */
function* steps(ops: readonly StoreOp[], p: StorePrimitives): Generator<unknown, void, unknown> {
  /** Message puts not written yet, in order, and their ids. */
  let run: MessageRecord[] = [];
  const inRun = new Set<string>();
  /** Message rows as this batch has them so far (undefined: not stored), for the rewrites. */
  const rows = new Map<string, MessageRecord | undefined>();
  /** Rewritten rows not written yet (no id is in `run` and here at once). */
  const rewritten = new Map<string, MessageWrite>();
  /** Outbox writes not written yet: puts or removals, one kind at a time (their order counts). */
  let outboxPuts: { key: string; entry: OutboxEntry }[] = [];
  let outboxRemovals: string[] = [];

  function* flush(): Generator<unknown, void, unknown> {
    if (run.length === 0) return;
    let batch = run;
    run = [];
    inRun.clear();
    for (const m of batch) rows.set(m.id, m);
    // A run of distinct ids goes down as new messages where the backend can tell the stored
    // ones apart as it writes; only those are read and replaced below.
    if (p.addMessages !== undefined && new Set(batch.map((m) => m.id)).size === batch.length) {
      const fresh = batch.map((message): MessageWrite => ({
        message,
        index: reindex(undefined, message),
      }));
      const stored = yield* call(p.addMessages(fresh));
      if (stored.length === 0) return;
      batch = stored.map((i) => batch[i]!);
    }
    const existing = yield* call(p.getMessages(batch.map((m) => m.id)));
    // A message put twice in one run replaces its own first version, not the stored one.
    const latest = new Map<string, MessageRecord | undefined>();
    const writes = batch.map((message, i): MessageWrite => {
      const old = latest.has(message.id) ? latest.get(message.id) : existing[i];
      latest.set(message.id, message);
      return { message, index: reindex(old, message) };
    });
    yield* call(p.putMessages(writes));
  }
  function* writeRewritten(): Generator<unknown, void, unknown> {
    if (rewritten.size === 0) return;
    const writes = [...rewritten.values()];
    rewritten.clear();
    yield* call(p.putMessages(writes));
  }
  function* writeOutbox(): Generator<unknown, void, unknown> {
    if (outboxPuts.length > 0) yield* call(p.putOutbox(outboxPuts));
    if (outboxRemovals.length > 0) yield* call(p.deleteOutbox(outboxRemovals));
    outboxPuts = [];
    outboxRemovals = [];
  }
  /** Rewrite one message through `fn`; `text` says whether its searchable text may change. */
  function* update(
    id: string,
    fn: (m: MessageRecord) => MessageRecord,
    text: boolean,
  ): Generator<unknown, void, unknown> {
    if (inRun.has(id)) yield* flush();
    if (!rows.has(id)) rows.set(id, (yield* call(p.getMessages([id])))[0]);
    const old = rows.get(id);
    if (old === undefined) return; // unknown message: no-op (a receipt may beat its message)
    const next = fn(old);
    if (next === old) return; // nothing changed (receipt not forward, edit of a tombstone)
    rows.set(id, next);
    const index = laterIndex(rewritten.get(id)?.index ?? null, text ? reindex(old, next) : null);
    rewritten.set(id, { message: next, index });
  }

  // The rows the batch rewrites, as stored before it: one read.
  const toRead = [...new Set(ops.filter(updatesRow).map((op) => op.messageId))];
  if (toRead.length > 0) {
    const found = yield* call(p.getMessages(toRead));
    toRead.forEach((id, i) => rows.set(id, found[i]));
  }
  const moot = superseded(ops);
  /** Seen ids by the time they were seen at, written last. */
  const seen = new Map<number, string[]>();

  for (const [i, op] of ops.entries()) {
    if (op.op === 'putMessage') {
      // A put replaces the whole row: a rewrite of it earlier in the batch is moot.
      rewritten.delete(op.message.id);
      run.push(op.message);
      inRun.add(op.message.id);
      continue;
    }
    if (moot.has(i)) continue;
    switch (op.op) {
      case 'putAccount':
        yield* call(p.putKv(ACCOUNT_KEY, op.account));
        break;
      case 'putPrekeys':
        yield* call(p.putPrekeys(op.prekeys));
        break;
      case 'deletePrekey':
        yield* call(p.deletePrekey(op.kind, op.id));
        break;
      case 'putSession':
        yield* call(p.putSession(op.user, op.device, op.state));
        break;
      case 'deleteSession':
        yield* call(p.deleteSession(op.user, op.device));
        break;
      case 'putOwnSenderKey':
        yield* call(p.putOwnSenderKey(op.record));
        break;
      case 'deleteOwnSenderKey':
        yield* call(p.deleteOwnSenderKey(op.groupId));
        break;
      case 'putSenderKey':
        yield* call(p.putSenderKey(op.record));
        break;
      case 'deleteSenderKeys':
        yield* call(
          p.deleteSenderKeys(op.groupId, op.user, op.user === undefined ? undefined : op.device),
        );
        break;
      case 'setReceipt':
        yield* update(op.messageId, (m) => withReceipt(m, op.recipient, op.status), false);
        break;
      case 'editMessage':
        yield* update(op.messageId, (m) => withEdit(m, op.body, op.editedAt), true);
        break;
      case 'deleteMessage':
        yield* update(op.messageId, withDelete, true);
        break;
      case 'react':
        yield* update(op.messageId, (m) => withReaction(m, op.user, op.emoji), false);
        break;
      case 'markConversationRead': {
        // Read from the backend: everything written before must be there.
        yield* flush();
        yield* writeRewritten();
        const unread = yield* call(p.listUnread(op.conversationId));
        if (unread.length === 0) break;
        const read = unread.map((m) => ({ ...m, unread: false }));
        for (const m of read) rows.set(m.id, m);
        yield* call(p.putMessages(read.map((message) => ({ message, index: null }))));
        break;
      }
      case 'putOutbox':
        if (outboxRemovals.length > 0) yield* writeOutbox();
        for (const entry of op.entries)
          outboxPuts.push({
            key: outboxKey(entry.messageId, entry.recipient, entry.recipientDevice),
            entry,
          });
        break;
      case 'removeOutbox':
        if (outboxPuts.length > 0) yield* writeOutbox();
        outboxRemovals.push(outboxKey(op.messageId, op.recipient, op.recipientDevice));
        break;
      case 'touchOutbox': {
        yield* writeOutbox();
        const key = outboxKey(op.messageId, op.recipient, op.recipientDevice);
        const entry = yield* call(p.getOutbox(key));
        if (entry === undefined) break;
        const touched = { ...entry, attempts: entry.attempts + 1, lastAttemptAt: op.at };
        yield* call(p.putOutbox([{ key, entry: touched }]));
        break;
      }
      case 'markSeen': {
        const ids = seen.get(op.at);
        if (ids === undefined) seen.set(op.at, [...op.ids]);
        else ids.push(...op.ids);
        break;
      }
      case 'putContact':
        yield* call(p.putContact(op.contact));
        break;
      case 'putGroup':
        yield* call(p.putGroup(op.group));
        break;
      case 'deleteGroup':
        yield* call(p.deleteGroup(op.groupId));
        break;
      case 'setSetting':
        yield* call(p.putKv(settingKey(op.key), op.value));
        break;
      case 'deleteSetting':
        yield* call(p.deleteKv(settingKey(op.key)));
        break;
    }
  }
  yield* flush();
  yield* writeRewritten();
  yield* writeOutbox();
  for (const [at, ids] of seen) yield* call(p.putSeen(ids, at));
}

/**
 * Apply a batch on a synchronous backend (every primitive returns its value, never a
 * promise). Run it inside the backend's transaction.
 */
export function applyOpsSync(ops: readonly StoreOp[], primitives: StorePrimitives): void {
  const it = steps(ops, primitives);
  let step = it.next();
  while (!step.done) {
    if (step.value instanceof Promise) {
      throw new TypeError('primitives of a synchronous store must not return promises');
    }
    step = it.next(step.value);
  }
}

/** Apply a batch on an asynchronous backend. Run it inside the backend's transaction. */
export async function applyOps(
  ops: readonly StoreOp[],
  primitives: StorePrimitives,
): Promise<void> {
  const it = steps(ops, primitives);
  let step = it.next();
  while (!step.done) step = it.next(await step.value);
}
