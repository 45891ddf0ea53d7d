/**
 * `pin` (PROTOCOL.md §12 "Pins"): pin or unpin a message of the conversation the payload arrived
 * in. Two rules, each dropping the payload (nothing stored, the sender not told):
 * - [PIN-ADMIN] in a group only an admin by the verified membership chain this device holds
 *   may pin; in a DM either side may.
 * - [PIN-TARGET] the target must be a message of that same conversation (an unknown id, a
 *   message of another conversation or a timeline line is ignored).
 */
import { ClientError } from '../../errors.ts';
import type { Payload } from '../../payload.ts';
import { mayPin, pinOps, pinTarget } from '../pins.ts';
import type { Applying } from './types.ts';

/** Apply a pin or unpin from `at.origin`. */
export async function applyPin(p: Extract<Payload, { kind: 'pin' }>, at: Applying): Promise<void> {
  const { ctx, origin } = at;
  const conversationId = origin.conversationId;
  if (!(await mayPin(ctx, conversationId, origin.user))) {
    at.fx.after.push(() =>
      ctx.events.emit(
        'error',
        new ClientError(
          'NOT_ADMIN',
          `a pin in ${conversationId} from ${origin.user} was dropped: only admins pin in a group`,
        ),
      ),
    );
    return;
  }
  if ((await pinTarget(ctx, conversationId, p.target)) === null) return;
  const { ops, line, pins } = await pinOps(ctx, conversationId, p, {
    user: origin.user,
    device: origin.device,
    outgoing: at.fromSelf,
  });
  at.ops.push(...ops);
  at.fx.after.push(() => {
    ctx.events.emit('message', line);
    ctx.events.emit('pins', { conversationId, pins });
  });
}
