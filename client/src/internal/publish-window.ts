/**
 * Publishing with a bound on what the broker has not acknowledged yet (docs/CLIENT.md
 * "Reliability", issue 17).
 *
 * mqtt.js hands every QoS 1 PUBLISH to the socket at once and keeps it until its PUBACK, with
 * no limit for MQTT 3.1.1. The broker admits a client's publishes at its rate (200 a second,
 * docs/OPERATIONS.md) and closes a client whose publish would wait longer than 5 s for its
 * token. A fan-out of more than about 1,000 publishes written at once therefore lost the
 * connection; on the reconnect mqtt.js wrote all it still held again and the outbox re-sent every
 * entry on top, so the next attempt was larger: in the 1,000-device join bench a sender's
 * unacknowledged publishes grew from 4,000 to 14,000 within a minute and the process ran out of
 * heap. Here at most {@link PUBLISH_WINDOW} publishes await their PUBACK; the others wait here,
 * in order, and go out as PUBACKs come back.
 */

/** QoS 1 publishes of one connection that may await their PUBACK at once. */
export const PUBLISH_WINDOW = 100;

/** Hands one PUBLISH to the MQTT client; `done` runs when it is acknowledged or failed. */
export type SendPublish = (topic: string, bytes: Uint8Array, done: () => void) => void;

/** The publish window of one engine's connection. */
export interface PublishWindow {
  /** Publish now, or after the publishes before it once the window has room (order is kept). */
  publish(topic: string, bytes: Uint8Array): void;
  /** Resolves once every publish made before the call is acknowledged, failed or forgotten. */
  settled(): Promise<void>;
  /** Publishes waiting here or awaiting their PUBACK. */
  readonly pending: number;
  /**
   * The connection is gone: forget what waits here and what is in flight (the outbox sends it
   * again; a late PUBACK of the old connection counts for nothing).
   */
  reset(): void;
}

/** Create a window of `limit` publishes over `send`. */
export function createPublishWindow(send: SendPublish, limit = PUBLISH_WINDOW): PublishWindow {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const waiting: { topic: string; bytes: Uint8Array; seq: number }[] = [];
  let inFlight = 0;
  let seqs = 0;
  let generation = 0;
  /** Each waiter's count of its publishes not yet settled (by sequence number `upTo`). */
  let waiters: { upTo: number; left: number; resolve: () => void }[] = [];
  const unsettled = new Set<number>();

  const settle = (seq: number): void => {
    if (!unsettled.delete(seq)) return;
    for (const w of waiters) if (seq <= w.upTo) w.left--;
    const ready = waiters.filter((w) => w.left === 0);
    if (ready.length === 0) return;
    waiters = waiters.filter((w) => w.left > 0);
    for (const w of ready) w.resolve();
  };

  const pump = (): void => {
    while (inFlight < limit && waiting.length > 0) {
      const { topic, bytes, seq } = waiting.shift()!;
      const gen = generation;
      inFlight++;
      let called = false;
      send(topic, bytes, () => {
        if (called || gen !== generation) return;
        called = true;
        inFlight--;
        settle(seq);
        pump();
      });
    }
  };

  return {
    publish(topic, bytes) {
      const seq = ++seqs;
      unsettled.add(seq);
      waiting.push({ topic, bytes, seq });
      pump();
    },
    settled() {
      if (unsettled.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        waiters.push({ upTo: seqs, left: unsettled.size, resolve });
      });
    },
    get pending() {
      return unsettled.size;
    },
    reset() {
      generation++;
      waiting.length = 0;
      inFlight = 0;
      for (const seq of [...unsettled]) settle(seq);
    },
  };
}
