/**
 * `receipt` (PROTOCOL.md §12): moves our messages forward per recipient device and removes
 * their outbox entries. A `delivered` receipt for a sender key we sent proves the device now
 * listens on the group topic: group messages it has not acknowledged go again at once.
 *
 * A `played` receipt counts only for one of our own voice notes that was sent to the very
 * device answering ([RCPT-PLAYED]): anyone else — a user who never got the note, a device added
 * later, one of our own devices — cannot mark it played, and an id that is not a voice note is
 * ignored, so "played" on screen always means a recipient listened to it.
 */
import type { Payload } from '../../payload.ts';
import type { Applying } from './types.ts';

/** Whether `origin` may report `id` as played ([RCPT-PLAYED]). */
async function mayReportPlayed(id: string, at: Applying): Promise<boolean> {
  const m = await at.ctx.store.getMessage(id);
  if (m === null || !m.outgoing || m.deleted) return false;
  const voice = m.body.voice;
  if (m.kind !== 'file' || typeof voice !== 'object' || voice === null) return false;
  return m.status[`${at.origin.user}:${at.origin.device}`] !== undefined;
}

/** Record a receipt from `at.origin`. */
export async function applyReceipt(
  p: Extract<Payload, { kind: 'receipt' }>,
  at: Applying,
): Promise<void> {
  const { origin, ctx } = at;
  let ids = p.ids;
  if (p.status === 'played') {
    const allowed: string[] = [];
    for (const id of ids) if (await mayReportPlayed(id, at)) allowed.push(id);
    ids = allowed;
  }
  if (ids.filter((id) => at.pairwise.senderKeyIds.delete(id)).length > 0) {
    at.fx.after.push(() => void at.outbox.resendTo(origin.user, origin.device, true));
  }
  for (const id of ids) {
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
