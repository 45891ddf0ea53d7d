/**
 * Interval timers for the MQTT keepalive that keep time in a hidden tab. Chromium throttles a
 * hidden page's timers to one wake-up a minute, late enough for the broker to drop the
 * connection (it allows 1.5 × keepalive); a worker's timers are not throttled that way. mqtt.js
 * would start such a worker itself (worker-timers) from a `blob:` URL passed to `new Worker` as
 * a string, which the Content-Security-Policy refuses twice (`worker-src 'self'`, Trusted
 * Types). This one is a file from our own origin, passed through the `sotto-worker` Trusted
 * Types policy, which accepts that one URL and nothing else (scripts/web-headers.ts).
 */
import workerUrl from './interval-worker.ts?worker&url';

/** The timer shape mqtt.js takes as `timerVariant` (set: like `setInterval`). */
export interface IntervalTimer {
  set(callback: () => void, ms: number): number;
  clear(id: number): void;
}

/** The Trusted Types policy name the CSP allows for this worker. */
export const WORKER_POLICY = 'sotto-worker';

interface TrustedTypesLike {
  createPolicy(
    name: string,
    rules: { createScriptURL(url: string): string },
  ): { createScriptURL(url: string): unknown };
}

let policy: { createScriptURL(url: string): unknown } | undefined;

/** `workerUrl` as a TrustedScriptURL where the browser enforces Trusted Types. */
function trustedWorkerUrl(): string | URL {
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  if (tt === undefined) return new URL(workerUrl, import.meta.url);
  policy ??= tt.createPolicy(WORKER_POLICY, {
    createScriptURL(url: string): string {
      if (url !== workerUrl) throw new TypeError(`${WORKER_POLICY}: refusing script URL ${url}`);
      return url;
    },
  });
  // A TrustedScriptURL is what `new Worker` accepts under `require-trusted-types-for`.
  return policy.createScriptURL(workerUrl) as string;
}

let shared: IntervalTimer | 'native' | undefined;

/**
 * The page's keepalive timer for mqtt.js's `timerVariant`: intervals run by one dedicated
 * worker, started on first use and shared by every connection of the page; `'native'` where
 * workers do not exist (unit tests in happy-dom).
 */
export function keepaliveTimer(): IntervalTimer | 'native' {
  shared ??= typeof Worker === 'undefined' ? 'native' : createWorkerTimer();
  return shared;
}

function createWorkerTimer(): IntervalTimer {
  const worker = new Worker(trustedWorkerUrl(), { name: 'mqtt-keepalive' });
  const callbacks = new Map<number, () => void>();
  let next = 1;
  worker.addEventListener('message', (e: MessageEvent<number>) => callbacks.get(e.data)?.());
  return {
    set(callback, ms) {
      const id = next++;
      callbacks.set(id, callback);
      worker.postMessage({ op: 'set', id, ms });
      return id;
    },
    clear(id) {
      callbacks.delete(id);
      worker.postMessage({ op: 'clear', id });
    },
  };
}
