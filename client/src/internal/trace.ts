/**
 * Per-step timing of the live path (issue 23): an optional hook the engine calls at each step a
 * message passes — on the sender after it is stored with its outbox entries and after it is
 * handed to MQTT (and when it was asked to send it), on the receiver when its PUBLISH arrived, when it decrypted, when its store
 * batch committed and when its event went out. Benchmarks inject one
 * (`createClient({ trace })`, web-client/bench/); without one each step costs one check for
 * `undefined` (no timeline entries pile up, as `performance.mark` would in a long session).
 */

/** A step of the live path, in the order a message passes them. */
export type TraceStep =
  /** Sender: the engine was asked to send it (before the directory checks). */
  | 'asked'
  /** Sender: its sendability and the device lists (ours and the recipient's) are known. */
  | 'checked'
  /** Sender: the message and its outbox entries are committed. */
  | 'stored'
  /** Sender: the send got the engine's lock (sessions are read and written under it). */
  | 'sendLocked'
  /** Sender: every target's session read and the message encrypted (nothing committed yet). */
  | 'encrypted'
  /** Sender: encrypted (session state committed) and handed to mqtt.js. */
  | 'published'
  /** Receiver: mqtt.js handed over the PUBLISH (before any batching wait). */
  | 'received'
  /** Receiver: the receive batch holding it began (after the wait for company, inbound.ts). */
  | 'batched'
  /** Receiver: that batch got the engine's lock (sessions are read and written under it). */
  | 'locked'
  /** Receiver: the envelope decrypted and its payload decoded. */
  | 'decrypted'
  /** Receiver: the store batch holding it committed. */
  | 'committed'
  /** Receiver: its `message` event went out. */
  | 'event';

/**
 * Told the payload id of each message at each {@link TraceStep}; `at` is `performance.now()`
 * of the step (the caller's own clock when it is omitted: now).
 */
export type Tracer = (step: TraceStep, id: string, at?: number) => void;
