/**
 * The shared state the engine's internal modules work on: injected
 * dependencies, the account, the crypto mutex and the event emitter. One
 * object, created by `createClient`, passed to every internal function.
 */
import type { ReceivedReport } from './reports.ts';
import type { DeviceCertificate, DeviceKind, LocalDevice } from '@sotto/crypto';
import type { HttpClient } from '../http.ts';
import type { AccountRecord, ClientStore, MessageRecord, ReceiptStatus } from '../store/types.ts';
import type { CallPayload, Payload } from '../payload.ts';
import type { Emitter } from './emitter.ts';
import type { Tracer } from './trace.ts';
import type { Mutex } from './lock.ts';
import type { PinnedMessage, Profile } from './event-shapes.ts';

/** Why a binding under our own username is alarming (see {@link OwnKeyAlert}). */
export type OwnKeyAlertReason =
  /** A UIK that is not this account's, logged after the account's own UIK: a forged identity (or a reset made elsewhere). */
  | 'foreignIdentityKey'
  /** A certificate under our UIK that is malformed, not signed by it, or names another user. */
  | 'badCertificate';

/** A key-log binding under this account's username that this account did not make. */
export interface OwnKeyAlert {
  reason: OwnKeyAlertReason;
  /** Index of the leaf in the key-transparency log. */
  logIndex: number;
  /** The UIK of the binding (base64url). */
  uik: string;
  /** The device the certificate names, null for a UIK-only or undecodable binding. */
  deviceId: string | null;
}

/**
 * What the own-key monitor has checked so far ({@link ClientEvents.ownKeyLogChecked},
 * `trust.ownKeyLog()`): exactly the progress it stored, never more.
 */
export interface OwnKeyLogStatus {
  /** Key-log entries read and proven to be the signed log (the log's size at the last run). */
  checkedEntries: number;
  /** When the last run that read new entries finished (ms since the Unix epoch); null: none yet. */
  checkedAt: number | null;
  /** How many of the entries checked are bindings under our username this account did not make. */
  unexpected: number;
}

/** State of the MQTT connection. */
/** `signed-out`: the key server refused this device's refresh token; log in again. */
export type ConnectionState = 'connecting' | 'online' | 'offline' | 'closed' | 'signed-out';

/** Events of the engine (see {@link ClientEvents} in engine.ts docs). */
export interface ClientEvents {
  [event: string]: unknown;
  /** A new message (text, reply, file …) was stored, incoming or synced from an own device. */
  message: MessageRecord;
  /** An edit, delete or reaction changed a stored message. */
  messageUpdate: MessageRecord;
  /** A conversation's pinned messages changed (PROTOCOL.md §12 "Pins"); the new list, oldest first. */
  pins: { conversationId: string; pins: PinnedMessage[] };
  /** A recipient device's receipt moved a message forward. */
  receipt: { messageId: string; user: string; device: string; status: ReceiptStatus };
  /**
   * Someone started or stopped typing in a conversation; `at` is the sender's clock when they
   * sent it (the payload's `ts`), comparable with their messages' timestamps.
   */
  typing: { conversationId: string; user: string; typing: boolean; at: number };
  /**
   * Presence of a user we subscribed to. `hidden`: the user stopped sharing presence (the
   * broker cleared the retained status; `at` is when we heard) — show neither online nor last seen.
   */
  presence: { user: string; status: 'online' | 'offline' | 'hidden'; at: number };
  /**
   * A key-log binding under our own username that this account did not make
   * (a forged identity key or certificate: someone may be impersonating us).
   */
  ownKeyAlert: OwnKeyAlert;
  /**
   * A run of the own-key monitor read new key-log entries and stored its progress (after the
   * run's `ownKeyAlert`s): what `trust.ownKeyLog()` now returns.
   */
  ownKeyLogChecked: OwnKeyLogStatus;
  /** A contact's identity key changed. `blocked` for verified contacts until accepted. */
  keyChange: { user: string; verified: boolean; blocked: boolean };
  /** A group's verified membership changed (or we joined/left one). */
  groupChange: {
    groupId: string;
    name: string;
    members: string[];
    removed: string[];
    added: string[];
  };
  /**
   * A user's profile changed (PROTOCOL.md §12 "Profiles"): a contact's newer profile arrived, or
   * ours was set here or on another of our devices. `user` is the authenticated sender, never a
   * name the payload claims.
   */
  profile: { user: string; profile: Profile };
  /** MQTT connection state. */
  connection: { state: ConnectionState; error?: string };
  /** A payload of a kind this version does not understand arrived (kept, not shown). */
  unknown: { conversationId: string; payload: Payload };
  /** Plain MQTT from one of our IoT things (`iot/{owner}/{thing}/...`), see `things.watch`. */
  iot: { owner: string; thing: string; subtopic: string[]; payload: Uint8Array };
  /** Linking (new device): messages of the copied history handled so far, of `total`. */
  historyProgress: { done: number; total: number };
  /** Linking (new device): the copied history is stored and searchable. */
  historyImported: { imported: number; skipped: number; omitted: number };
  /**
   * A security-relevant event that is not a message (issue 14, docs/SECURITY.md): forged
   * senders dropped, messages held, a group frozen, prekeys drained.
   */
  securityNotice: SecurityNotice;
  /**
   * The key server removed this device (control notice `device-removed`): its user removed it
   * from another device (`removed`), or reset the identity (`identity-reset`). Its tokens are
   * revoked next, so `connection` turns `signed-out` soon after.
   */
  deviceRemoved: { reason: 'identity-reset' | 'removed' };
  /** Our block list changed (here or on another of our devices); the new list, sorted. */
  blocksChanged: string[];
  /** An abuse report arrived for us as a server operator (kept, see `safety.receivedReports`). */
  report: ReceivedReport;
  /** The server operators banned this account; the reason they gave. Reconnecting will fail. */
  banned: { reason: string };
  /**
   * Call signalling arrived (PROTOCOL.md §12.1) from a sender the acceptance rules (§6.7) let
   * through. `stale`: a `call-offer` older than the ringing time (it arrived late, e.g. after the
   * device was offline): not to ring; the engine already wrote the missed-call line.
   */
  call: CallSignal;
  /** A non-fatal problem (bad envelope dropped, listener threw …). */
  error: unknown;
}

