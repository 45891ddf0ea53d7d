/**
 * `profile` (PROTOCOL.md §12 "Profiles"): a user's display name and picture. The payload names
 * no user: it is always the profile of the authenticated sender ([PROFILE-1]), so a profile
 * from mallory can only ever change what we show for mallory, and our own profile changes only
 * through one of our own devices. A profile replaces the held one only when its version is
 * higher ([PROFILE-2]), so a replayed or re-sent older copy never undoes a newer change.
 */
import type { Payload } from '../../payload.ts';
import type { ContactRecord, StoreOp } from '../../store/types.ts';
import { OWN_PROFILE_SETTING, contactProfile, type Profile } from '../profiles.ts';
import type { Applying } from './types.ts';

/** The contact as it will be after the ops queued so far in this batch (they are not stored yet). */
async function pendingContact(at: Applying, user: string): Promise<ContactRecord | null> {
  for (let i = at.ops.length - 1; i >= 0; i--) {
    const op = at.ops[i] as StoreOp;
    if (op.op === 'putContact' && op.contact.username === user) return op.contact;
  }
  return at.ctx.store.getContact(user);
}

/** The own profile as it will be after this batch's queued ops. */
async function pendingOwn(at: Applying): Promise<Profile | null> {
  for (let i = at.ops.length - 1; i >= 0; i--) {
    const op = at.ops[i] as StoreOp;
    if (op.op === 'setSetting' && op.key === OWN_PROFILE_SETTING) return op.value as Profile;
  }
  return (await at.ctx.store.getSetting<Profile>(OWN_PROFILE_SETTING)) ?? null;
}

/** Store the sender's profile if it is newer than the one held. */
export async function applyProfile(
  p: Extract<Payload, { kind: 'profile' }>,
  at: Applying,
): Promise<void> {
  const { origin, now } = at;
  const profile: Profile = {
    ...(p.displayName !== undefined ? { displayName: p.displayName } : {}),
    ...(p.avatar !== undefined ? { avatar: p.avatar } : {}),
    // Older clients send no version: their send time orders them.
    version: p.version ?? p.ts,
  };
  const emit = (): void => {
    at.fx.after.push(() => at.ctx.events.emit('profile', { user: origin.user, profile }));
  };
  // [PROFILE-1] Our own profile comes only from our own devices (a `sync`, or a group or
  // pairwise fan-out that includes them).
  if (at.fromSelf) {
    const own = await pendingOwn(at);
    // [PROFILE-2]
    if (own && own.version >= profile.version) return;
    at.ops.push({ op: 'setSetting', key: OWN_PROFILE_SETTING, value: profile });
    return emit();
  }
  // [PROFILE-1] Anyone else's profile is the authenticated sender's, never another user's.
  const c = await pendingContact(at, origin.user);
  // [PROFILE-2]
  const held = contactProfile(c);
  if (held && held.version >= profile.version) return;
  const {
    displayName: _n,
    avatar: _a,
    profileVersion: _v,
    ...rest
  } = c ?? {
    username: origin.user,
    uik: null,
    verified: false,
    pendingUik: null,
    updatedAt: now,
  };
  at.ops.push({
    op: 'putContact',
    contact: {
      ...rest,
      ...(profile.displayName !== undefined ? { displayName: profile.displayName } : {}),
      ...(profile.avatar !== undefined ? { avatar: profile.avatar } : {}),
      profileVersion: profile.version,
      updatedAt: now,
    },
  });
  emit();
}
