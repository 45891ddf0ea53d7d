/**
 * Prompt delivery after a Redis outage (cluster mode; docs/OPERATIONS.md "Redis outages").
 *
 * While Redis restarts, each broker's two mqemitter connections reconnect on their own
 * schedules. A publish waits for the publishing connection, is stored in every persistent
 * subscriber's queue (Aedes enqueues before it emits, and `persistBeforeAck` answers the
 * PUBACK only after both) and is then published on Redis. When that connection of one broker
 * is back before the subscriber connection of another broker has re-subscribed, Redis has no
 * subscriber for the message: the online device on the other broker never got it live, and
 * Aedes hands a stored queue over only at CONNECT. The message sat PUBACKed in the queue
 * until the device reconnected or the sender's outbox re-sent it (45–60 s in the clients).
 *
 * So when the subscriber connection is subscribed again (`RedisBackends.mqResubscribed`), the
 * stored queue of every connected persistent session is handed over once more, exactly as at
 * a connect: live deliveries are held meanwhile (`resume.ts`) and follow the queue; a queued
 * message already delivered on this connection is refused by the forward hook's exact
 * de-duplication. Every message the outage kept from a subscriber is in its queue (stored
 * before it was published), so this covers all of them.
 */
import type { Client } from 'aedes';
import type { BrokerPersistence } from './persistence.ts';
import type { Deliver, Delivered, ResumeGuard } from './resume.ts';
import type { BrokerLogger } from '../types.ts';

/** Sessions handed their queue at once (each is a few Redis round trips). */
const CONCURRENCY = 16;

/** Dependencies of {@link createQueueReplay}. */
export interface QueueReplayOptions {
  /** This broker's connected clients. */
  clients: () => Iterable<Client>;
  /** The wrapped persistence (its `outgoingStream` marks what the queue hands over). */
  persistence: BrokerPersistence;
  resume: ResumeGuard;
  log: BrokerLogger;
}

/** Result of one replay. */
export interface ReplayResult {
  /** Persistent sessions whose queue was handed over again. */
  sessions: number;
  /** Queued messages handed to the forward hook (those already delivered are refused there). */
  messages: number;
}

async function replayOne(
  client: Client,
  deliver: Deliver,
  persistence: BrokerPersistence,
): Promise<number> {
  let n = 0;
  for await (const stored of persistence.outgoingStream(client) as AsyncIterable<Delivered>) {
    if (client.closed) break;
    // Without its stored packet identifier: the one in Redis is shared by every subscriber of
    // the message, and a refused delivery with an identifier would clear that entry.
    const packet: Delivered = { ...stored };
    delete packet.messageId;
    await new Promise<void>((resolve) => deliver(packet, () => resolve()));
    n++;
  }
  return n;
}

/** Create the replay; call it when the mqemitter has re-subscribed. */
export function createQueueReplay(opts: QueueReplayOptions): () => Promise<ReplayResult> {
  return async () => {
    const pending = [...opts.clients()].filter((c) => !c.clean && !c.closed);
    const result: ReplayResult = { sessions: 0, messages: 0 };
    const worker = async () => {
      for (let client = pending.shift(); client; client = pending.shift()) {
        const deliver = opts.resume.hold(client);
        if (!deliver) continue; // still resuming from its CONNECT: that hand-over covers it
        result.sessions++;
        try {
          result.messages += await replayOne(client, deliver, opts.persistence);
        } catch (err) {
          opts.log.warn(
            { clientId: client.id, err: (err as Error).message },
            'queue replay after resubscribe failed',
          );
        } finally {
          opts.resume.finish(client);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return result;
  };
}
