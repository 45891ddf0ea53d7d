/**
 * The app lock (issue 15, docs/WEB.md "App lock"): the account's database sealed under a key
 * wrapped by a passphrase (`@sotto/client/dexie`, PBKDF2-SHA-256), asked for when the app opens
 * and after a chosen idle time. Turning it on, changing it and turning it off re-wrap only the
 * storage key; the history is not re-encrypted.
 */
import { isDexieStoreLocked, setDexieStorePassphrase } from '@sotto/client/dexie';
import type { ClientStore } from './engine-types.ts';
import { MessengerError, type AppLockState } from './messenger.ts';
import { translated } from './messenger-errors.ts';
import { IDLE_LOCK_SETTING, storeNameFor } from './local-settings.ts';
import { uiText } from './ui-strings.ts';

/** Idle time before the app locks itself, unless the user chose another (seconds). */
export const DEFAULT_IDLE_SECONDS = 300;
/** Shortest and longest idle time the settings accept (seconds). */
export const IDLE_SECONDS_RANGE = { min: 5, max: 86_400 } as const;

/** The app lock of `username`'s database on this browser. */
export async function appLockState(username: string, store: ClientStore): Promise<AppLockState> {
  const [enabled, idle] = await Promise.all([
    isDexieStoreLocked(storeNameFor(username)),
    store.getSetting<number>(IDLE_LOCK_SETTING),
  ]);
  return { enabled, idleSeconds: idle ?? DEFAULT_IDLE_SECONDS };
}

/** Set, change or remove the passphrase of `username`'s database (BAD_PASSPHRASE: nothing changed). */
/** Shortest app-lock passphrase accepted (the settings form checks it first). */
export const MIN_APP_LOCK_PASSPHRASE = 8;

export function changeAppLock(
  username: string,
  current: string | undefined,
  next: string | undefined,
): Promise<void> {
  if (next !== undefined && next.length < MIN_APP_LOCK_PASSPHRASE) {
    const text = uiText('appLock.tooShort', { min: MIN_APP_LOCK_PASSPHRASE });
    return Promise.reject(new MessengerError('FAILED', text));
  }
  return translated(() => setDexieStorePassphrase(storeNameFor(username), current, next));
}

/** Store the idle time (a whole number of seconds within {@link IDLE_SECONDS_RANGE}). */
export async function saveIdleLock(store: ClientStore, seconds: number): Promise<void> {
  if (
    !Number.isInteger(seconds) ||
    seconds < IDLE_SECONDS_RANGE.min ||
    seconds > IDLE_SECONDS_RANGE.max
  ) {
    throw new MessengerError(
      'FAILED',
      `The idle time must be a whole number of seconds from ${IDLE_SECONDS_RANGE.min} to ${IDLE_SECONDS_RANGE.max}.`,
    );
  }
  await store.setSetting(IDLE_LOCK_SETTING, seconds);
}
