/**
 * Which account the service worker wakes for (docs/WEB.md "Notifications when Sotto is closed"):
 * the account this browser resumes, the one `local-settings.ts` keeps in localStorage — which a
 * worker cannot read. So the page also writes it here, into a one-row IndexedDB database of its
 * own (`sotto-wake`), and clears it on log out. It names a database, nothing secret: the store
 * it names is sealed and the worker opens it like the page does.
 *
 * DOM-free: the service worker imports it.
 */

const DB = 'sotto-wake';
const TABLE = 'kv';
const KEY = 'account';

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(TABLE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error(`could not open ${DB}`));
  });
}

async function withTable<T>(
  mode: IDBTransactionMode,
  fn: (t: IDBObjectStore) => IDBRequest,
): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(TABLE, mode);
      const req = fn(tx.objectStore(TABLE));
      tx.oncomplete = () => resolve(req.result as T);
      tx.onerror = () => reject(tx.error ?? new Error(`${DB}: transaction failed`));
    });
  } finally {
    db.close();
  }
}

/** Remember `username` as the account to wake for, or forget it (`null`, on log out). */
export function setWakeAccount(username: string | null): Promise<void> {
  // No IndexedDB (unit tests in Node): no worker either.
  if (typeof indexedDB === 'undefined') return Promise.resolve();
  return withTable<unknown>('readwrite', (t) =>
    username === null ? t.delete(KEY) : t.put(username, KEY),
  ).then(() => undefined);
}

/** The account to wake for, if any. */
export async function wakeAccount(): Promise<string | null> {
  const v = await withTable<unknown>('readonly', (t) => t.get(KEY));
  return typeof v === 'string' ? v : null;
}
