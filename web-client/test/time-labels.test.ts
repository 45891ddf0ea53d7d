/**
 * Dates, times and durations in the browser's locale (`components/time-labels.ts`,
 * `services/locale-format.ts`): the words "today"/"yesterday" and every date come from `Intl`
 * in the given locale, none from the app; only the sentence around "last seen" is ours (and
 * English). Each case names its locale, so the results do not depend on the machine's.
 */
import { describe, expect, it } from 'vitest';
import { dayLabel, lastSeenLabel, momentLabel } from '../src/components/time-labels.ts';
import { shortTime } from '../src/components/conversation-list.ts';
import {
  clockText,
  dateTimeText,
  displayLocale,
  durationText,
} from '../src/services/locale-format.ts';

/** Sunday 6 December 2026, 14:02 local time. */
const NOW = new Date(2026, 11, 6, 14, 2).getTime();
const HOUR = 3_600_000;
const YESTERDAY_EVENING = new Date(2026, 11, 5, 21, 30).getTime();
const EARLIER = new Date(2026, 10, 23, 9, 5).getTime();

describe('day separators', () => {
  it('says today and yesterday in the locale’s words, capitalised as a label', () => {
    expect(dayLabel(NOW - HOUR, NOW, 'en-GB')).toBe('Today');
    expect(dayLabel(YESTERDAY_EVENING, NOW, 'en-GB')).toBe('Yesterday');
    expect(dayLabel(NOW - HOUR, NOW, 'de-DE')).toBe('Heute');
    expect(dayLabel(YESTERDAY_EVENING, NOW, 'de-DE')).toBe('Gestern');
    expect(dayLabel(NOW - HOUR, NOW, 'fr-FR')).toBe('Aujourd’hui');
    expect(dayLabel(YESTERDAY_EVENING, NOW, 'es-ES')).toBe('Ayer');
  });

  it('writes an older day the locale’s way', () => {
    expect(dayLabel(EARLIER, NOW, 'en-GB')).toBe('Mon, 23 November 2026');
    expect(dayLabel(EARLIER, NOW, 'en-US')).toBe('Mon, November 23, 2026');
    expect(dayLabel(EARLIER, NOW, 'de-DE')).toBe('Mo., 23. November 2026');
    expect(dayLabel(EARLIER, NOW, 'ja-JP')).toBe('2026年11月23日(月)');
  });

  it('counts calendar days, not 24-hour spans', () => {
    const justAfterMidnight = new Date(2026, 11, 6, 0, 5).getTime();
    expect(dayLabel(YESTERDAY_EVENING, justAfterMidnight, 'en-GB')).toBe('Yesterday');
    expect(dayLabel(new Date(2026, 11, 4, 23, 59).getTime(), justAfterMidnight, 'en-GB')).not.toBe(
      'Yesterday',
    );
  });
});

describe('times and moments', () => {
  it('writes the time the locale’s way', () => {
    expect(clockText(NOW, 'en-GB')).toBe('14:02');
    expect(clockText(NOW, 'de-DE')).toBe('14:02');
    expect(clockText(NOW, 'en-US')).toBe('02:02 PM');
    expect(clockText(NOW, 'ar-EG')).toMatch(/^[\u0660-\u0669]{2}:[\u0660-\u0669]{2}/u);
  });

  it('gives a moment of today as its time and an older one with its day', () => {
    expect(momentLabel(NOW - HOUR, NOW, 'de-DE')).toBe('13:02');
    expect(momentLabel(YESTERDAY_EVENING, NOW, 'de-DE')).toBe('Gestern 21:30');
  });

  it('puts the locale’s day into the English “last seen” sentence', () => {
    expect(lastSeenLabel(YESTERDAY_EVENING, NOW, 'en-GB')).toBe('last seen yesterday at 21:30');
    expect(lastSeenLabel(YESTERDAY_EVENING, NOW, 'de-DE')).toBe('last seen gestern at 21:30');
  });

  it('gives the chat list a short time: today’s clock, a weekday this week, else day and month', () => {
    expect(shortTime(NOW - HOUR, NOW, 'en-GB')).toBe('13:02');
    expect(shortTime(YESTERDAY_EVENING, NOW, 'en-GB')).toBe('Sat');
    expect(shortTime(YESTERDAY_EVENING, NOW, 'de-DE')).toBe('Sa');
    expect(shortTime(EARLIER, NOW, 'en-GB')).toBe('23 Nov');
    expect(shortTime(EARLIER, NOW, 'de-DE')).toBe('23. Nov.');
    expect(shortTime(0, NOW, 'en-GB')).toBe('');
  });

  it('writes a date with its time', () => {
    expect(dateTimeText(EARLIER, 'en-GB')).toBe('23 Nov 2026, 09:05');
    expect(dateTimeText(EARLIER, 'de-DE')).toBe('23.11.2026, 09:05');
  });

  it('takes the browser’s language as the locale', () => {
    expect(displayLocale()).toBe(navigator.language);
  });
});

describe('durations', () => {
  it('shows a running time as a clock, whole seconds counted down', () => {
    expect(durationText(0, 'en')).toBe('0:00');
    expect(durationText(65_999, 'en')).toBe('1:05');
    expect(durationText(3_723_000, 'en')).toBe('1:02:03');
    expect(durationText(-5, 'en')).toBe('0:00');
  });

  it('uses the locale’s digits', () => {
    expect(durationText(65_000, 'ar-EG')).toBe('١:٠٥');
    expect(durationText(65_000, 'hi-IN-u-nu-deva')).toBe('१:०५');
  });

  it('refuses a duration that is not a number of milliseconds', () => {
    expect(() => durationText(Number.NaN, 'en')).toThrow(RangeError);
  });
});
