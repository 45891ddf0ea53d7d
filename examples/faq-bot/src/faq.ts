/**
 * The FAQ bot's knowledge: a YAML list of question/answer pairs, and a matcher that finds the
 * entry closest to a question by keyword overlap with a little fuzziness (one typo in words of
 * five letters or more). No network, no model: small and predictable.
 */
import { parse } from 'yaml';

/** One entry of the FAQ file. */
export interface FaqEntry {
  q: string;
  a: string;
  keywords: string[];
}

/** The FAQ file is not a list of `{ q, a, keywords? }` entries. */
export class FaqFileError extends Error {
  override readonly name = 'FaqFileError';
}

/** Words that say nothing about what is asked. */
const STOP = new Set(
  'a an and are can do does for how i in is it me my of on or the to what when where who why with you your'.split(
    ' ',
  ),
);

/** Lower-case words of `text` without stop words. */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOP.has(w));
}

/** Parse and check a FAQ file's text. */
export function parseFaq(text: string): FaqEntry[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new FaqFileError(`the FAQ file is not YAML: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(doc) || doc.length === 0)
    throw new FaqFileError('the FAQ file must be a non-empty list of entries');
  return doc.map((e: unknown, i) => {
    const o = e as Record<string, unknown> | null;
    const kw = o?.keywords ?? [];
    if (
      typeof o?.q !== 'string' ||
      typeof o.a !== 'string' ||
      !Array.isArray(kw) ||
      !kw.every((k) => typeof k === 'string')
    )
      throw new FaqFileError(`entry ${i + 1} needs q and a (text) and keywords (a list of text)`);
    return { q: o.q, a: o.a, keywords: kw };
  });
}

/** Edit distance of at most one (one letter changed, added or removed)? */
function nearlyEqual(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.min(a.length, b.length) < 5 || Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

/**
 * The best entry for `question`, or `null` when none shares enough words with it: the score is
 * the share of the question's words found in the entry's question or keywords.
 */
export function bestAnswer(faq: FaqEntry[], question: string, minScore = 0.5): FaqEntry | null {
  const asked = words(question);
  if (asked.length === 0) return null;
  let best: FaqEntry | null = null;
  let bestScore = 0;
  for (const e of faq) {
    const known = [...words(e.q), ...e.keywords.flatMap(words)];
    const hits = asked.filter((w) => known.some((k) => nearlyEqual(w, k))).length;
    const score = hits / asked.length;
    if (score > bestScore) {
      best = e;
      bestScore = score;
    }
  }
  return bestScore >= minScore ? best : null;
}
