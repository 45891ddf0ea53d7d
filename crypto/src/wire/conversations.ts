/**
 * Conversation ids (docs/PROTOCOL.md §7 "Conversation ids"): the local name of a chat, used by
 * the client engine's store, its events and the web client's routes. `dm:{user}` for a direct
 * conversation with `user`, `group:{groupId}` for a group. Built and parsed only here.
 */
import { WireError } from './errors.ts';
import { GROUP_ID_PATTERN, USERNAME_PATTERN } from './topics.ts';

/** A conversation id split into its kind and the peer username or group id. */
export type Conversation = { type: 'dm'; user: string } | { type: 'group'; groupId: string };

const DM = 'dm:';
const GROUP = 'group:';

/** `dm:{user}`: the conversation with `user`. Throws `BAD_CONVERSATION_ID` for a bad username. */
export function dmConversation(user: string): string {
  if (!USERNAME_PATTERN.test(user))
    throw new WireError('BAD_CONVERSATION_ID', `invalid username: ${JSON.stringify(user)}`);
  return DM + user;
}

/** `group:{groupId}`: a group's conversation. Throws `BAD_CONVERSATION_ID` for a bad group id. */
export function groupConversation(groupId: string): string {
  if (!GROUP_ID_PATTERN.test(groupId))
    throw new WireError('BAD_CONVERSATION_ID', `invalid group id: ${JSON.stringify(groupId)}`);
  return GROUP + groupId;
}

/** The conversation id of `c` (inverse of {@link parseConversation}). */
export function formatConversation(c: Conversation): string {
  return c.type === 'dm' ? dmConversation(c.user) : groupConversation(c.groupId);
}

/**
 * Parse `dm:{user}` / `group:{groupId}`; anything else, or an id that does not match its
 * pattern, throws a {@link WireError} `BAD_CONVERSATION_ID`.
 */
export function parseConversation(id: string): Conversation {
  if (id.startsWith(DM)) {
    const user = id.slice(DM.length);
    if (USERNAME_PATTERN.test(user)) return { type: 'dm', user };
  } else if (id.startsWith(GROUP)) {
    const groupId = id.slice(GROUP.length);
    if (GROUP_ID_PATTERN.test(groupId)) return { type: 'group', groupId };
  }
  throw new WireError('BAD_CONVERSATION_ID', `not a conversation id: ${JSON.stringify(id)}`);
}
