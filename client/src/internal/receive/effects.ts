/**
 * What a receive does once its store batch committed: the handlers' events and follow-ups, the
 * retry of parked group envelopes whose sender key arrived, and the `delivered` receipts owed
 * (batched, receipts.ts). Shared by the inbox and group receivers.
 */
import type { Effects } from '../apply/types.ts';
import type { Ctx } from '../context.ts';
import type { ReceiptBatcher } from '../receipts.ts';

/** Run `fx` (after the commit); `retryPending` tries a group's parked envelopes again. */
export function runEffects(
  ctx: Ctx,
  receipts: ReceiptBatcher,
  fx: Effects,
  retryPending: (groupId: string) => Promise<void>,
): void {
  for (const f of fx.after) f();
  for (const groupId of fx.senderKeys)
    void retryPending(groupId).catch((e: unknown) => ctx.events.emit('error', e));
  if (ctx.options.autoDeliveredReceipts) {
    for (const a of fx.acks) receipts.add(a.user, a.device, 'delivered', a.id);
  }
}
