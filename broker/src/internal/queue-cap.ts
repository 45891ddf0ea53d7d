/**
 * Bounds on the offline queues of the in-memory persistence (embedded mode).
 *
 * Aedes queues every QoS ≥ 1 message for every persistent session subscribed to its topic,
 * for as long as the session exists, and the in-memory persistence keeps them all in the
 * broker's heap. Any signed-in user may publish to any device's inbox, so a device that is
 * offline (or abandoned without being removed) let one client grow the one process of
 * embedded mode until it ran out of memory. Here each session's queue is capped (messages and
 * bytes) and so is the total over all sessions; a message over a cap is not queued for that
 * session (Mosquitto's `max_queued_messages` / `max_queued_bytes` behave the same way) and is
 * counted. Senders keep a message in their outbox until the recipient's receipt (docs/CLIENT.md),
 * so a dropped DM is sent again later; the cap bounds memory, not delivery.
 *
 * Counts follow the persistence exactly: enqueues add, removals of a queued packet (acknowledged,
 * cleared at a clean connect, refused) subtract what the persistence reports it removed.
 */

/** The persistence calls this module wraps (aedes-persistence 10, promise API). */
export interface CountedPersistence {
  outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<unknown>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): Promise<unknown>;
  outgoingClearMessageId(client: { id: string }, packet: object): Promise<unknown>;
}

/** Caps; a message larger than what is left is not queued. */
export interface QueueCaps {
  /** Messages queued per session. */
  maxMessages: number;
  /** Payload bytes queued per session. */
  maxBytes: number;
  /** Payload bytes queued over all sessions of this broker. */
  maxTotalBytes: number;
}

/** What the caps turned away, for metrics and logs. */
export type QueueDropListener = (clientId: string, reason: 'messages' | 'bytes' | 'total') => void;

export interface QueueCapsHandle {
  /** Queued messages and payload bytes of a session (tests, metrics). */
  usage(clientId: string): { messages: number; bytes: number };
  /** Payload bytes queued over all sessions. */
  totalBytes(): number;
}

const sizeOf = (packet: object): number => {
  const payload = (packet as { payload?: { length?: number } | string }).payload;
  return typeof payload === 'string' ? Buffer.byteLength(payload) : (payload?.length ?? 0);
};

/**
 * Wrap the in-memory persistence `p` with the caps.
 *
 * @example
 * const caps = capQueues(memoryPersistence(), { maxMessages: 10_000, maxBytes: 64 << 20, maxTotalBytes: 1 << 30 }, onDrop);
 */
export function capQueues(
  p: CountedPersistence,
  caps: QueueCaps,
  onDrop: QueueDropListener,
): QueueCapsHandle {
  const queues = new Map<string, { messages: number; bytes: number }>();
  let total = 0;
  const add = (clientId: string, size: number) => {
    const q = queues.get(clientId);
    if (q) {
      q.messages++;
      q.bytes += size;
    } else queues.set(clientId, { messages: 1, bytes: size });
    total += size;
  };
  const admit = (clientId: string, size: number): boolean => {
    const q = queues.get(clientId);
    const reason =
      (q?.messages ?? 0) >= caps.maxMessages
        ? 'messages'
        : (q?.bytes ?? 0) + size > caps.maxBytes
          ? 'bytes'
          : total + size > caps.maxTotalBytes
            ? 'total'
            : undefined;
    if (reason === undefined) return true;
    onDrop(clientId, reason);
    return false;
  };

  const enqueueCombi = p.outgoingEnqueueCombi.bind(p);
  p.outgoingEnqueueCombi = (subs, packet) => {
    const size = sizeOf(packet);
    const admitted = subs.filter((s) => admit(s.clientId, size));
    for (const s of admitted) add(s.clientId, size);
    return enqueueCombi(admitted, packet);
  };
  // A server-side publish to one client (Aedes `client.publish`) is delivered right after it is
  // queued, and the delivery fails when it is not queued: counted, never turned away.
  const enqueue = p.outgoingEnqueue.bind(p);
  p.outgoingEnqueue = (sub, packet) => {
    add(sub.clientId, sizeOf(packet));
    return enqueue(sub, packet);
  };
  const clear = p.outgoingClearMessageId.bind(p);
  p.outgoingClearMessageId = async (client, packet) => {
    const removed = await clear(client, packet);
    if (removed && typeof removed === 'object') {
      const q = queues.get(client.id);
      if (q) {
        const size = sizeOf(removed);
        q.messages--;
        q.bytes -= size;
        total = Math.max(0, total - size);
        if (q.messages <= 0) queues.delete(client.id);
      }
    }
    return removed;
  };

  return {
    usage: (clientId) => ({ ...(queues.get(clientId) ?? { messages: 0, bytes: 0 }) }),
    totalBytes: () => total,
  };
}
