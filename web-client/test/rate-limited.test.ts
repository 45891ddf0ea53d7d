/** "Too many attempts" says how long the key server asked to wait (its Retry-After). */
import { describe, expect, it } from 'vitest';
import { ApiError } from '@sotto/client';
import { rateLimitedText, toMessengerError } from '../src/services/messenger-errors.ts';
import { MessengerError } from '../src/services/messenger.ts';

describe('rate-limited errors', () => {
  it('name the wait in seconds or minutes, rounded up', () => {
    expect(rateLimitedText(1_000)).toBe('Too many attempts. Try again in 1 second.');
    expect(rateLimitedText(42_500)).toBe('Too many attempts. Try again in 43 seconds.');
    expect(rateLimitedText(60_000)).toBe('Too many attempts. Try again in 1 minute.');
    expect(rateLimitedText(900_000)).toBe('Too many attempts. Try again in 15 minutes.');
    expect(rateLimitedText(undefined)).toBe('Too many attempts. Wait a moment and try again.');
  });

  it('turn a 429 from the key server into RATE_LIMITED with that sentence', () => {
    const err = toMessengerError(
      new ApiError('RATE_LIMITED', 'too many login attempts', 429, { retryAfterMs: 240_000 }),
    );
    expect(err).toBeInstanceOf(MessengerError);
    expect(err).toMatchObject({
      code: 'RATE_LIMITED',
      message: 'Too many attempts. Try again in 4 minutes.',
    });
  });
});
