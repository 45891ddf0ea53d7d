/**
 * A bench sender's QoS 1 publishes that the broker has not acknowledged yet, read from mqtt.js's
 * public packet events.
 *
 * The broker admits a client's publishes at `PUBLISH_RATE` (200/s, burst 400) and closes a
 * client whose next publish would wait more than 5 s for its turn. A bench that sends a burst
 * "while the receiver is away" and then brings the receiver back at once measured that rate
 * limit, not the receiver: the sender's publishes were still trickling in at 200/s after the
 * receiver reconnected (issue 23; docs/PERFORMANCE.md "Issue 23"). So the sender keeps at most
 * a window of publishes unacknowledged ({@link PublishWindow.below}), and the measurement
 * starts only once every one is acknowledged ({@link PublishWindow.settled}), i.e. stored in
 * the receiver's queue at the broker (the broker acknowledges only after that).
 */
import type { MqttClient, Packet } from 'mqtt';

/** The publishes one sender has in flight (see the module). */
export interface PublishWindow {
  /** Wrap the sender's `mqttConnect`: every client it makes is watched. */
  watch<T extends MqttClient>(client: T): T;
  /** Publishes sent and not yet acknowledged. */
  readonly inFlight: number;
  /** Resolves once fewer than `n` publishes are in flight. */
  below(n: number): Promise<void>;
  /** Resolves once every publish sent so far is acknowledged. */
  settled(): Promise<void>;
}

/** Create an empty window. */
export function createPublishWindow(): PublishWindow {
  const clients: MqttClient[] = [];
  // mqtt.js's own record of QoS ≥ 1 packets awaiting their acknowledgement (public, typed): it
  // holds a publish from the call on, also while it waits offline to be re-sent.
  const inFlight = (): number => clients.reduce((n, c) => n + Object.keys(c.outgoing).length, 0);
  let waiters: { n: number; resolve: () => void }[] = [];
  const wake = (): void => {
    const now = inFlight();
    const due = waiters.filter((w) => now < w.n);
    waiters = waiters.filter((w) => now >= w.n);
    for (const w of due) w.resolve();
  };
  const below = (n: number): Promise<void> => {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`below(n): n must be ≥ 1, got ${n}`);
    if (inFlight() < n) return Promise.resolve();
    return new Promise((resolve) => waiters.push({ n, resolve }));
  };
  return {
    watch(client) {
      clients.push(client);
      // mqtt.js emits the event before it removes the acknowledged packet from `outgoing`.
      client.on('packetreceive', (p: Packet) => {
        if (p.cmd === 'puback') queueMicrotask(wake);
      });
      return client;
    },
    get inFlight() {
      return inFlight();
    },
    below,
    settled: () => below(1),
  };
}
