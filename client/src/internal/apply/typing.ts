/** `typing` (PROTOCOL.md §12): an event only, never stored or acknowledged. */
import type { Payload } from '../../payload.ts';
import type { Applying } from './types.ts';

/** Announce that the sender started or stopped typing. */
export function applyTyping(p: Extract<Payload, { kind: 'typing' }>, at: Applying): void {
  const conversationId = p.conversation ?? at.origin.conversationId;
  at.fx.after.push(() =>
    at.ctx.events.emit('typing', {
      conversationId,
      user: at.origin.user,
      typing: p.typing,
      at: p.ts,
    }),
  );
}