/** One call signalling payload as the {@link ClientEvents.call} event carries it. */
export interface CallSignal {
  /** `dm:{user}`, or `group:{id}` for a group call's offer. */
  conversationId: string;
  user: string;
  device: string;
  payload: CallPayload;
  stale: boolean;
}

/**
 * Stable codes of {@link SecurityNotice} (PROTOCOL.md §6.7 "Acceptance rules"):
 * - `UNLISTED_DEVICE`: an envelope claimed a (user, device) the key directory and log do not
 *   vouch for (a forged sender); dropped, nothing stored, no session touched.
 * - `FOREIGN_OWN_DEVICE`: the same, claiming to be one of our own devices.
 * - `HELD_KEY_CHANGE`: a verified contact's identity key changed; their messages under the new
 *   key are held (`count`) until the user accepts it (`trust.acceptKeyChange`).
 * - `GROUP_FORKED`: the key server served a group chain that does not extend ours; frozen.
 * - `FORGED_GROUP_CHANGE`: a membership record that does not verify against our chain; dropped.
 * - `PREKEYS_DRAINED`: our one-time prekeys were claimed unusually fast; replenished.
 * - `SENDER_FLOOD`: more undecryptable envelopes from one sender than its budget; the rest of
 *   the burst was dropped without trying.
 */
export type SecurityNoticeCode =
  | 'UNLISTED_DEVICE'
  | 'FOREIGN_OWN_DEVICE'
  | 'HELD_KEY_CHANGE'
  | 'GROUP_FORKED'
  | 'FORGED_GROUP_CHANGE'
  | 'PREKEYS_DRAINED'
  | 'SENDER_FLOOD'
  /**
   * The key server says a contact we know moved to a new name (a guest's rename, PROTOCOL.md
   * §3.3), but the rename is not signed by the key we trust for them, not in the key log, or
   * the new name belongs to someone else: nothing was moved.
   */
  | 'FORGED_RENAME';

/** A security-relevant event that is shown as a notice, never as a message. */
export interface SecurityNotice {
  code: SecurityNoticeCode;
  /** The user the event is about (the claimed sender; us for own-account notices). */
  user: string;
  /** The device it is about, when there is one. */
  device: string | null;
  /** The conversation it belongs to (`dm:{user}`, `group:{id}`), null for account-wide ones. */
  conversationId: string | null;
  groupId?: string;
  /** How many messages (held, dropped) it stands for, where that is counted. */
  count?: number;
  /** A sentence for people. */
  message: string;
  at: number;
}

/** A remote device as the directory verified it. */
export interface RemoteDevice {
  user: string;
  deviceId: string;
  kind: DeviceKind;
  certificate: DeviceCertificate;
}

/** Everything internal modules share. */
export interface Ctx {
  store: ClientStore;
  http: HttpClient;
  now: () => number;
  random: (n: number) => Uint8Array;
  events: Emitter<ClientEvents>;
  /** Serializes every read-modify-write of session and sender-key state. */
  lock: Mutex;
  /** The loaded account (throws NOT_REGISTERED when absent). */
  account(): AccountRecord;
  /** This device's certificate and keys for crypto. */
  local(): LocalDevice;
  /** Publish bytes at QoS 1 (queued by mqtt.js while offline). */
  publish(topic: string, bytes: Uint8Array): void;
  /** Resolves once every publish made before the call is acknowledged by the broker (or dropped). */
  published(): Promise<void>;
  /** Messages received and not handled yet (inbound.ts): more of a burst is on its way in. */
  inboundBacklog(): number;
  /** Subscribe to a topic at QoS 1 (no-op when already subscribed). */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Tunables (defaults: `DEFAULT_OPTIONS`, api.ts). */
  options: ClientOptionsResolved;
  /** Per-step timing of the live path, when a benchmark asked for it (trace.ts). */
  trace?: Tracer;
}

/** Tunables with defaults. */
export interface ClientOptionsResolved {
  /** One-time prekeys uploaded per batch. */
  oneTimePrekeys: number;
  /** One-time X-Wing prekeys uploaded per batch. */
  oneTimeKemPrekeys: number;
  /** Top up when the server holds fewer than this. */
  prekeyThreshold: number;
  /** Signed prekey rotation period (ms). */
  signedPrekeyMaxAgeMs: number;
  /** How long a fetched device list is reused (ms). */
  directoryTtlMs: number;
  /** Re-send outbox entries older than this on the periodic timer (ms). */
  resendAfterMs: number;
  /** Send delivered receipts automatically. */
  autoDeliveredReceipts: boolean;
  /** Check every fetched device certificate against the key-transparency log. */
  keyTransparency: boolean;
  /**
   * Most received messages processed, stored and acknowledged as one batch (1–1000). A store
   * that commits synchronously (SQLite) pays its commit per batch: the CLI takes
   * `NODE_RECEIVE_BATCH` (inbound.ts, exported by `@sotto/client/node`).
   */
  receiveBatch: number;
}
