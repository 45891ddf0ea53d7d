/** `text`, `reply` and `file` (PROTOCOL.md §12): stored as a message of the conversation. */
import type { Payload } from '../../payload.ts';
import type { MessageRecord } from '../../store/types.ts';
import { bodyOf } from '../pairwise.ts';
import type { Applying } from './types.ts';

/** Store a received message and announce it. */
export function applyMessage(
  p: Extract<Payload, { kind: 'text' | 'reply' | 'file' }>,
  at: Applying,
): void {
  const { origin, now, fromSelf } = at;
  const message: MessageRecord = {
    conversationId: origin.conversationId,
    id: p.id,
    sender: origin.user,
    senderDevice: origin.device,
    timestamp: p.ts,
    receivedAt: now,
    kind: p.kind,
    body: bodyOf(p),
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
