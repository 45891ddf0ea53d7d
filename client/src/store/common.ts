/**
 * Pure helpers shared by every {@link ClientStore} implementation, so the
 * semantics of receipts, edits, deletes, reactions and search tokenization are
 * defined once and every store behaves the same under the abstract suite.
 */
import type { ConversationSummary, MessageRecord, ReceiptStatus, SearchHit } from './types.ts';
import { RECEIPT_ORDER } from './types.ts';

/** Longest token indexed; longer words are cut (keeps the index bounded). */
const MAX_TOKEN = 64;

/**
 * Split text into lower-case word tokens (Unicode letters and digits), with
 * diacritics folded so "café" is found by "cafe".
 */
export function tokenize(text: string): string[] {
  const folded = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
  const words = folded.match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.map((w) => w.slice(0, MAX_TOKEN));
}

/** Token → occurrence count for the searchable text of a message. */
export function messageTerms(message: MessageRecord): Map<string, number> {
  const terms = new Map<string, number>();
  if (message.deleted) return terms;
  const parts: string[] = [];
  const { text, name, caption } = message.body;
  if (typeof text === 'string') parts.push(text);
  if (typeof name === 'string') parts.push(name);
  if (typeof caption === 'string') parts.push(caption);
  for (const t of tokenize(parts.join(' '))) terms.set(t, (terms.get(t) ?? 0) + 1);
  return terms;
}

/** A parsed query: whole-word tokens plus the prefix (last) token. */
export interface ParsedQuery {
  exact: string[];
  prefix: string;
}

/** Parse a search query; null when it has no searchable word. */
export function parseQuery(query: string): ParsedQuery | null {
  const tokens = tokenize(query);
  const prefix = tokens.pop();
  if (prefix === undefined) return null;
  return { exact: [...new Set(tokens)], prefix };
}

/**
 * Combine per-token matches into ranked hits. `matches[i]` maps message id →
 * occurrences for query token i (the last one may aggregate several prefixed
 * words). A message must match every token.
 */
export function rankMatches(
  matches: Map<string, number>[],
  load: (id: string) => MessageRecord | undefined,
  options: { limit?: number; conversationId?: string },
): SearchHit[] {
  const [first, ...rest] = matches;
  if (!first) return [];
  const hits: SearchHit[] = [];
  for (const [id, count] of first) {
    let score = count;
    let all = true;
    for (const m of rest) {
      const c = m.get(id);
      if (c === undefined) {
        all = false;
        break;
      }
      score += c;
    }
    if (!all) continue;
    const message = load(id);
    if (!message || message.deleted) continue;
    if (options.conversationId !== undefined && message.conversationId !== options.conversationId) {
      continue;
    }
    hits.push({ message, score });
  }
  hits.sort((a, b) => b.score - a.score || b.message.timestamp - a.message.timestamp);
  return hits.slice(0, options.limit ?? 50);
}

/** Return a copy of `message` with a recipient's receipt moved forward (never back). */
export function withReceipt(
  message: MessageRecord,
  recipient: string,
  status: ReceiptStatus,
): MessageRecord {
  const current = message.status[recipient];
  if (current !== undefined && RECEIPT_ORDER[current] >= RECEIPT_ORDER[status]) return message;
  return { ...message, status: { ...message.status, [recipient]: status } };
}

/** Return a copy of `message` with a new body (an edit). Ignored on deleted messages. */
export function withEdit(
  message: MessageRecord,
  body: Record<string, unknown>,
  editedAt: number,
): MessageRecord {
  if (message.deleted) return message;
  return { ...message, body, edited: true, editedAt };
}

/** Return the tombstone of a deleted-for-everyone message. */
export function withDelete(message: MessageRecord): MessageRecord {
  return { ...message, body: {}, deleted: true, reactions: {} };
}

/** Return a copy with a user's reaction set or cleared. */
export function withReaction(
  message: MessageRecord,
  user: string,
  emoji: string | null,
): MessageRecord {
  const reactions = { ...message.reactions };
  if (emoji === null) delete reactions[user];
  else reactions[user] = emoji;
  return { ...message, reactions };
}

/** Outbox primary key. */
export function outboxKey(messageId: string, recipient: string, recipientDevice: string): string {
  return `${messageId}|${recipient}|${recipientDevice}`;
}

/** The order of messages in a conversation: by timestamp, then by id. */
export function compareMessages(
  a: Pick<MessageRecord, 'timestamp' | 'id'>,
  b: Pick<MessageRecord, 'timestamp' | 'id'>,
): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * {@link ClientStore.listConversations}' answer from each conversation's newest message and unread
 * count: one summary each, the most recently active first.
 */
export function conversationSummaries(
  latest: Iterable<{ last: MessageRecord; unread: number }>,
): ConversationSummary[] {
  const out: ConversationSummary[] = [];
  for (const { last, unread } of latest) {
    out.push({
      conversationId: last.conversationId,
      lastMessageId: last.id,
      lastTimestamp: last.timestamp,
      unread,
      last,
    });
  }
  return out.sort((a, b) => b.lastTimestamp - a.lastTimestamp);
}

/** Default page size of {@link ClientStore.listMessages}. */
export const DEFAULT_PAGE = 50;

/** Whether a message falls strictly inside a time window. */
export function inWindow(m: MessageRecord, w: { before?: number; after?: number }): boolean {
  return (
    (w.before === undefined || m.timestamp < w.before) &&
    (w.after === undefined || m.timestamp > w.after)
  );
}

/**
 * The page of a window given all of its messages in order (oldest first): the reference
 * semantics of {@link ListMessagesOptions}, used as is by the memory store.
 */
export function pageOf<T>(
  ordered: readonly T[],
  options: { limit?: number; from?: 'newest' | 'oldest'; offset?: number },
): T[] {
  const limit = Math.max(0, options.limit ?? DEFAULT_PAGE);
  const offset = Math.max(0, options.offset ?? 0);
  if (options.from === 'oldest') return ordered.slice(offset, offset + limit);
  const end = Math.max(0, ordered.length - offset);
  return ordered.slice(Math.max(0, end - limit), end);
}

/** Code-unit order of two strings (the order of the clear indexes). */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
