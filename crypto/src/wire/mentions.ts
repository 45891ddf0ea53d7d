/**
 * Mentions inside a `text` or `reply` payload (PROTOCOL.md §12 "Mentions"): which spans of the
 * message text name which user. Defined once here; `payload.ts` decodes the field with
 * {@link decodeMentions} and the receiving engine keeps only mentions of members with
 * {@link mentionsOfMembers}. Structure is strict (a malformed list makes the payload
 * `INVALID_FIELD`, like any known field); a well-formed mention that does not fit the text —
 * past its end, overlapping another, not starting with `@` — is dropped and the message kept, so
 * a lying sender can neither highlight arbitrary words nor break the message.
 */

/** One mention: the UTF-16 span `[start, start + length)` of the text names `user`. */
export interface Mention {
  /** Offset of the `@` in the text, in UTF-16 code units. */
  start: number;
  /** Length of the span (the `@` and the name as written), in UTF-16 code units. */
  length: number;
  /** The username mentioned (the key server's name, not a display name). */
  user: string;
}

/** Most mentions one message carries. */
export const MAX_MENTIONS = 50;

/** Longest span of one mention (an `@` and a 32-character username, or a longer display name). */
export const MAX_MENTION_LENGTH = 80;

/** A field problem: payload.ts turns it into `PayloadError('INVALID_FIELD')`. */
export class MentionFieldError extends Error {
  override readonly name = 'MentionFieldError';
}

const USERNAME = /^[a-z0-9_]{3,32}$/;

function fail(why: string): never {
  throw new MentionFieldError(`payload field mentions ${why}`);
}

function isCount(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

/**
 * The `mentions` field of a text payload: undefined when absent, else the mentions that fit
 * `text`, in text order. Throws {@link MentionFieldError} for a malformed list.
 */
export function decodeMentions(value: unknown, text: string): Mention[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_MENTIONS) {
    fail(`must be a list of at most ${MAX_MENTIONS} mentions`);
  }
  const all: Mention[] = value.map((v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('must hold objects');
    const { start, length, user } = v as Record<string, unknown>;
    if (!isCount(start, 0, Number.MAX_SAFE_INTEGER)) fail('start must be a non-negative integer');
    if (!isCount(length, 2, MAX_MENTION_LENGTH)) {
      fail(`length must be an integer from 2 to ${MAX_MENTION_LENGTH}`);
    }
    if (typeof user !== 'string' || !USERNAME.test(user)) fail('user must be a username');
    return { start, length, user };
  });
  return fitting(all, text);
}

/** The mentions that lie inside `text`, start with `@` and do not overlap, in text order. */
function fitting(mentions: readonly Mention[], text: string): Mention[] {
  const sorted = [...mentions].sort((a, b) => a.start - b.start);
  const kept: Mention[] = [];
  let end = 0;
  for (const m of sorted) {
    if (m.start < end || m.start + m.length > text.length || text[m.start] !== '@') continue;
    kept.push(m);
    end = m.start + m.length;
  }
  return kept;
}

/** The mentions that name one of `members` (a group's members, or a DM's two users). */
export function mentionsOfMembers(
  mentions: readonly Mention[] | undefined,
  members: ReadonlySet<string>,
): Mention[] {
  return (mentions ?? []).filter((m) => members.has(m.user));
}
