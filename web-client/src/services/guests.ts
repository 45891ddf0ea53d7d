/**
 * Guest accounts in the web client (issue 17; docs/API.md "Guests", docs/WEB.md "Guests"):
 * "Continue as guest" makes a password-less `guest_…` account on the key server and signs this
 * browser in with the session it answers; the views learn from the key server whether the
 * signed-in account is (still) a guest, and a guest upgrades to a full account by setting a
 * password — the same name, keys, devices, rooms and history.
 */
import type { HttpClient, LoginResult, SottoClient } from '@sotto/client';
import { MessengerError, type Account } from './messenger.ts';
// The errors module alone, not the index (the first page's bundle: see messenger-errors.ts).
import { isClientError } from '@sotto/client/errors';
import { rememberRename } from './local-settings.ts';
import { toPasswordChangeError, translated } from './messenger-errors.ts';
import type { GuestPort } from './guest-port.ts';

export type { GuestPort };

/** The port over the signed-in engine (read at each call) and account. */
export function createGuestPort(
  engine: () => SottoClient,
  account: () => Account | null,
): GuestPort {
  return {
    async isGuest() {
      const me = account();
      if (me === null) return false;
      try {
        return (await engine().http.getUser(me.username)).guest === true;
      } catch {
        return false;
      }
    },
    async idleMs() {
      try {
        return (await engine().http.discovery()).guests?.idleMs ?? null;
      } catch {
        return null;
      }
    },
    async upgrade(password, username) {
      const from = account()?.username;
      let info;
      try {
        info = await engine().upgradeGuest(password, username === undefined ? {} : { username });
      } catch (err) {
        if (isClientError(err, 'BAD_INPUT'))
          throw new MessengerError('INVALID_USERNAME', err.message, { cause: err });
        throw toPasswordChangeError(err);
      }
      // The browser's database stays the one the guest had; the new name finds it.
      if (from !== undefined && info.username !== from) rememberRename(from, info.username);
      return info.username;
    },
  };
}

/** The server's default idle time of a guest (docs/API.md "Guests"): shown until it says its own. */
export const DEFAULT_GUEST_IDLE_MS = 24 * 3_600_000;

/** An idle time as the guest notice says it: "24 h", "90 min", "30 s". */
export function idleText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.max(1, Math.round(ms / 1000))} s`;
}

/**
 * Continue as guest: ask the key server for a guest account (`POST /v1/guests`, which signs a
 * new device in) and enter it through `enter` — the adapter's login with a `session` hook, so
 * the browser's database is opened under the new name like any other account's.
 */
export async function continueAsGuest(
  http: HttpClient,
  enter: (username: string, session: () => Promise<LoginResult>) => Promise<Account>,
): Promise<Account> {
  const guest = await translated(() => http.createGuest({ platform: 'web' }));
  return enter(guest.username, () => Promise.resolve(guest));
}
