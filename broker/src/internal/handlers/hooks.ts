/**
 * The shape of what `createAuthHooks` (auth.ts) returns: the Aedes hooks of this folder plus the
 * per-connection state the rest of the broker reads. Defined here, below auth.ts, so the broker's
 * other internals (persistence, ACL events) depend on the hooks without importing the façade.
 */
import type { Client } from 'aedes';
import type { BlockCache } from '../blocks.ts';
import type { GroupCache } from '../groups.ts';
import type { AuthenticateHook, PreConnectHook } from './connect.ts';
import type { AuthorizeForwardHook } from './forward.ts';
import type { AuthorizePublishHook, BeforeAck } from './publish.ts';
import type { ClientSession } from './state.ts';
import type { AuthorizeSubscribeHook } from './subscribe.ts';

/** The hooks plus the state they share with the broker. */
export interface AuthHooks {
  preConnect: PreConnectHook;
  authenticate: AuthenticateHook;
  authorizePublish: AuthorizePublishHook;
  authorizeSubscribe: AuthorizeSubscribeHook;
  authorizeForward: AuthorizeForwardHook;
  /** The session of an authenticated client, if any. */
  sessionOf: (client: Client) => ClientSession | undefined;
  /** Subscriptions this process granted (aedes stores every filter of a SUBSCRIBE; see internal/persistence.ts). */
  isGranted: (sub: object) => boolean;
  /** Group member-list cache (the broker invalidates it on `group-changed`). */
  groups: GroupCache;
  /** Block-list cache (the broker invalidates it on `blocks-changed`). */
  blocks: BlockCache;
  /** Force-close reasons are reported here by the forward hook (slow consumer). */
  onSlowConsumer?: (client: Client) => void;
  /**
   * Called for an authorized QoS 1 PUBLISH before the hook lets Aedes send PUBACK; the
   * broker uses it to persist and route the message first (internal/persistence.ts,
   * `persistBeforeAck`).
   */
  beforeAck?: BeforeAck;
  /**
   * Mark an authorized PUBLISH as dropped: Aedes answers it as usual (PUBACK for QoS 1) but
   * routes it nowhere ([ACL-12], set by `persistBeforeAck`).
   */
  swallow?: (packet: object) => void;
}
