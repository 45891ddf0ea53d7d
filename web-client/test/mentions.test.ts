/** The web client's mention helpers: the `@` word being typed, what a text mentions, the pieces drawn. */
import { describe, expect, it } from 'vitest';
import {
  findMentions,
  mentionOptions,
  mentionPieces,
  mentionQuery,
  mentionsUser,
} from '../src/services/mentions.ts';

describe('mentions in the web client', () => {
  it('finds the @ word the caret ends, only at a word start', () => {
    expect(mentionQuery('hi @ca', 6)).toEqual({ start: 3, query: 'ca' });
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQuery('mail a@b', 8)).toBeUndefined();
    expect(mentionQuery('hi @carol done', 14)).toBeUndefined();
  });

  it('offers names starting with the query before names containing it', () => {
    expect(mentionOptions(['bob', 'carol', 'rob'], 'ro')).toEqual(['rob', 'carol']);
    expect(mentionOptions(['bob', 'carol', 'rob'], 'o')).toEqual(['bob', 'carol', 'rob']);
    expect(mentionOptions(['bob', 'bobby', 'rob'], 'b')).toEqual(['bob', 'bobby', 'rob']);
  });

  it('mentions only members named as whole @words', () => {
    expect(findMentions('@bob and @bobby, a@carol, @dave', new Set(['bob', 'carol']))).toEqual([
      { start: 0, length: 4, user: 'bob' },
    ]);
  });

  it('draws spans outside the text or overlapping as plain text', () => {
    const text = 'hi @bob';
    expect(
      mentionPieces(text, [
        { start: 3, length: 4, user: 'bob' },
        { start: 4, length: 2, user: 'eve' },
        { start: 6, length: 9, user: 'eve' },
      ]),
    ).toEqual([{ text: 'hi ' }, { text: '@bob', user: 'bob' }]);
    expect(
      mentionsUser({ body: { mentions: [{ start: 3, length: 4, user: 'bob' }] } }, 'bob'),
    ).toBe(true);
    expect(mentionsUser({ body: { mentions: 'bob' } }, 'bob')).toBe(false);
  });
});
