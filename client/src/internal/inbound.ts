/**
 * Incoming MQTT messages in batches, each PUBACKed only after it is processed and stored
 * (issue 6; docs/CLIENT.md "Reliability").
 *
 * mqtt.js hands the client one PUBLISH at a time: it sends the PUBACK when `handleMessage`'s
 * callback runs and only then reads the next packet. Waiting for the store there means one
 * store transaction per message, however many are queued (a burst of 5,000 into a browser:
 * 5,000 IndexedDB transactions). Here every message is taken at once, its PUBACK is held back,
 * and a worker processes what has queued up meanwhile as one batch (one store transaction for
 * a run of inbox messages); the held PUBACKs then go out, in the order the PUBLISHes came, as
 * MQTT requires (MQTT 3.1.1 §4.6). A message whose connection dropped before that is not
 * acknowledged at all: the broker sends it again on the next connection (persistent session)
 * and the receive path's seen-id set acknowledges the copy without storing it twice.
 *
 * A batch holds what queued up while the one before it was processed, so a receiver as fast as
 * the broker's hand-over got one message a batch: Aedes writes a stored queue one packet per
 * event-loop turn, and a Node engine that commits to SQLite synchronously (or shares the
 * broker's process) was done with each message before the next arrived — 595 store
 * transactions for a queued burst of 600 (issue 23). So while the stream is dense — right after
 * a (re)connect, when the stored queue comes, and while the last gathering found company — or
 * when a message arrives within {@link BURST_GAP_MS} of the last batch's end, a message waits
 * for company: the batch starts once {@link GATHER_IDLE_MS} passed without a new one, after at
 * most {@link GATHER_MAX_MS}, or at once when {@link INBOUND_BATCH} are waiting. A gathering
 * that found no company ends the dense spell: live messages (a conversation, a steady stream of
 * a few hundred a second) are handled at once, as before.
 */
import type { IPublishPacket, MqttClient, Packet } from 'mqtt';

/** One received PUBLISH. */
export interface InboundMessage {
  topic: string;
  payload: Uint8Array;
  /** When mqtt.js handed it over (`performance.now()`), before any wait for company. */
  at?: number;
}

/** Most messages handed to the handler at once, unless the caller says otherwise. */
export const INBOUND_BATCH = 100;
/**
 * The batch of a Node engine on the SQLite store (the CLI; bots pass it as `receiveBatch`): its
 * commit writes about the same pages whether it holds 80 messages or 300, so a queued burst
 * costs less CPU a message in bigger batches (docs/PERFORMANCE.md, issue 23). A browser keeps
 * {@link INBOUND_BATCH}: its batch's decryption shares the page's main thread.
 */
export const NODE_RECEIVE_BATCH = 300;
/** Queued messages beyond which mqtt.js stops reading (TCP back-pressure to the broker). */
export const INBOUND_QUEUE_MAX = 1000;

/**
 * `receiveBatch` as given to the engine.
 *
 * @throws RangeError unless it is an integer from 1 to {@link INBOUND_QUEUE_MAX}.
 */
export function receiveBatchOption(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > INBOUND_QUEUE_MAX)
    throw new RangeError(
      `options.receiveBatch must be an integer from 1 to ${INBOUND_QUEUE_MAX}, got ${n}`,
    );
  return n;
}
/** A message this soon (ms) after the last batch ended is part of a burst: it gathers. */
export const BURST_GAP_MS = 2;
/** A gathering batch starts once no message arrived for this long (ms). */
export const GATHER_IDLE_MS = 2;
/** …or this long (ms) after its first message arrived, whatever still comes. */
export const GATHER_MAX_MS = 30;

interface Held {
  message: InboundMessage;
  /** The PUBACK mqtt.js tried to send (QoS 1), and the connection it belongs to. */
  puback: Packet | null;
  epoch: number;
}

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/** What {@link attachInbound} tells about the messages it took. */
export interface Inbound {
  /** Messages received and not acknowledged yet: queued, or in the batch being handled. */
  backlog(): number;
}

/**
 * Take over `client`'s message handling: messages are queued and given to `handle` in batches
 * of up to `batchSize` ({@link INBOUND_BATCH} by default), in arrival order; their PUBACKs go out once `handle`
 * resolved. `handle` must not throw for bad input (report and drop it, as before); if it does
 * throw, the error goes to `onError` and the batch is acknowledged all the same (a message that
 * keeps failing must not be redelivered forever).
 */
