/** `edit` and `delete` (PROTOCOL.md §12): only the sender of a message changes it. */
import type { Payload } from '../../payload.ts';
import { emitUpdate, type Applying } from './types.ts';

/** The body with the new text; the old mentions go (their spans named the old text). */
function editedBody(body: Record<string, unknown>, text: string): Record<string, unknown> {
  const { mentions: _old, ...rest } = body;
  return { ...rest, text };
}

/** Apply an edit or a delete-for-everyone to a stored message of the same sender. */
export async function applyEdit(
  p: Extract<Payload, { kind: 'edit' | 'delete' }>,
  at: Applying,
): Promise<void> {
  const m = await at.ctx.store.getMessage(p.target);
  if (!m || m.sender !== at.origin.user) return;
  at.ops.push(
    p.kind === 'edit'
      ? { op: 'editMessage', messageId: m.id, body: editedBody(m.body, p.text), editedAt: p.ts }
      : { op: 'deleteMessage', messageId: m.id },
  );
  at.fx.after.push(() => void emitUpdate(at.ctx, m.id));
}
