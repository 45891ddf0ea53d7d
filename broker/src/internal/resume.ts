/**
 * In-order resume of persistent sessions, and exact clearing of refused deliveries.
 *
 * Aedes 1.2 resumes a `clean: false` session in two streams at once: it restores the
 * session's subscriptions (live deliveries start), then sends CONNACK and hands over the
 * stored queue (lib/handlers/connect.js `restoreSubs` … `emptyQueue`). A QoS 1 message
 * published meanwhile is both in the queue (Aedes enqueues for every persistent subscriber
 * before it emits) and delivered live, so
 * - messages published while a device comes back overtook the ones it had missed, on the
 *   same topic (MQTT 3.1.1 §4.6 ordered topics); a member saw a group's chain out of order;
 * - a message handed over by the queue came again live; the exact de-duplication refused
 *   the copy, and Aedes then "cleared" the refused live packet by its packet identifier,
 *   which a live packet does not have yet — the in-memory persistence removed the first
 *   queued message without one, i.e. some other message, and the queue hand-over later
 *   failed on it ('no such packet'), closing the connection. That message was lost.
 *
 * Here, from CONNECT until the queue is handed over (`clientReady`), live QoS ≥ 1
 * deliveries to a persistent session are held (they are in its queue already, so the
 * publisher's flow is not held up), then sent in arrival order, leaving out those the
 * queue handed over. A client that collects more than `holdLimit` of them is closed; its
 * session keeps them queued for the next connect.
 *
 * And a delivery Aedes refuses to a persistent session (the forward hook's de-duplication
 * or ACL check) is cleared from that session's queue by its broker counter, not by a
 * packet identifier it does not have (in-memory persistence; see `clearRefusedByCounter`).
 */
import type { Client } from 'aedes';

/** A client's `deliverQoS`. */
export type Deliver = (packet: Delivered, cb: () => void) => void;

/** The parts of a delivered packet this module reads. */
export interface Delivered {
  qos?: number;
  brokerId?: string;
  brokerCounter?: number | string;
  messageId?: number | null;
}

interface Resuming {
  held: Delivered[];
  queued: Set<string>;
  deliver: Deliver;
}

/** The persistence calls this module wraps. */
export interface QueuePersistence {
  outgoingUpdate(client: object, packet: object): Promise<unknown>;
  outgoingClearMessageId(client: object, packet: object): Promise<unknown>;
}

export interface ResumeGuardOptions {
  /** Live deliveries a resuming client may collect before it is closed. */
  holdLimit: number;
  /** Close a client that collected too many (its session keeps them queued). */
  onOverflow: (client: Client) => void;
}

export interface ResumeGuard {
  /** At CONNECT, before Aedes restores subscriptions: hold live deliveries for `clean: false`. */
  begin(client: Client, clean: boolean): void;
  /** A packet the stored queue is handing over to `client`. */
  queued(client: Client, packet: Delivered): void;
  /** The queue was handed over (`clientReady`): send what was held, in order. */
  finish(client: Client): void;
  /**
   * Hold live deliveries again for a connected persistent session while its stored queue is
   * handed over once more (`replay.ts`); returns the unheld delivery function for that hand-
   * over, or `undefined` when the client is not a persistent session or is still resuming.
   * End with {@link ResumeGuard.finish}.
   */
  hold(client: Client): Deliver | undefined;
}

const keyOf = (p: Delivered): string | undefined =>
  p.brokerId === undefined ? undefined : `${p.brokerId}:${String(p.brokerCounter)}`;

/**
 * Create the guard.
 *
 * @example
 * const guard = createResumeGuard({ holdLimit: 10_000, onOverflow: (c) => c.close() });
 * preConnect: guard.begin(client, packet.clean); aedes.on('clientReady', guard.finish);
 */
export function createResumeGuard(opts: ResumeGuardOptions): ResumeGuard {
  const resuming = new WeakMap<Client, Resuming>();
  const unheld = new WeakMap<Client, Deliver>();
  return {
    begin(client, clean) {
      if (clean) return;
      const target = client as unknown as { deliverQoS: Deliver };
      const deliver = target.deliverQoS;
      const state: Resuming = { held: [], queued: new Set(), deliver };
      resuming.set(client, state);
      unheld.set(client, deliver);
      // Aedes binds `client.deliverQoS` when a subscription is made (restored or new), so
      // replacing it here, before any, routes every QoS ≥ 1 delivery of this connection.
      target.deliverQoS = (packet, cb) => {
        const r = resuming.get(client);
        if (r === undefined || (packet.qos ?? 0) === 0) {
          deliver(packet, cb);
          return;
        }
        if (r.held.length >= opts.holdLimit) {
          resuming.delete(client);
          opts.onOverflow(client);
        } else {
          r.held.push(packet);
        }
        setImmediate(cb);
      };
    },

    hold(client) {
      const deliver = unheld.get(client);
      if (deliver === undefined || resuming.has(client)) return undefined;
      resuming.set(client, { held: [], queued: new Set(), deliver });
      return deliver;
    },

    queued(client, packet) {
      const key = keyOf(packet);
      if (key !== undefined) resuming.get(client)?.queued.add(key);
    },

    finish(client) {
      const r = resuming.get(client);
      if (!r) return;
      resuming.delete(client);
      for (const packet of r.held) {
        const key = keyOf(packet);
        if (key !== undefined && r.queued.has(key)) continue;
        r.deliver(packet, () => undefined);
      }
    },
  };
}

/**
 * Make the in-memory persistence's `outgoingClearMessageId` exact for packets without a
 * packet identifier (a live delivery the forward hook refused): the entry is found by its
 * broker counter, through `outgoingUpdate` (which throws when this session's queue does not
 * hold it) with a marker identifier no real delivery uses (they are 1–65535).
 *
 * Not for aedes-persistence-redis: its clear of an unknown identifier is already a no-op
 * (the refused message stays queued and is checked again at the next connect), and its
 * `outgoingUpdate` does not check the session's queue holds the packet, so a clear after it
 * would decrement the packet's subscriber count for a copy that is not there.
 */
export function clearRefusedByCounter(p: QueuePersistence): void {
  const clear = p.outgoingClearMessageId.bind(p);
  const update = p.outgoingUpdate.bind(p);
  let marker = 0;
  p.outgoingClearMessageId = async (client, packet) => {
    const d = packet as Delivered;
    if (d.messageId !== undefined && d.messageId !== null) return clear(client, packet);
    if (d.brokerId === undefined) return undefined;
    marker = marker <= -1_000_000 ? -1 : marker - 1;
    const marked = { ...packet, messageId: marker };
    try {
      await update(client, marked);
    } catch {
      return undefined; // not in this session's queue: nothing to clear
    }
    return clear(client, marked);
  };
}
