/**
 * `receipt` (PROTOCOL.md §12): moves our messages forward per recipient device and removes
 * their outbox entries. A `delivered` receipt for a sender key we sent proves the device now
 * listens on the group topic: group messages it has not acknowledged go again at once.
 */
import type { Payload } from '../../payload.ts';
import type { Applying } from './types.ts';

/** Record a receipt from `at.origin`. */
export function applyReceipt(p: Extract<Payload, { kind: 'receipt' }>, at: Applying): void {
  const { origin, ctx } = at;
  if (p.ids.filter((id) => at.pairwise.senderKeyIds.delete(id)).length > 0) {
    at.fx.after.push(() => void at.outbox.resendTo(origin.user, origin.device, true));
  }
  for (const id of p.ids) {
    at.ops.push({
      op: 'setReceipt',
      messageId: id,
      recipient: `${origin.user}:${origin.device}`,
      status: p.status,
    });
    at.ops.push({
      op: 'removeOutbox',
      messageId: id,
      recipient: origin.user,
      recipientDevice: origin.device,
    });
    at.fx.after.push(() =>
      ctx.events.emit('receipt', {
        messageId: id,
        user: origin.user,
        device: origin.device,
        status: p.status,
      }),
    );
  }
}
