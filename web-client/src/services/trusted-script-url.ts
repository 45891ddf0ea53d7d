/**
 * The page's one Trusted Types policy for script URLs, `sotto-worker` (scripts/web-headers.ts):
 * under `require-trusted-types-for 'script'` a worker or service worker script URL must be a
 * TrustedScriptURL, and this policy makes one for exactly the scripts of our own origin that the
 * page starts — the MQTT keepalive timer's worker and the service worker — and refuses any other.
 * One module, because a policy name can be created once per page.
 */
import keepaliveWorkerUrl from './interval-worker.ts?worker&url';

/** The Trusted Types policy name the CSP allows for worker scripts. */
export const WORKER_POLICY = 'sotto-worker';

/** The service worker script (built to the root, so its scope is the whole app). */
export const SERVICE_WORKER_URL = '/sw.js';

/** URL of the keepalive timer's worker script. */
export { keepaliveWorkerUrl };

const ALLOWED: ReadonlySet<string> = new Set([keepaliveWorkerUrl, SERVICE_WORKER_URL]);

interface TrustedTypesLike {
  createPolicy(
    name: string,
    rules: { createScriptURL(url: string): string },
  ): { createScriptURL(url: string): unknown };
}

let policy: { createScriptURL(url: string): unknown } | undefined;

/**
 * `url` (one of the allowed scripts) as a TrustedScriptURL where the browser enforces Trusted
 * Types, else as a URL against the page. Throws `TypeError` for any other URL.
 */
export function trustedScriptUrl(url: string): string | URL {
  if (!ALLOWED.has(url)) throw new TypeError(`${WORKER_POLICY}: refusing script URL ${url}`);
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  if (tt === undefined) return new URL(url, location.href);
  policy ??= tt.createPolicy(WORKER_POLICY, {
    createScriptURL(u: string): string {
      if (!ALLOWED.has(u)) throw new TypeError(`${WORKER_POLICY}: refusing script URL ${u}`);
      return u;
    },
  });
  // A TrustedScriptURL is what `new Worker` and `serviceWorker.register` accept under the CSP.
  return policy.createScriptURL(url) as string;
}
