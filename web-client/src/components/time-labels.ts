/**
 * Dates as the conversation shows them: day separators ("Today", "Yesterday", "Mon 3 March
 * 2025") and a contact's "last seen". Plain functions, shared by `<message-list>` and
 * `<conversation-view>`.
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

/** "last seen today at 14:02" style label. */
export function lastSeenLabel(at: number, now = Date.now()): string {
  const day = dayLabel(at, now);
  const time = new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return `last seen ${day === 'Today' || day === 'Yesterday' ? day.toLowerCase() : day} at ${time}`;
}
