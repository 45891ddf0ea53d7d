/**
 * Enforcing ACL changes at once (docs/PROTOCOL.md §7 "ACL events"), whether they come from this
 * process or (via Redis) from any key server: revoked tokens, devices, users and things are
 * disconnected; members removed from a group lose its live and stored subscriptions; members
 * added get them; presence visibility follows the user's setting.
 */
import type { Client } from 'aedes';
import { deviceClientId, groupTopic, thingClientId, GROUP_ID_PATTERN } from '@sotto/crypto/wire';
import type { AuthHooks } from './handlers/hooks.ts';
import { identityOf } from '../identity.ts';
import type { BrokerMetrics } from '../metrics.ts';
import type { AclEvent, AclStoreQueries } from '../types.ts';
import type { ConnectionRegistry } from './connections.ts';
import type { BrokerPersistence } from './persistence.ts';
import type { PresenceTracker } from './presence.ts';

/** Dependencies of {@link createAclEventHandler}. */
export interface AclEventHandlerOptions {
  store: AclStoreQueries;
  hooks: AuthHooks;
  connections: ConnectionRegistry;
  persistence: BrokerPersistence;
  /** Store subscriptions of a session that is not connected here (the broker's filtered add). */
  storeSubscriptions: BrokerPersistence['addSubscriptions'];
  /** Presence tracker; `undefined` when presence is off. */
  presence: PresenceTracker | undefined;
  metrics: BrokerMetrics;
  /** Close a client, counting the reason. */
  disconnect: (client: Client, reason: string) => void;
}

/** Live subscriptions of an Aedes client, keyed by filter (not in Aedes' typings). */
const subscriptionsOf = (client: Client) =>
  (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions;

/** Create the handler; it resolves once the event is enforced on this broker. */
export function createAclEventHandler(
  opts: AclEventHandlerOptions,
): (event: AclEvent) => Promise<void> {
  const { store, hooks, connections, persistence, metrics, disconnect } = opts;

  /**
   * Subscribe every active device of newly added members to the group topic, on the
   * broker's side: a member's device only subscribes itself once it hears of the group
   * (a notice or sender key that may arrive after the first group message), and an
   * offline device would otherwise miss everything sent before it comes back. Connected
   * clients of this broker get a live subscription (authorized by the same hook, and
   * persisted when their session is); the others, when they have a stored session, get the
   * subscription in it, so their queue starts now.
   */
  const subscribeAdded = async (topic: string, users: string[]): Promise<void> => {
    for (const user of users) {
      for (const device of await store.listDevices(user)) {
        if (!device.active) continue;
        const clientId = deviceClientId(device.username, device.deviceId);
        const live = connections.byId(clientId);
        if (live) {
          if (topic in subscriptionsOf(live)) continue;
          await new Promise<void>((resolve) =>
            live.subscribe({ topic, qos: 1 } as never, () => resolve()),
          );
        } else {
          // Only a stored (clean=false) session gets one: a device that never connected
          // subscribes itself when it starts, and a clean-session client (here or on another
          // broker of a cluster) must not collect a queue it will never read.
          const stored = await persistence.subscriptionsByClient({ id: clientId });
          if (!stored || stored.length === 0) continue;
          await opts.storeSubscriptions({ id: clientId }, [{ topic, qos: 1 }]);
        }
        metrics.groupSubscriptions.inc();
      }
    }
  };

  const groupChanged = async (groupId: string, removedUsers: string[], added: string[]) => {
    if (!GROUP_ID_PATTERN.test(groupId)) return;
    const removed = new Set(removedUsers);
    await hooks.groups.changed(groupId, removedUsers);
    const topic = groupTopic(groupId);
    if (added.length > 0) await subscribeAdded(topic, added);
    if (removed.size === 0) return;
    // Connected members: drop the live subscription (and its persisted copy).
    for (const user of removed) {
      for (const client of connections.byAccount(user)) {
        if (!(topic in subscriptionsOf(client))) continue;
        client.unsubscribe({ unsubscriptions: [topic] } as never, () => undefined);
        if (!client.clean) await persistence.removeSubscriptions({ id: client.id }, [topic]);
        metrics.refusals.inc({ rule: 'ACL-2', action: 'revoke-subscription' });
      }
    }
    // Offline persistent sessions: remove the stored subscription so nothing more is queued;
    // anything already queued is filtered on delivery (authorizeForward + wrapped outgoingStream).
    for (const s of await persistence.subscriptionsByTopic(topic)) {
      const id = identityOf(s.clientId);
      if (id?.kind === 'device' && removed.has(id.username) && s.topic === topic) {
        await persistence.removeSubscriptions({ id: s.clientId }, [topic]);
      }
    }
  };

  return async (event) => {
    switch (event.type) {
      case 'group-changed':
        return groupChanged(event.groupId, event.removed, event.added);
      case 'token-revoked':
        for (const c of connections.byAccount(event.username)) {
          if (hooks.sessionOf(c)?.jti === event.jti) disconnect(c, 'token-revoked');
        }
        return;
      case 'device-revoked': {
        const c = connections.byId(deviceClientId(event.username, event.deviceId));
        if (c) disconnect(c, 'device-revoked');
        return;
      }
      case 'user-revoked':
        for (const c of [...connections.byAccount(event.username)]) disconnect(c, 'user-revoked');
        return;
      case 'thing-revoked': {
        const c = connections.byId(thingClientId(event.owner, event.thing));
        if (c) disconnect(c, 'thing-revoked');
        return;
      }
      case 'presence-visibility':
        opts.presence?.visibilityChanged(event.username, event.visible);
        return;
      case 'blocks-changed':
        hooks.blocks.changed(event.username);
        return;
    }
  };
}
