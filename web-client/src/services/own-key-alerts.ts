/**
 * Own-key alerts not yet acknowledged on this browser, kept in the engine's store (setting
 * `web:ownKeyAlerts`) so a reload does not hide one the user has not read.
 *
 * The engine judges each key-log leaf once (docs/CLIENT.md "Key transparency") and raises its
 * `ownKeyAlert` event once, possibly before any view is listening: the adapter therefore stores
 * an alert before it tells the views, and the session reads the stored ones when it starts and
 * removes them when the user acknowledges. Writers share one queue per store, so an alert that
 * arrives while another is acknowledged is not lost.
 */
import type { ClientStore, OwnKeyAlert } from './engine-types.ts';
import type { MessengerEvent, OwnKeyAlertNotice } from './messenger.ts';

/** Store setting that holds the unacknowledged alerts. */
export const OWN_KEY_ALERTS_SETTING = 'web:ownKeyAlerts';

const queues = new WeakMap<ClientStore, Promise<unknown>>();

/** Run `fn` after every earlier write of this module to `store`. */
function serial<T>(store: ClientStore, fn: () => Promise<T>): Promise<T> {
  const run = (queues.get(store) ?? Promise.resolve()).then(fn, fn);
  queues.set(
    store,
    run.catch(() => undefined),
  );
  return run;
}

async function read(store: ClientStore): Promise<OwnKeyAlertNotice[]> {
  const v = await store.getSetting<OwnKeyAlertNotice[]>(OWN_KEY_ALERTS_SETTING);
  return Array.isArray(v) ? v : [];
}

/** The unacknowledged alerts, oldest log entry first. */
export function pendingOwnKeyAlerts(store: ClientStore): Promise<OwnKeyAlertNotice[]> {
  return serial(store, () => read(store));
}

/**
 * Keep an alert until it is acknowledged. Returns false when one for the same log entry is
 * already kept (the engine reports a leaf once, but a look from another tab may repeat it).
 */
export function recordOwnKeyAlert(store: ClientStore, alert: OwnKeyAlertNotice): Promise<boolean> {
  return serial(store, async () => {
    const kept = await read(store);
    if (kept.some((a) => a.logIndex === alert.logIndex)) return false;
    const next = [...kept, alert].sort((a, b) => a.logIndex - b.logIndex);
    await store.setSetting(OWN_KEY_ALERTS_SETTING, next);
    return true;
  });
}

/** Forget the alerts of these log entries (the user read them); returns those still kept. */
export function acknowledgeOwnKeyAlerts(
  store: ClientStore,
  logIndexes: readonly number[],
): Promise<OwnKeyAlertNotice[]> {
  return serial(store, async () => {
    const done = new Set(logIndexes);
    const rest = (await read(store)).filter((a) => !done.has(a.logIndex));
    await store.setSetting(OWN_KEY_ALERTS_SETTING, rest);
    return rest;
  });
}

/**
 * Keep the engine's `ownKeyAlert` in the store, then tell the views (an `ownKeyAlert` event).
 * Stored first because the engine reports a log entry only once, maybe before any view
 * listens; an entry already kept is not announced again. If the store fails the views are
 * still told, so the alert shows at least until the page closes.
 */
export async function forwardOwnKeyAlert(
  store: ClientStore,
  alert: OwnKeyAlert,
  emit: (e: MessengerEvent) => void,
  seenAt: number = Date.now(),
): Promise<void> {
  const notice: OwnKeyAlertNotice = {
    reason: alert.reason,
    logIndex: alert.logIndex,
    uik: alert.uik,
    deviceId: alert.deviceId,
    seenAt,
  };
  let fresh = true;
  try {
    fresh = await recordOwnKeyAlert(store, notice);
  } catch (err) {
    console.warn('could not keep the own-key alert', err);
  }
  if (fresh) emit({ type: 'ownKeyAlert', alert: notice });
}
