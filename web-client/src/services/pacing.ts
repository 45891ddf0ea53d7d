/**
 * Pacing of the views' work: coalescing change notifications per frame or per task, a render
 * gate, and single-flight / throttled reloads — so a burst of thousands of messages costs a
 * render per frame and a re-read per gap, while an isolated change goes at once (issue 23).
 */
/** Calls `fn` at most once per animation frame (or macrotask where there are no frames). */
export function coalesce(fn: () => void): () => void {
  let pending = false;
  const raf: (cb: () => void) => void =
    typeof requestAnimationFrame === 'function'
      ? (cb) => requestAnimationFrame(() => cb())
      : (cb) => setTimeout(cb, 16);
  return () => {
    if (pending) return;
    pending = true;
    raf(() => {
      pending = false;
      fn();
    });
  };
}

/** One frame at 60 Hz (ms). */
export const FRAME_MS = 1000 / 60;

/**
 * Calls `fn` once for all calls made in one task — in a microtask, when `fn` last ran a frame
 * ago or longer — else once on the next animation frame (a macrotask where there are no
 * frames). An isolated change reaches the views in the task that made it, where
 * {@link coalesce} made it wait for a frame (a message stored between two frames waited half a
 * frame on average, issue 23); a burst still runs `fn` at most about once per frame.
 */
export function coalesceSoon(fn: () => void, now = () => performance.now()): () => void {
  let pending = false;
  let last = -Infinity;
  const run = (): void => {
    pending = false;
    last = now();
    fn();
  };
  return () => {
    if (pending) return;
    pending = true;
    if (now() - last >= FRAME_MS) queueMicrotask(run);
    else if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => run());
    else setTimeout(run, FRAME_MS);
  };
}

/**
 * For a render that should happen at once when the last one is a frame old or older, else on
 * the next animation frame: the function returned resolves when the render may run (and counts
 * it as run then).
 */
export function frameGate(now = () => performance.now()): () => Promise<void> {
  let last = -Infinity;
  return async () => {
    if (typeof requestAnimationFrame === 'function' && now() - last < FRAME_MS)
      await new Promise<void>((r) => requestAnimationFrame(() => r()));
    last = now();
  };
}

/**
 * Wraps an async reload so it never runs twice at once and at most once per `minGapMs`: calls
 * during a run (or the gap after it) collapse into one more run. Keeps IndexedDB reads from
 * piling up on the engine's writes during a burst.
 */
export function singleFlight(fn: () => Promise<void>, minGapMs = 0): () => void {
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    running = true;
    try {
      do {
        again = false;
        await fn();
        if (minGapMs > 0) await new Promise((r) => setTimeout(r, minGapMs));
      } while (again);
    } finally {
      running = false;
    }
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}

/**
 * Like {@link singleFlight}, but the gap counts from the start of the previous run and only
 * delays calls that come sooner: an isolated change runs at once (no added latency), while a
 * burst of changes runs at most once per `gapMs`, never two at a time, and always once more
 * after the last call.
 */
export function throttled(
  fn: () => Promise<void>,
  gapMs: number,
  now: () => number = () => performance.now(),
): () => void {
  let running = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastStart = -Infinity;
  const run = async (): Promise<void> => {
    timer = undefined;
    running = true;
    lastStart = now();
    try {
      await fn();
    } finally {
      running = false;
    }
    if (again) {
      again = false;
      call();
    }
  };
  const call = (): void => {
    if (running) {
      again = true;
      return;
    }
    if (timer !== undefined) return;
    const wait = lastStart + gapMs - now();
    if (wait <= 0) void run();
    else timer = setTimeout(() => void run(), wait);
  };
  return call;
}
