/**
 * Mentions in the web client (PROTOCOL.md §12 "Mentions"): the `@name` the composer is
 * completing, the mentions a text carries when it is sent, the ones a stored message holds (the
 * engine kept only mentions of members that fit the text) and the pieces a bubble draws.
 */
import type { Mention } from '@sotto/client';
import type { MessageRecord } from './engine-types.ts';

export type { Mention } from '@sotto/client';

/** An `@name` written in the text: the name as a whole word after an `@`. */
const WRITTEN = /(?<![\w@])@([a-z0-9_]{3,32})(?![a-z0-9_])/g;

/** The `@` word the caret ends, when the user is typing one: where it starts and what follows. */
export function mentionQuery(
  text: string,
  caret: number,
): { start: number; query: string } | undefined {
  const m = /(?:^|\s)@([a-z0-9_]{0,32})$/i.exec(text.slice(0, caret));
  if (m === null) return undefined;
  const query = m[1] ?? '';
  return { start: caret - query.length - 1, query: query.toLowerCase() };
}

/** Members to offer for `query`: names starting with it first, then names containing it. */
export function mentionOptions(members: readonly string[], query: string, max = 8): string[] {
  const starts = members.filter((u) => u.startsWith(query));
  const contains = members.filter((u) => !u.startsWith(query) && u.includes(query));
  return [...starts, ...contains].slice(0, max);
}

/** The mentions a text carries: every `@name` in it that names one of `members`. */
export function findMentions(text: string, members: ReadonlySet<string>): Mention[] {
  const out: Mention[] = [];
  for (const m of text.matchAll(WRITTEN)) {
    const user = m[1] ?? '';
    if (members.has(user)) out.push({ start: m.index, length: m[0].length, user });
  }
  return out;
}

/** The mentions a stored message holds (none for a malformed field). */
export function mentionsOf(m: Pick<MessageRecord, 'body'>): Mention[] {
  const v = m.body.mentions;
  if (!Array.isArray(v)) return [];
  return v.filter(
    (x): x is Mention =>
      typeof x === 'object' &&
      x !== null &&
      typeof (x as Mention).start === 'number' &&
      typeof (x as Mention).length === 'number' &&
      typeof (x as Mention).user === 'string',
  );
}

/** Whether an incoming message mentions `me`. */
export function mentionsUser(m: Pick<MessageRecord, 'body'>, me: string): boolean {
  return mentionsOf(m).some((x) => x.user === me);
}

/** A piece of a text: plain, or a mention of `user`. */
export type MentionPiece = { text: string } | { text: string; user: string };

/**
 * `text` cut at its mentions. Spans outside the text or overlapping an earlier one are drawn as
 * plain text (the engine dropped such spans already; this does not trust the record either).
 */
export function mentionPieces(text: string, mentions: readonly Mention[]): MentionPiece[] {
  const out: MentionPiece[] = [];
  let last = 0;
  for (const m of [...mentions].sort((a, b) => a.start - b.start)) {
    const end = m.start + m.length;
    if (m.start < last || end > text.length || m.length < 1) continue;
    if (m.start > last) out.push({ text: text.slice(last, m.start) });
    out.push({ text: text.slice(m.start, end), user: m.user });
    last = end;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}
