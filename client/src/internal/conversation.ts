/**
 * Conversation ids as the engine and its callers name them: `dm:{user}` and `group:{id}`.
 */
import { ClientError } from '../errors.ts';

/** The conversation id of a DM with `user`. */
export function dmConversation(user: string): string {
  return `dm:${user}`;
}

/** The conversation id of a group. */
export function groupConversation(groupId: string): string {
  return `group:${groupId}`;
}

/** Parse `dm:{user}` / `group:{id}`. */
export function parseConversation(
  id: string,
): { type: 'dm'; user: string } | { type: 'group'; groupId: string } {
  if (id.startsWith('dm:')) return { type: 'dm', user: id.slice(3) };
  if (id.startsWith('group:')) return { type: 'group', groupId: id.slice(6) };
  throw new ClientError('BAD_INPUT', `not a conversation id: ${id}`);
}
