/**
 * What this browser remembers outside an account's database: the last signed-in username (in
 * localStorage, so a reload resumes without a password) and the name of each account's
 * IndexedDB database. Settings of an account live in its own store; their keys are here too.
 */
import { setWakeAccount } from './wake-account.ts';

/** localStorage key of the last signed-in username. */
export const LAST_USER_KEY = 'sotto-last-user';

/** Store setting: send read receipts (this browser only; default on). */
export const READ_RECEIPTS_SETTING = 'web:readReceipts';

/** Store setting: seconds without input before the app lock locks the app (app-lock.ts). */
export const IDLE_LOCK_SETTING = 'web:idleLockSeconds';

export { dbNameFor } from './store-names.ts';

/**
 * Remember `username` as the account to resume, or forget it (`null`, on log out). The service
 * worker is told too (`wake-account.ts`): it wakes for this account.
 */
export function rememberUser(username: string | null): void {
  void setWakeAccount(username).catch((err: unknown) =>
    console.warn('could not tell the service worker the account', err),
  );
  try {
    if (username === null) localStorage.removeItem(LAST_USER_KEY);
    else localStorage.setItem(LAST_USER_KEY, username);
  } catch {
    // No storage (private mode): the session simply does not survive a reload.
  }
}

/** The account to resume on this browser, if any. */
export function lastUser(): string | null {
  try {
    return localStorage.getItem(LAST_USER_KEY);
  } catch {
    return null;
  }
}
