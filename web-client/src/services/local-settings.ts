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

import { dbNameFor } from './store-names.ts';

export { dbNameFor };

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

/** localStorage key of the database an account renamed on this browser keeps using. */
const storeAliasKey = (username: string): string => `sotto-store-of-${username}`;

/**
 * The IndexedDB database of `username` on this browser: its own ({@link dbNameFor}), or the one
 * it had as a guest before its rename (PROTOCOL.md §3.3; the database keeps the history).
 */
export function storeNameFor(username: string): string {
  try {
    return localStorage.getItem(storeAliasKey(username)) ?? dbNameFor(username);
  } catch {
    return dbNameFor(username);
  }
}

/** After a guest's rename: `to` keeps using the database of `from`, and is the account to resume. */
export function rememberRename(from: string, to: string): void {
  try {
    localStorage.setItem(storeAliasKey(to), storeNameFor(from));
  } catch {
    // No storage: this browser signs in as `to` afresh after a reload.
  }
  rememberUser(to);
}

/** The account to resume on this browser, if any. */
export function lastUser(): string | null {
  try {
    return localStorage.getItem(LAST_USER_KEY);
  } catch {
    return null;
  }
}
