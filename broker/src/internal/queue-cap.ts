/**
 * Bounds on the offline queues of persistent sessions.
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
 * In-memory persistence (embedded mode): counts follow the persistence exactly — enqueues add,
 * removals of a queued packet (acknowledged, cleared at a clean connect, refused) subtract what
 * the persistence reports it removed — and bytes are capped too. Redis persistence (cluster
 * mode): the length of a session's queue is read from Redis (`LLEN`, one pipelined call for the
 * sessions due) at its first enqueue and again after every {@link PROBE_EVERY} enqueues or
 * {@link PROBE_MAX_AGE_MS}, and counted locally in between, so a cap is exceeded by at most that
 * many messages per broker; messages only.
 *
 * A message not queued for a session must not reach it live either: Aedes enqueues before it
 * emits, and a delivery to a persistent session updates (and on PUBACK removes) the session's
 * queue entry — which would not exist (in memory the delivery then fails and closes the client;
 * on Redis the removal would decrement the packet's subscriber count for a copy that is not
 * there, so another subscriber could lose it). The packet carries the sessions it was not
 * queued for ({@link notQueuedFor}) to every broker, and the forward hook refuses those deliveries.
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

/**
 * Where a packet lists the sessions it was not queued for: inside `properties`, the one field
 * besides the message itself that Aedes carries over when it copies a packet for each
 * subscription (aedes-packet) and that the cluster's mqemitter serializes. Those are MQTT 5
 * properties; Aedes 1.2 speaks 3.1.1 only (it refuses a version-5 CONNECT) and never writes them
 * to a client.
 */
const NOT_QUEUED = 'sottoNotQueued';
type Marked = { properties?: Record<string, unknown> & { [NOT_QUEUED]?: string[] } };

/** Whether `packet` was turned away from `clientId`'s queue by a cap. */
export function notQueuedFor(packet: object, clientId: string): boolean {
  const list = (packet as Marked).properties?.[NOT_QUEUED];
  return list !== undefined && list.includes(clientId);
}

function markNotQueued(packet: object, clientIds: string[]): void {
  if (clientIds.length === 0) return;
  const p = packet as Marked;
  p.properties = { ...p.properties, [NOT_QUEUED]: clientIds };
}

/** Redis: enqueues counted locally between two reads of a queue's length. */
export const PROBE_EVERY = 64;
/** Redis: a queue length read longer ago than this is read again (ms). */
export const PROBE_MAX_AGE_MS = 1_000;

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
    const admitted: { clientId: string }[] = [];
    const refused: string[] = [];
    for (const s of subs) {
      if (admit(s.clientId, size)) {
        add(s.clientId, size);
        admitted.push(s);
      } else refused.push(s.clientId);
    }
    markNotQueued(packet, refused);
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

/** Queue lengths of sessions, in order (cluster mode: `LLEN` of their Redis lists). */
export type QueueLengths = (clientIds: string[]) => Promise<number[]>;

/**
 * Cap the queues of the Redis persistence at `maxMessages` per session (see the module comment
 * for how lengths are known).
 */
export function capRedisQueues(
  p: Pick<CountedPersistence, 'outgoingEnqueueCombi'>,
  maxMessages: number,
  lengths: QueueLengths,
  onDrop: QueueDropListener,
  now: () => number = Date.now,
): void {
  const known = new Map<string, { length: number; since: number; at: number }>();
  const enqueueCombi = p.outgoingEnqueueCombi.bind(p);
  p.outgoingEnqueueCombi = async (subs, packet) => {
    const t = now();
    const due = subs.filter((s) => {
      const k = known.get(s.clientId);
      return k === undefined || k.since >= PROBE_EVERY || t - k.at > PROBE_MAX_AGE_MS;
    });
    if (due.length > 0) {
      const read = await lengths(due.map((s) => s.clientId));
      due.forEach((s, i) => known.set(s.clientId, { length: read[i] ?? 0, since: 0, at: t }));
      if (known.size > 100_000) {
        for (const [id, k] of known) if (t - k.at > PROBE_MAX_AGE_MS) known.delete(id);
      }
    }
    const admitted: { clientId: string }[] = [];
    const refused: string[] = [];
    for (const s of subs) {
      const k = known.get(s.clientId)!;
      if (k.length + k.since >= maxMessages) {
        refused.push(s.clientId);
        onDrop(s.clientId, 'messages');
      } else {
        k.since++;
        admitted.push(s);
      }
    }
    markNotQueued(packet, refused);
    return enqueueCombi(admitted, packet);
  };
}
