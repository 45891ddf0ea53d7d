/**
 * A group's "n members, m online" (issue 17): from the presence this browser already follows
 * per user (retained presence topics, `ChatSession.presence`); this device's own user counts as
 * online while it is connected. The header and the member list say the same thing this way.
 */
import type { PresenceInfo } from './session.ts';
import { uiText } from './ui-strings.ts';

/** Who of `members` is online now. */
export function onlineMembers(
  members: readonly string[],
  presence: ReadonlyMap<string, PresenceInfo>,
  me: string,
  connected: boolean,
): string[] {
  return members.filter((m) => (m === me ? connected : presence.get(m)?.online === true));
}

/** "12 members, 3 online", or "12 members" while nobody is known to be online. */
export function membersLabel(count: number, online: number): string {
  return online > 0
    ? uiText('group.membersOnline', { count, online })
    : uiText('group.members', { count });
}
