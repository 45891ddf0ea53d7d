/**
 * Dates as the app shows them: day separators ("Today", "Yesterday", "Mon 3 March 2025"), a
 * contact's "last seen" and when something happened ("14:02", "Yesterday 14:02"). Plain
 * functions, shared by `<message-list>`, `<conversation-view>` and `<own-key-log-status>`.
 */
import { uiText } from '../services/ui-strings.ts';

/** 0 for today, -1 for yesterday, null for any other day (calendar days in local time). */
function dayOffset(at: number, now: number): 0 | -1 | null {
  const d = new Date(at).toDateString();
  if (d === new Date(now).toDateString()) return 0;
  if (d === new Date(now - 86_400_000).toDateString()) return -1;
  return null;
}

/** "today" / "yesterday" in the browser's language, from `Intl` (no words of our own). */
function relativeDay(offset: 0 | -1): string {
  return new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }).format(offset, 'day');
}

/** The first letter in upper case, as the locale writes it (a label starts a line). */
function capitalised(s: string): string {
  return s.charAt(0).toLocaleUpperCase() + s.slice(1);
}

/** Calendar-day label for separators ("Today", "Yesterday", "Mon 3 March 2025"), by `Intl`. */
export function dayLabel(at: number, now = Date.now()): string {
  const offset = dayOffset(at, now);
  if (offset !== null) return capitalised(relativeDay(offset));
  return new Date(at).toLocaleDateString(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  });
}

/** Hours and minutes of `at` in the user's locale ("14:02"). */
function clockTime(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** "last seen today at 14:02" style label. */
export function lastSeenLabel(at: number, now = Date.now()): string {
  const offset = dayOffset(at, now);
  const day = offset !== null ? relativeDay(offset) : dayLabel(at, now);
  return uiText('presence.lastSeen', { day, time: clockTime(at) });
}

/** When something happened: "14:02" today, otherwise with its day ("Yesterday 14:02"). */
export function momentLabel(at: number, now = Date.now()): string {
  return dayOffset(at, now) === 0 ? clockTime(at) : `${dayLabel(at, now)} ${clockTime(at)}`;
}
