/**
 * The page's side of the service worker (docs/WEB.md "Installable app and notifications"):
 * registers `/sw.js` through the `sotto-worker` Trusted Types policy, and turns wake-up pushes
 * on or off for this device — a `PushManager` subscription with the key server's VAPID key,
 * registered with the key server (docs/API.md "Push subscriptions").
 */
import { SERVICE_WORKER_URL, trustedScriptUrl } from './trusted-script-url.ts';
import { uiText } from './ui-strings.ts';

/** What the key server offers for push (the messenger's `push` port). */
export interface PushPort {
  /** The server's VAPID public key, base64url. */
  key(): Promise<string>;
  /** Register this device's subscription (`PushSubscription.toJSON()` form). */
  register(subscription: {
    endpoint: string;
    keys: { p256dh: string; auth: string };
  }): Promise<void>;
  /** Forget this device's subscription. */
  unregister(): Promise<void>;
}

/** Whether this browser can take pushes at all (secure context, workers, PushManager). */
export function pushSupported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    'serviceWorker' in navigator &&
    typeof PushManager !== 'undefined' &&
    typeof Notification !== 'undefined'
  );
}

/**
 * Register the service worker (built apps only: Vite's dev server has no `/sw.js`). Resolves
 * with the registration, or `null` where service workers do not exist.
 */
export async function registerAppWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!import.meta.env.PROD || typeof navigator === 'undefined' || !('serviceWorker' in navigator))
    return null;
  // The register() typings take a string; under Trusted Types the browser wants the trusted value.
  const url = trustedScriptUrl(SERVICE_WORKER_URL) as string;
  return navigator.serviceWorker.register(url, { scope: '/' });
}

const fromBase64Url = (s: string): Uint8Array<ArrayBuffer> => {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
};

/** Whether this device has a push subscription in this browser. */
export async function pushEnabled(): Promise<boolean> {
  if (!pushSupported()) return false;
  const reg = await navigator.serviceWorker.getRegistration();
  return (await reg?.pushManager.getSubscription()) != null;
}

/**
 * Turn wake-up pushes on: ask for notification permission, subscribe with the server's key and
 * register the subscription. Throws when permission is refused or the push service answers no.
 */
export async function enablePush(port: PushPort): Promise<void> {
  if ((await Notification.requestPermission()) !== 'granted')
    throw new Error(uiText('push.blocked'));
  const reg = await navigator.serviceWorker.ready;
  const key = fromBase64Url(await port.key());
  const sub =
    (await reg.pushManager.getSubscription()) ??
    (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
  const json = sub.toJSON();
  const p256dh = json.keys?.p256dh;
  const auth = json.keys?.auth;
  if (json.endpoint === undefined || p256dh === undefined || auth === undefined)
    throw new Error(uiText('push.incomplete'));
  await port.register({ endpoint: json.endpoint, keys: { p256dh, auth } });
}

/** Turn wake-up pushes off: unsubscribe here and on the key server. */
export async function disablePush(port: PushPort): Promise<void> {
  const reg = await navigator.serviceWorker.getRegistration();
  await (await reg?.pushManager.getSubscription())?.unsubscribe();
  await port.unregister();
}
