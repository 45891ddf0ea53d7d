/**
 * The broker's adjustments to Aedes' persistence (memory or Redis): messages are stored before
 * their PUBACK, only granted subscriptions are stored (serialised per client), and queued group
 * messages are re-checked against fresh member lists on delivery. Each is a workaround of a
 * named Aedes behaviour, described where it is made.
 */
import { Readable } from 'node:stream';
import type { Aedes, AedesPublishPacket, Client, Subscription } from 'aedes';
import { parseTopic } from '@sotto/crypto/wire';
import type { AuthHooks } from './handlers/hooks.ts';
import type { ResumeGuard } from './resume.ts';

/**
 * Persistence as Aedes 1.x uses it (promise API of aedes-persistence 11 and
 * aedes-persistence-redis 11); typed here only as far as the broker calls it.
 */
export interface BrokerPersistence {
  addSubscriptions(client: { id: string }, subs: Subscription[]): Promise<unknown>;
  removeSubscriptions(client: { id: string }, topics: string[]): Promise<unknown>;
  subscriptionsByTopic(topic: string): Promise<{ clientId: string; topic: string; qos?: number }[]>;
  subscriptionsByClient(client: { id: string }): Promise<{ topic: string }[] | null | undefined>;
  outgoingStream(client: { id: string }): Readable;
  destroy?(): Promise<unknown> | undefined;
}

/**
 * Aedes 1.2 answers a QoS 1 PUBLISH with PUBACK *before* it stores and routes
 * the message (lib/handlers/publish.js, `enqueuePublish`), so a broker killed
 * right after the PUBACK loses a message the sender considers delivered (our
 * SIGKILL test lost the last of ten). Here the authorize hook publishes the
 * message itself — offline queues in the persistence, then the mqemitter —
 * and only then lets Aedes send the PUBACK; Aedes' own publish of that same
 * packet object is then skipped.
 */
export function persistBeforeAck(aedes: Aedes, hooks: AuthHooks): void {
  type Done = (err?: Error) => void;
  type PublishFn = (packet: object, client: Client | null | Done, done?: Done) => void;
  const target = aedes as unknown as { publish: PublishFn };
  const original = target.publish.bind(aedes);
  const early = new WeakSet<object>();
  hooks.beforeAck = (client, packet, done) => {
    original(packet, client, (err) => {
      if (!err) early.add(packet);
      done(err);
    });
  };
  // A dropped publish ([ACL-12]): answered like any other, routed nowhere.
  hooks.swallow = (packet) => early.add(packet);
  target.publish = (packet, client, done) => {
    if (early.has(packet)) {
      early.delete(packet);
      const cb = typeof client === 'function' ? client : done;
      cb?.();
      return;
    }
    original(packet, client, done);
  };
}

/**
 * Three adjustments to the persistence Aedes uses:
 * 1. Aedes stores *every* filter of a SUBSCRIBE packet once any one of them is
 *    granted (lib/handlers/subscribe.js `storeSubscriptions`), so a refused
 *    filter would be kept for a persistent session and get offline messages
 *    queued. Only filters our hook granted are stored.
 * 2. Aedes calls `addSubscriptions` once per filter of the packet, concurrently,
 *    each time with the whole filter list. aedes-persistence-redis then waits
 *    for its own `$SYS/sub/add` broadcast under the key `{clientId}-sub_{first
 *    topic}` (aedes-persistence `broadcastPersistence.js`, one waiter per key):
 *    concurrent calls overwrite each other's waiter, all but one never resolve,
 *    and the SUBACK of a multi-filter SUBSCRIBE from a persistent session never
 *    came. Calls are therefore serialized per client, and a call whose granted
 *    filters an earlier call of the same packet already stored returns at once.
 * 3. Queued messages of a persistent session are filtered by the synchronous
 *    `authorizeForward` on delivery; before each queued group message is handed
 *    over, the group's member list is fetched fresh so that check is exact (a
 *    member removed while offline gets none of the group's queued messages).
 */
export function wrapPersistence(
  p: BrokerPersistence,
  hooks: AuthHooks,
  resume: ResumeGuard,
): BrokerPersistence['addSubscriptions'] {
  const add = p.addSubscriptions.bind(p);
  const queues = new Map<string, Promise<unknown>>();
  const stored = new WeakMap<Subscription[], Set<string>>();
  p.addSubscriptions = (client, subs) => {
    const run = async (): Promise<unknown> => {
      const done = stored.get(subs) ?? new Set<string>();
      stored.set(subs, done);
      // Filtered when the call runs, so it includes every filter granted by then.
      const granted = subs.filter((s) => hooks.isGranted(s));
      if (granted.length === 0 || granted.every((s) => done.has(s.topic))) return undefined;
      const r = await add(client, granted);
      for (const s of granted) done.add(s.topic);
      return r;
    };
    const previous = queues.get(client.id) ?? Promise.resolve();
    const next = previous.then(run, run);
    queues.set(client.id, next);
    const forget = () => {
      if (queues.get(client.id) === next) queues.delete(client.id);
    };
    next.then(forget, forget);
    return next;
  };
  const outgoing = p.outgoingStream.bind(p);
  p.outgoingStream = (client) => {
    const source = outgoing(client);
    // A clean session's queue (one a persistent session of the same id left) is cleared, not
    // delivered (Aedes' `emptyQueueFilter`): nothing to check, and no stream to build per connect.
    if ((client as Client).clean) return source;
    const refreshed = new Set<string>();
    async function* checked(): AsyncGenerator<unknown> {
      for await (const packet of source as AsyncIterable<AedesPublishPacket>) {
        resume.queued(client as Client, packet);
        const parsed = typeof packet.topic === 'string' ? parseTopic(packet.topic) : null;
        if (parsed?.kind === 'group') {
          const groupId = parsed.groupId;
          if (!refreshed.has(groupId)) {
            refreshed.add(groupId);
            await hooks.groups.refresh(groupId).catch(() => undefined);
          }
        }
        yield packet;
      }
    }
    return Readable.from(checked());
  };
  return add;
}
