/**
 * Interval timers for the MQTT keepalive that keep time in a hidden tab. Chromium throttles a
 * hidden page's timers to one wake-up a minute, late enough for the broker to drop the
 * connection (it allows 1.5 × keepalive); a worker's timers are not throttled that way. mqtt.js
 * would start such a worker itself (worker-timers) from a `blob:` URL passed to `new Worker` as
 * a string, which the Content-Security-Policy refuses twice (`worker-src 'self'`, Trusted
 * Types). This one is a file from our own origin, passed through the `sotto-worker` Trusted
 * Types policy (`trusted-script-url.ts`), which accepts our own worker scripts and nothing else.
 */
import { keepaliveWorkerUrl, trustedScriptUrl } from './trusted-script-url.ts';

/** The timer shape mqtt.js takes as `timerVariant` (set: like `setInterval`). */
export interface IntervalTimer {
  set(callback: () => void, ms: number): number;
  clear(id: number): void;
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
  const worker = new Worker(trustedScriptUrl(keepaliveWorkerUrl), { name: 'mqtt-keepalive' });
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
