/**
 * The web benchmark's per-step hook (issue 23; web-client/bench/web.bench.ts): the bench puts a
 * function at `globalThis.__sottoTrace` before the app loads, and the engine (`createClient`'s
 * `trace`) and the views tell it when a message passes each step — the engine's steps
 * (`@sotto/client` `TraceStep`), then `history` (the session told the views) and `rendered` (its
 * row is in the message list's DOM). Without the bench it is `undefined`: each step costs one
 * check, and nothing is recorded.
 */

/** Told a step's name, the message id and `performance.now()` of the step (omitted: now). */
export type PageTracer = (step: string, id: string, at?: number) => void;

/** The installed hook, read once when the app loads. */
export const benchTrace: PageTracer | undefined = (globalThis as { __sottoTrace?: PageTracer })
  .__sottoTrace;