export function attachInbound(
  client: MqttClient,
  handle: (batch: InboundMessage[]) => Promise<void>,
  onError: (err: unknown) => void,
  batchSize = INBOUND_BATCH,
): Inbound {
  const queue: Held[] = [];
  let epoch = 0;
  let working = false;
  /** Size of the batch being handled (0 when none is). */
  let handling = 0;
  /** The message whose PUBACK mqtt.js is about to send (set around its callback). */
  let current: Held | null = null;
  /** mqtt.js's "read the next packet", held while the queue is full. */
  let paused: (() => void) | null = null;
  /** When the last batch ended (`performance.now()`), and the pending gathering timer. */
  let lastEnd = -Infinity;
  let gathering: ReturnType<typeof setTimeout> | null = null;
  /** Messages come back to back (see the module): gather before each batch. */
  let dense = false;

  // A PUBACK for a message of an earlier connection must never reach a new one (its packet id
  // may by then name another message).
  client.on('close', () => epoch++);
  // A persistent session's stored queue follows the CONNACK.
  client.on('connect', () => {
    dense = true;
  });

  // mqtt.js declares it private; this is the one place its PUBACKs can be held back.
  const raw = client as unknown as { _sendPacket: SendPacket };
  const send: SendPacket = raw._sendPacket.bind(client);
  raw._sendPacket = (packet, cb, ...rest) => {
    if (packet.cmd === 'puback' && current !== null) {
      current.puback = packet;
      current = null;
      // Let mqtt.js read the next packet now, unless enough are waiting.
      if (queue.length >= INBOUND_QUEUE_MAX) paused = () => cb?.();
      else cb?.();
      return;
    }
    send(packet, cb, ...rest);
  };

  const release = (batch: Held[]): void => {
    for (const h of batch) {
      if (h.puback !== null && h.epoch === epoch && client.connected) send(h.puback);
    }
  };

  const work = async (): Promise<void> => {
    working = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, batchSize);
        handling = batch.length;
        try {
          await handle(batch.map((h) => h.message));
        } catch (err) {
          onError(err);
        }
        handling = 0;
        release(batch);
        if (paused !== null && queue.length < INBOUND_QUEUE_MAX) {
          const resume = paused;
          paused = null;
          resume();
        }
      }
    } finally {
      working = false;
      lastEnd = performance.now();
    }
  };

  /** Start the worker once the burst pauses (see the module), or at once after a quiet spell. */
  const schedule = (): void => {
    if (working || gathering !== null) return;
    const first = performance.now();
    if (!dense && first - lastEnd >= BURST_GAP_MS) {
      void work();
      return;
    }
    let seen = queue.length;
    /** Checks in a row that found nothing new. */
    let quiet = 0;
    const check = (): void => {
      if (queue.length > seen) quiet = 0;
      else quiet++;
      seen = queue.length;
      // A quiet check is confirmed once more after the socket was read: a timer that fires late
      // (a busy host) runs before the event loop reads what arrived meanwhile.
      if (quiet < 2 && queue.length < batchSize && performance.now() - first < GATHER_MAX_MS) {
        gathering = setTimeout(check, quiet === 0 ? GATHER_IDLE_MS : 0);
        return;
      }
      gathering = null;
      dense = queue.length > 1;
      void work();
    };
    gathering = setTimeout(check, GATHER_IDLE_MS);
  };

  client.handleMessage = (packet: IPublishPacket, callback) => {
    const bytes = packet.payload;
    const held: Held = {
      message: {
        topic: packet.topic,
        payload:
          typeof bytes === 'string' ? new TextEncoder().encode(bytes) : new Uint8Array(bytes),
        at: performance.now(),
      },
      puback: null,
      epoch,
    };
    queue.push(held);
    // QoS 1: mqtt.js now calls _sendPacket(puback) from inside this callback, which holds it.
    current = held;
    callback();
    current = null;
    if (gathering !== null && queue.length >= batchSize) {
      clearTimeout(gathering);
      gathering = null;
      dense = true;
      void work();
    } else schedule();
  };
  return { backlog: () => queue.length + handling };
}
