/**
 * Guest accounts (issue 17, docs/API.md "Guests"): what a guest may not do, and the sweep that
 * expires guests left idle. The routes that make and upgrade guests are in routes/guests.ts.
 */
import { randomBytes } from 'node:crypto';
import { GUEST_NAME_PREFIX, isGuestName } from '@sotto/crypto';
import type { Store } from '@sotto/server-core/store';
import type { AccessClaims } from '@sotto/server-core/tokens';
import type { Ctx } from './context.ts';
import { apiError } from './errors.ts';

/**
 * Names no one can sign up with: `thing` and `service` begin the MQTT client ids of IoT things
 * and key servers (`thing:{owner}:{name}`, `service:keyserver:{n}`), so such an account could
 * never connect; the others would read as the system speaking.
 */
const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'thing',
  'service',
  'sotto',
  'admin',
  'system',
]);

/** Throw `USERNAME_TAKEN` when `name` is reserved (sign-up and a guest's new name). */
export function refuseReservedName(name: string): void {
  if (RESERVED_USERNAMES.has(name) || isGuestName(name))
    throw apiError('USERNAME_TAKEN', 'this name is reserved');
}

/**
 * A fresh guest name: the prefix and 8 random hex digits. Usernames have no `-`, so `guest_`
 * stands for the `guest-` of the issue; the prefix is the protocol library's, since clients
 * check renames (only a guest name may be renamed) against it too.
 */
export function newGuestName(): string {
  return `${GUEST_NAME_PREFIX}${randomBytes(4).toString('hex')}`;
}

/** Throw `GUEST_NOT_ALLOWED` when the caller is a guest (room and thing creation). */
export function refuseGuest(c: AccessClaims, what: string): void {
  if (c.gst) throw apiError('GUEST_NOT_ALLOWED', `guest accounts cannot ${what}`);
}

/**
 * May the caller reach `target` (claim its prekeys, and so open a DM)? Full accounts reach
 * anyone; a guest only itself and users it shares a room with (the broker's [ACL-13]).
 */
export async function guestMayReach(
  store: Pick<Store, 'sharesGroup'>,
  c: AccessClaims,
  target: string,
): Promise<boolean> {
  return !c.gst || target === c.sub || (await store.sharesGroup(c.sub, target));
}

/**
 * Expire guests idle for longer than `config.guestIdleMs`: idle since the last login or token
 * refresh of any of their devices (or since creation). An expired guest's devices are signed
 * out on every broker and their keys unpublished; with no password, there is no way back in.
 * Several key servers may sweep at once: only the one whose `endGuest` wins revokes.
 */
export async function expireIdleGuests(ctx: Ctx): Promise<string[]> {
  const { store, config } = ctx;
  const expired: string[] = [];
  const cutoff = ctx.now() - config.guestIdleMs;
  for (const username of await store.listGuests()) {
    const [user, devices] = await Promise.all([
      store.getUser(username),
      store.listDevices(username),
    ]);
    const last = Math.max(user?.createdAt ?? 0, ...devices.map((d) => d.lastActiveAt));
    if (last >= cutoff) continue;
    if (!(await store.endGuest(username, { as: 'expired' }))) continue;
    for (const d of devices) await ctx.revokeDevice(username, d.deviceId);
    expired.push(username);
  }
  return expired;
}

/**
 * Run {@link expireIdleGuests} every quarter of the idle time (at most every 10 minutes, at
 * least every second); returns the function that stops it.
 */
export function startGuestExpiry(ctx: Ctx): () => void {
  const every = Math.max(1000, Math.min(ctx.config.guestIdleMs / 4, 10 * 60_000));
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    expireIdleGuests(ctx)
      .then((names) => {
        if (names.length > 0) ctx.log.info({ guests: names }, 'idle guest accounts expired');
      })
      .catch((err: unknown) => ctx.log.warn({ err }, 'guest expiry sweep failed'))
      .finally(() => (running = false));
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
