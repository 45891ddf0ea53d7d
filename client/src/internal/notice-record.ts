/**
 * The one shape of a timeline line the engine writes itself (a key change, a contact's rename):
 * PROTOCOL.md §12 keeps such lines apart from payloads — a received payload of kind `notice` is
 * stored as `unknown`.
 */
import type { MessageRecord } from '../store/types.ts';

/**
 * A timeline line the engine itself writes (kind `notice`, never unread, never a message anyone
 * sent): `body.notice` says which. Its `id` must be no payload id (those are 22 characters), so
 * no message can overwrite it.
 */
export function noticeRecord(
  conversationId: string,
  id: string,
  sender: string,
  timestamp: number,
  receivedAt: number,
  body: Record<string, unknown>,
): MessageRecord {
  return {
    conversationId,
    id,
    sender,
    senderDevice: '',
    timestamp,
    receivedAt,
    kind: 'notice',
    body,
    outgoing: false,
    unread: false,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  };
}
