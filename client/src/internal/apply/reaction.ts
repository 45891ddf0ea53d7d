/** `reaction` (PROTOCOL.md §12): one emoji per user on a stored message, null removes it. */
import type { Payload } from '../../payload.ts';
import { emitUpdate, type Applying } from './types.ts';

/** Set or clear the sender's reaction on a stored message. */
export async function applyReaction(
  p: Extract<Payload, { kind: 'reaction' }>,
  at: Applying,
): Promise<void> {
  const m = await at.ctx.store.getMessage(p.target);
  if (!m) return;
  at.ops.push({ op: 'react', messageId: m.id, user: at.origin.user, emoji: p.emoji });
  at.fx.after.push(() => void emitUpdate(at.ctx, m.id));
}
