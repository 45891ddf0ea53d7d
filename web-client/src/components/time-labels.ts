/**
 * Dates as the app shows them: day separators ("Today", "Yesterday", "Mon 3 March 2025"), a
 * contact's "last seen" and when something happened ("14:02", "Yesterday 14:02"). Plain
 * functions, shared by `<message-list>`, `<conversation-view>` and `<own-key-log-status>`.
 */

/** Calendar-day label for separators ("Today", "Yesterday", "Mon 3 March 2025"). */
export function dayLabel(at: number, now = Date.now()): string {
  const d = new Date(at);
  const today = new Date(now);
  const y = new Date(now - 86_400_000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === y.toDateString()) return 'Yesterday';
  return d.toLocaleDateString(undefined, {
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
  const day = dayLabel(at, now);
  return `last seen ${day === 'Today' || day === 'Yesterday' ? day.toLowerCase() : day} at ${clockTime(at)}`;
}

/** When something happened: "14:02" today, otherwise with its day ("Yesterday 14:02"). */
export function momentLabel(at: number, now = Date.now()): string {
  const day = dayLabel(at, now);
  return day === 'Today' ? clockTime(at) : `${day} ${clockTime(at)}`;
}
