/** `profile` (PROTOCOL.md §12): the sender's display name, kept on their contact record. */
import type { Payload } from '../../payload.ts';
import type { Applying } from './types.ts';

/** Store the sender's profile fields. */
export async function applyProfile(
  p: Extract<Payload, { kind: 'profile' }>,
  at: Applying,
): Promise<void> {
  const { origin, now } = at;
  const c = await at.ctx.store.getContact(origin.user);
  const contact = c ?? {
    username: origin.user,
    uik: null,
    verified: false,
    pendingUik: null,
    updatedAt: now,
  };
  at.ops.push({
    op: 'putContact',
    contact: {
      ...contact,
      ...(p.displayName !== undefined ? { displayName: p.displayName } : {}),
      updatedAt: now,
    },
  });
}
