/** A payload kind this version does not know (PROTOCOL.md §12): kept, not shown. */
import type { Payload } from '../../payload.ts';
import type { MessageRecord } from '../../store/types.ts';
import type { Applying } from './types.ts';

/** Keep an unknown payload as an `unknown` record and report it. */
export function applyUnknown(p: Extract<Payload, { kind: 'unknown' }>, at: Applying): void {
  const { origin, now } = at;
  const message: MessageRecord = {
    conversationId: origin.conversationId,
    id: p.id,
    sender: origin.user,
    senderDevice: origin.device,
    timestamp: p.ts,
    receivedAt: now,
    kind: 'unknown',
    body: { originalKind: p.originalKind, raw: p.raw },
    outgoing: at.fromSelf,
    unread: false,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  };
  at.ops.push({ op: 'putMessage', message });
  at.fx.after.push(() =>
    at.ctx.events.emit('unknown', { conversationId: origin.conversationId, payload: p }),
  );
}
