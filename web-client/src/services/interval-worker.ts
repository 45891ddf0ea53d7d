/**
 * The worker behind {@link createWorkerTimer} (keepalive-timer.ts): intervals that a hidden tab
 * does not throttle the way it throttles the page's own timers. Messages in: `{ op: 'set', id,
 * ms }` and `{ op: 'clear', id }`; out: the id of the interval that fired.
 */
const intervals = new Map<number, ReturnType<typeof setInterval>>();

self.addEventListener(
  'message',
  (e: MessageEvent<{ op: 'set' | 'clear'; id: number; ms?: number }>) => {
    const { op, id, ms } = e.data;
    if (op === 'set' && typeof ms === 'number') {
      intervals.set(
        id,
        setInterval(() => self.postMessage(id), ms),
      );
    } else if (op === 'clear') {
      clearInterval(intervals.get(id));
      intervals.delete(id);
    }
  },
);
