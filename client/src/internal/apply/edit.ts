/**
 * `edit` and `delete` (PROTOCOL.md §12): only the sender of a message changes it. An edit carries
 * the new text's mentions, which replace the old ones (members only, like a new message's).
 */
import { mentionsOfMembers, type Payload } from '../../payload.ts';
import { editedBody } from '../pairwise.ts';
import { mentionMembers } from './message.ts';
import { emitUpdate, type Applying } from './types.ts';

/** Apply an edit or a delete-for-everyone to a stored message of the same sender. */
export async function applyEdit(
  p: Extract<Payload, { kind: 'edit' | 'delete' }>,
  at: Applying,
): Promise<void> {
  const m = await at.ctx.store.getMessage(p.target);
  if (!m || m.sender !== at.origin.user) return;
  if (p.kind === 'delete') {
    at.ops.push({ op: 'deleteMessage', messageId: m.id });
  } else {
    // The edit's mentions pass the same member rule as a new message's (PROTOCOL.md §12).
    const mentions =
      p.mentions === undefined
        ? undefined
        : mentionsOfMembers(p.mentions, await mentionMembers(at, m.conversationId));
    const body = editedBody(m.body, p.text, mentions);
    at.ops.push({ op: 'editMessage', messageId: m.id, body, editedAt: p.ts });
  }
  at.fx.after.push(() => void emitUpdate(at.ctx, m.id));
}
