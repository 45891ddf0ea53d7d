/**
 * Wake-ups one at a time, coalesced (docs/WEB.md "Notifications when Sotto is closed").
 *
 * Pushes come in bursts — one per message while the app is closed — and each used to wait for
 * the engine lock on its own: behind a few runs of a few seconds each, the last ones gave up
 * after the lock's wait and the newest message went unannounced. Here a request while a run is
 * in progress is served by one more run after it, however many requests came meanwhile: every
 * request is answered by a run that started after it arrived, so it fetches everything queued
 * before the push, and a burst costs two runs, not one per push.
 *
 * DOM-free; unit-tested in web-client/test/coalesce.test.ts.
 */

/**
 * A function to request a run of `task`. Runs never overlap; requests that arrive during a run
 * share the next one, which gets all of them. The promise a request returns settles with the
 * run that serves it (rejecting when that run's task throws; the next run starts all the same).
 */
export function coalesced<T>(
  task: (requests: T[]) => Promise<void>,
): (request: T) => Promise<void> {
  let running = false;
  let next: { requests: T[]; resolve: (run: Promise<void>) => void; done: Promise<void> } | null =
    null;

  const start = (requests: T[]): Promise<void> => {
    running = true;
    const run = Promise.resolve().then(() => task(requests));
    const after = (): void => {
      running = false;
      const n = next;
      next = null;
      if (n !== null) n.resolve(start(n.requests));
    };
    run.then(after, after);
    return run;
  };

  return (request) => {
    if (!running) return start([request]);
    if (next === null) {
      let resolve: (run: Promise<void>) => void = () => undefined;
      const done = new Promise<void>((r) => (resolve = r));
      next = { requests: [], resolve, done };
    }
    next.requests.push(request);
    return next.done;
  };
}
