/**
 * Wake-ups for devices that are not connected (docs/PROTOCOL.md §7 "Wake-up pushes").
 *
 * Aedes queues a QoS 1 message for every persistent session subscribed to its topic, connected
 * or not, through the persistence's `outgoingEnqueueCombi`; a session with no connection on this
 * broker only gets it when it comes back. For each such session of a user device, once the
 * message is stored, this module hands a {@link WakeEvent} to the key servers, which send the
 * device a content-free Web Push if it has a subscription. Only DM inboxes and group topics
 * wake a device (control notices, presence and IoT topics do not).
 *
 * In cluster mode "not connected" means "not connected to this broker": a device connected to
 * another broker gets a wake-up it does not need. The key servers send at most one per device
 * per interval, and the service worker shows nothing while a window of the app is visible.
 */
import { parseTopic, type WakeEvent } from '@sotto/crypto/wire';
import { identityOf } from '../identity.ts';
import type { CountedPersistence } from './queue-cap.ts';

/** What {@link wakeOfflineSessions} needs besides the persistence. */
export interface OfflineWakeOptions {
  /** True when the client id has a live connection on this broker. */
  connected(clientId: string): boolean;
  /** Publish a wake-up (fire and forget). */
  wake(event: WakeEvent): void;
}

/**
 * Wrap `p.outgoingEnqueueCombi` so that every message stored for a device with no connection
 * here wakes it. Install before the queue caps, so only messages actually queued wake anyone.
 */
export function wakeOfflineSessions(
  p: Pick<CountedPersistence, 'outgoingEnqueueCombi'>,
  opts: OfflineWakeOptions,
): void {
  const enqueueCombi = p.outgoingEnqueueCombi.bind(p);
  p.outgoingEnqueueCombi = async (subs, packet) => {
    const result = await enqueueCombi(subs, packet);
    const name = (packet as { topic?: unknown }).topic;
    const topic = typeof name === 'string' ? parseTopic(name) : null;
    const groupId =
      topic?.kind === 'group' ? topic.groupId : topic?.kind === 'inbox' ? null : undefined;
    if (groupId === undefined) return result;
    for (const s of subs) {
      if (opts.connected(s.clientId)) continue;
      const who = identityOf(s.clientId);
      if (who?.kind !== 'device') continue;
      // An inbox is its own device's only; any other subscriber of it would be a broker bug.
      if (topic?.kind === 'inbox' && (topic.user !== who.username || topic.device !== who.deviceId))
        continue;
      opts.wake({ username: who.username, deviceId: who.deviceId, groupId });
    }
    return result;
  };
}
