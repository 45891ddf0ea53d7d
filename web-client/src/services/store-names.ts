/**
 * The name of an account's IndexedDB database, for the page (`local-settings.ts` re-exports it)
 * and the service worker. DOM-free: the service worker imports it.
 */

/** IndexedDB database name of an account. */
export const dbNameFor = (username: string): string => `sotto-${username}`;
