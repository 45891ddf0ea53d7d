/**
 * Delivery: Aedes' synchronous `authorizeForward` hook, run for every message handed to a
 * client, live or from its queue. It drops what a queue cap did not queue, de-duplicates
 * exactly, closes slow consumers, and re-checks the read rules (with the member cache for
 * groups, [ACL-2]) so a message queued under a subscription that should not exist is dropped.
 */
import type { AedesPublishPacket, Client } from 'aedes';
import { checkSubscribe, type AclDecision } from '../../acl.ts';
import { notQueuedFor } from '../queue-cap.ts';
import type { HookState } from './state.ts';

/** Aedes' `authorizeForward` hook. */
export type AuthorizeForwardHook = (
  client: Client,
  packet: AedesPublishPacket,
) => AedesPublishPacket | null;

/** How many recent deliveries per client and emitting broker the exact de-duplication remembers. */
const SEEN_LIMIT = 4096;

/** Topics per client whose read decision is remembered (see `readDecisions`). */
const READ_CACHE_LIMIT = 256;

/** The forward hook; `onSlowConsumer` is told of each client it closes as a slow consumer. */
export function createAuthorizeForward(
  state: HookState,
  onSlowConsumer: (client: Client) => void,
): AuthorizeForwardHook {
  const { limits, log, metrics, policy, groups } = state;
  // Exact de-duplication per client: counters seen, per broker id that emitted them.
  const seen = new WeakMap<Client, Map<string, Set<number>>>();
  // Read decisions per client for `sotto/` topics: those depend only on the identity and the
  // topic (never on the policy file), so one parse per topic and connection is exact.
  const readDecisions = new WeakMap<Client, Map<string, AclDecision>>();

  return (client, packet) => {
    // Not queued for this session (a queue cap): not delivered live either (internal/queue-cap.ts).
    if (!client.clean && notQueuedFor(packet, client.id)) return null;
    // Exact de-duplication (overlapping subscriptions deliver one packet twice).
    const brokerId = (packet as { brokerId?: string }).brokerId;
    if (brokerId) {
      const counter = (packet as { brokerCounter?: number }).brokerCounter ?? -1;
      let byBroker = seen.get(client);
      if (!byBroker) seen.set(client, (byBroker = new Map<string, Set<number>>()));
      let set = byBroker.get(brokerId);
      if (!set) byBroker.set(brokerId, (set = new Set()));
      if (set.has(counter)) return null;
      set.add(counter);
      if (set.size > SEEN_LIMIT) {
        const oldest = set.values().next().value;
        if (oldest !== undefined) set.delete(oldest);
      }
    }
    // Slow consumer: a client whose socket backlog keeps growing is closed rather than allowed
    // to hold memory and delivery slots. A persistent session keeps the message queued.
    const conn = client.conn as {
      writableLength?: number;
      destroyed?: boolean;
      destroy(err?: Error): void;
    };
    if ((conn.writableLength ?? 0) > limits.maxQueuedBytesPerClient && !conn.destroyed) {
      metrics?.disconnects.inc({ reason: 'slow-consumer' });
      log.warn({ clientId: client.id, queued: conn.writableLength }, 'slow consumer closed');
      onSlowConsumer(client);
      conn.destroy(new Error('slow consumer'));
      return client.clean ? null : packet;
    }
    // Every delivery is re-checked against the read rules (sync: pure string rules plus the
    // member cache), so a message queued under a subscription that should not exist is dropped.
    const session = state.sessions.get(client);
    if (!session) {
      state.refuse('deny-default', 'forward');
      return null;
    }
    const topic = packet.topic;
    let decision: AclDecision | undefined;
    if (topic.startsWith('sotto/')) {
      let cache = readDecisions.get(client);
      if (!cache) readDecisions.set(client, (cache = new Map<string, AclDecision>()));
      decision = cache.get(topic);
      if (decision === undefined) {
        decision = checkSubscribe(session.identity, topic, policy);
        if (cache.size >= READ_CACHE_LIMIT) cache.clear();
        cache.set(topic, decision);
      }
    } else {
      decision = checkSubscribe(session.identity, topic, policy);
    }
    if (decision.verdict === 'deny') {
      state.refuse(decision.rule, 'forward');
      return null;
    }
    if (decision.verdict === 'member' && session.identity.kind === 'device') {
      // [ACL-2] defence in depth: never hand a group message to a client that is no longer a
      // member, whatever subscription or queued message survived.
      const member = groups.peek(decision.groupId, session.identity.username);
      if (member === false) {
        state.refuse('ACL-2', 'forward');
        return null;
      }
      if (member === undefined) void groups.refresh(decision.groupId).catch(() => undefined);
    }
    metrics?.messagesOut.inc();
    return packet;
  };
}
