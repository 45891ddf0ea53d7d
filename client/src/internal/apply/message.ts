/** `text`, `reply` and `file` (PROTOCOL.md §12): stored as a message of the conversation. */
import { parseConversation } from '@sotto/crypto/wire';
import { mentionsOfMembers, type Payload } from '../../payload.ts';
import type { MessageRecord } from '../../store/types.ts';
import { bodyOf } from '../pairwise.ts';
import type { Applying } from './types.ts';

/**
 * The users a message may mention: the group's members, or a DM's two users. A mention of
 * anyone else is dropped before the message is stored (PROTOCOL.md §12 "Mentions"), so a sender
 * cannot make a non-member look mentioned.
 */
export async function mentionMembers(
  at: Applying,
  conversationId = at.origin.conversationId,
): Promise<Set<string>> {
  const c = parseConversation(conversationId);
  if (c.type === 'group') return new Set((await at.ctx.store.getGroup(c.groupId))?.members ?? []);
  return new Set([at.ctx.account().username, c.user]);
}

/** Store a received message and announce it. */
export async function applyMessage(
  p: Extract<Payload, { kind: 'text' | 'reply' | 'file' }>,
  at: Applying,
): Promise<void> {
  const { origin, now, fromSelf } = at;
  const body = bodyOf(p);
  if (p.kind !== 'file' && p.mentions !== undefined) {
    const kept = mentionsOfMembers(p.mentions, await mentionMembers(at));
    if (kept.length > 0) body.mentions = kept;
    else delete body.mentions;
  }
  const message: MessageRecord = {
    conversationId: origin.conversationId,
    id: p.id,
    sender: origin.user,
    senderDevice: origin.device,
    timestamp: p.ts,
    receivedAt: now,
    kind: p.kind,
    body,
    outgoing: fromSelf,
    unread: !fromSelf,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
    senderKind: origin.kind,
  };
  at.ops.push({ op: 'putMessage', message });
  at.fx.after.push(() => at.ctx.events.emit('message', message));
}
