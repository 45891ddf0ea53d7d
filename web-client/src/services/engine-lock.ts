/**
 * One engine per account on this browser at a time (docs/WEB.md "Notifications when Sotto is
 * closed"). The page and the service worker both run the engine on the same sealed store: two
 * engines at once would advance the same ratchets from stale copies and spend the same refresh
 * token twice, which the key server answers by revoking the device's whole token family. Each
 * takes this exclusive Web Lock before it opens the engine and releases it after closing it; the
 * browser releases it too when the page closes or the worker is stopped.
 *
 * DOM-free: the service worker imports it.
 */

/** Name of the Web Lock an account's engine runs under. */
export const engineLockName = (username: string): string => `sotto-engine:${username}`;

/** A held engine lock. */
export interface EngineLock {
  /** Let the next waiter (page or worker) have it; a second call does nothing. */
  release(): void;
}

/**
 * Take the engine lock of `username`. Without `waitMs`, resolves once it is ours (the page: it
 * waits while the worker finishes a wake-up). With it, resolves null if it is not ours within
 * that time (the worker: the holder is a page whose engine runs and notifies by itself, or an
 * earlier wake-up that fetches what there is). Where the browser has no Web Locks (an insecure
 * context, which has no service worker either) there is no second engine to exclude: resolves
 * a lock that guards nothing.
 */
export function acquireEngineLock(
  username: string,
  options: { waitMs?: number } = {},
): Promise<EngineLock | null> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (locks === undefined) return Promise.resolve({ release: () => undefined });
  const signal = options.waitMs === undefined ? undefined : AbortSignal.timeout(options.waitMs);
  return new Promise((resolve, reject) => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    locks
      .request(engineLockName(username), signal === undefined ? {} : { signal }, () => {
        resolve({ release });
        return held;
      })
      .catch((err: unknown) => {
        // Not granted in time (the signal's TimeoutError); the lock was never ours.
        if (signal?.aborted === true) resolve(null);
        else reject(err instanceof Error ? err : new Error(String(err)));
      });
  });
}
