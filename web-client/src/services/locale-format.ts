/**
 * Numbers, dates and durations in the browser's locale, by `Intl`: the words around them come
 * from the messages module (`ui-strings.ts`, English only so far), but a German browser still
 * writes "14:02", "6. Dezember 2026" and "1.234" its own way. Every function takes the locale
 * as an optional last argument (tests pass one; the app leaves it to {@link displayLocale}).
 */

/**
 * The locale dates and numbers are written in: the browser's language (`navigator.language`),
 * or the runtime's default where there is no navigator (Node tests).
 */
export function displayLocale(): string {
  const nav = (globalThis as { navigator?: { language?: string } }).navigator;
  const lang = nav?.language;
  if (typeof lang === 'string' && Intl.DateTimeFormat.supportedLocalesOf([lang]).length > 0) {
    return lang;
  }
  return new Intl.DateTimeFormat().resolvedOptions().locale;
}

/** A date with its time ("6 Dec 2026, 14:02"; "06.12.2026, 14:02" in de-DE). */
export function dateTimeText(at: number, locale = displayLocale()): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(at);
}

/** Hours and minutes of `at` ("14:02"; "2:02 PM" in en-US). */
export function clockText(at: number, locale = displayLocale()): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(at);
}

/** A day in short: its weekday ("Sat"; "Sa" in de-DE) or its day and month ("23 Nov"; "23. Nov."). */
export function shortDayText(
  at: number,
  part: 'weekday' | 'date',
  locale = displayLocale(),
): string {
  const options: Intl.DateTimeFormatOptions =
    part === 'weekday' ? { weekday: 'short' } : { day: 'numeric', month: 'short' };
  return new Intl.DateTimeFormat(locale, options).format(at);
}

/**
 * A running time as a clock shows it ("1:05", "1:02:03"), whole seconds counted down (a
 * stopwatch never shows a second not yet reached), in the locale's digits (`Intl.NumberFormat`:
 * "١:٠٥" in ar-EG). Not `Intl.DurationFormat`: its digital style pads the minutes of a short
 * time ("01:05" in Chromium 156), unlike the call and voice-note clocks people know, and Node 20
 * (the unit tests) lacks it, so the two would disagree.
 */
export function durationText(ms: number, locale = displayLocale()): string {
  if (!Number.isFinite(ms)) throw new RangeError(`durationText: ms must be finite, got ${ms}`);
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const plain = new Intl.NumberFormat(locale, { useGrouping: false });
  const two = new Intl.NumberFormat(locale, { minimumIntegerDigits: 2, useGrouping: false });
  return hours > 0
    ? `${plain.format(hours)}:${two.format(minutes)}:${two.format(seconds)}`
    : `${plain.format(minutes)}:${two.format(seconds)}`;
}
