/**
 * `sync` (PROTOCOL.md §12): what one of our own devices sent, copied to the others. A message
 * is stored as outgoing; anything else is applied as if it arrived in that conversation.
 */
import type { Payload } from '../../payload.ts';
import type { MessageRecord } from '../../store/types.ts';
import type { Applying, Effects, Origin } from './types.ts';

/** Apply `p.inner` in `p.conversation`; only from our own devices. */
export async function applySync(
  p: Extract<Payload, { kind: 'sync' }>,
  at: Applying,
  /** The applier itself, for the inner payload (passed in: handlers do not import the index). */
  applyInner: (
    payload: Payload,
    origin: Origin,
    ops: Applying['ops'],
    fx: Effects,
  ) => Promise<void>,
): Promise<void> {
  if (!at.fromSelf) return;
  const { origin, now, fx } = at;
  const inner = p.inner;
  if (inner.kind === 'text' || inner.kind === 'reply' || inner.kind === 'file') {
    const message: MessageRecord = {
      ...at.pairwise.outgoingRecord(p.conversation, inner, []),
      senderDevice: origin.device,
      receivedAt: now,
    };
    at.ops.push({ op: 'putMessage', message });
    fx.after.push(() => at.ctx.events.emit('message', message));
    return;
  }
  // Events of the inner payload run with ours; its receipts are not ours to send.
  await applyInner(inner, { ...origin, conversationId: p.conversation }, at.ops, {
    after: fx.after,
    acks: [],
    senderKeys: fx.senderKeys,
  });
}
