/**
 * Dates as the app shows them: day separators ("Today", "Yesterday", "Mon, 3 March 2025"), a
 * contact's "last seen" and when something happened ("14:02", "Yesterday 14:02"). Every word
 * and every order comes from `Intl` in the browser's locale (`Intl.RelativeTimeFormat` with
 * `numeric: 'auto'` says "today"/"heute", `Intl.DateTimeFormat` writes the date), none from us;
 * only the sentence around "last seen" is ours (`presence.lastSeen` in the messages module).
 * Plain functions, shared by `<message-list>`, `<conversation-view>` and `<own-key-log-status>`;
 * each takes the locale as an optional last argument (tests pass one).
 */
import { uiText } from '../services/ui-strings.ts';
import { clockText, displayLocale } from '../services/locale-format.ts';

/** 0 for today, -1 for yesterday, null for any other day (calendar days in local time). */
function dayOffset(at: number, now: number): 0 | -1 | null {
  const d = new Date(at).toDateString();
  if (d === new Date(now).toDateString()) return 0;
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (d === yesterday.toDateString()) return -1;
  return null;
}

/** "today" / "yesterday" ("heute" / "gestern") from `Intl`, no words of our own. */
function relativeDay(offset: 0 | -1, locale: string): string {
  return new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(offset, 'day');
}

/** The first letter in upper case, as the locale writes it (a label starts a line). */
function capitalised(s: string, locale: string): string {
  return s.charAt(0).toLocaleUpperCase(locale) + s.slice(1);
}

/** Calendar-day label for separators ("Today", "Yesterday", "Mon, 3 March 2025"), by `Intl`. */
export function dayLabel(at: number, now = Date.now(), locale = displayLocale()): string {
  const offset = dayOffset(at, now);
  if (offset !== null) return capitalised(relativeDay(offset, locale), locale);
  return new Intl.DateTimeFormat(locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  }).format(at);
}

/** "last seen today at 14:02" style label. */
export function lastSeenLabel(at: number, now = Date.now(), locale = displayLocale()): string {
  const offset = dayOffset(at, now);
  const day = offset !== null ? relativeDay(offset, locale) : dayLabel(at, now, locale);
  return uiText('presence.lastSeen', { day, time: clockText(at, locale) });
}

/** When something happened: "14:02" today, otherwise with its day ("Yesterday 14:02"). */
export function momentLabel(at: number, now = Date.now(), locale = displayLocale()): string {
  const time = clockText(at, locale);
  return dayOffset(at, now) === 0 ? time : `${dayLabel(at, now, locale)} ${time}`;
}
