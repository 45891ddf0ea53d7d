/**
 * Presence (docs/PROTOCOL.md §7 "Presence"): the broker publishes a user's retained status on
 * `sotto/v1/presence/{user}` — `online` when their first device connects here, `offline` when
 * the last one leaves — unless the user hid it, in which case the retained status is cleared.
 */
import type { Aedes } from 'aedes';
import { encodePresence, presenceTopic, type Presence } from '@sotto/crypto/wire';
import type { ClientSession } from './handlers/state.ts';
import type { BrokerLogger } from '../types.ts';
import type { ConnectionRegistry } from './connections.ts';

/** How long a visibility change heard for a user with no device here is remembered. */
const RECENT_VISIBILITY_MS = 60_000;
/** At most this many such changes are remembered (the oldest goes first). */
const RECENT_VISIBILITY_LIMIT = 10_000;

/** Presence of one broker's users. */
export interface PresenceTracker {
  /** A client was registered (after the registry added it). */
  connected(session: ClientSession): void;
  /** A client was forgotten (after the registry removed it). */
  disconnected(session: ClientSession): void;
  /** The user hid or showed their presence (`presence-visibility` ACL event). */
  visibilityChanged(username: string, visible: boolean): void;
  /** Publish nothing more (broker closing). */
  close(): void;
}

/** Dependencies of {@link createPresenceTracker}. */
export interface PresenceOptions {
  aedes: Aedes;
  connections: ConnectionRegistry;
  log: BrokerLogger;
}

/** Create the tracker; it publishes through `aedes`. */
export function createPresenceTracker(opts: PresenceOptions): PresenceTracker {
  const { aedes, connections, log } = opts;
  let closing = false;
  /** Publish retained presence; `hidden` clears it (an empty retained payload, MQTT 3.1.1 §3.3.1.3). */
  const publish = (username: string, status: Presence['status'] | 'hidden') => {
    if (closing) return;
    const presence: Presence | null = status === 'hidden' ? null : { status, at: Date.now() };
    const bytes = encodePresence(presence);
    aedes.publish(
      {
        cmd: 'publish',
        topic: presenceTopic(username),
        payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        qos: 1,
        retain: true,
        dup: false,
      },
      (err) => {
        if (err) log.warn({ err, username }, 'presence publish failed');
      },
    );
  };
  // Presence setting of accounts with a device connected here: read at connect (ClientSession),
  // kept current by `presence-visibility` events, forgotten when the last device leaves.
  const visible = new Map<string, boolean>();
  // Changes heard for users with no device here, kept for a minute: a connect whose setting was
  // read from the store before the change must not go by that stale value (the event came first).
  const recent = new Map<string, { visible: boolean; at: number }>();

  return {
    connected(session) {
      if (session.identity.kind !== 'device') return;
      const user = session.identity.username;
      if (!visible.has(user)) {
        const heard = recent.get(user);
        recent.delete(user);
        visible.set(
          user,
          heard && Date.now() - heard.at < RECENT_VISIBILITY_MS
            ? heard.visible
            : (session.presenceVisible ?? true),
        );
      }
      if (visible.get(user)) publish(user, 'online');
    },

    disconnected(session) {
      if (session.identity.kind !== 'device') return;
      const user = session.identity.username;
      if (connections.onlineDevices(user) !== 0) return;
      if (visible.get(user) ?? true) publish(user, 'offline');
      visible.delete(user);
    },

    visibilityChanged(user, shown) {
      const here = connections.onlineDevices(user) > 0;
      if (here) visible.set(user, shown);
      else {
        recent.delete(user);
        recent.set(user, { visible: shown, at: Date.now() });
        if (recent.size > RECENT_VISIBILITY_LIMIT) {
          const oldest = recent.keys().next().value;
          if (oldest !== undefined) recent.delete(oldest);
        }
      }
      // Hiding clears the retained status on every broker (last seen included); showing
      // republishes `online` from each broker where a device of the user is connected.
      if (!shown) publish(user, 'hidden');
      else if (here) publish(user, 'online');
    },

    close() {
      closing = true;
    },
  };
}
