/**
 * The one storage interface of the client engine (DESIGN.md §5, issue 5).
 *
 * Every store — SQLite for bots (`stores/sqlite.ts`), Dexie/IndexedDB for the
 * browser (`stores/dexie.ts`), in-memory for tests (`stores/memory.ts`) —
 * implements {@link ClientStore} and passes the one abstract suite in
 * `client/test/store.suite.ts`.
 *
 * Writes go through {@link ClientStore.batch}: a list of {@link StoreOp}s
 * applied atomically (all or nothing). The engine uses this to commit a new
 * ratchet state together with the message it decrypted, and the web client to
 * write bursts of thousands of incoming messages in a few transactions. The
 * single-op convenience methods are batches of one.
 *
 * Binary values are `Uint8Array` everywhere; stores persist them losslessly.
 */
import type { ProfileAvatar } from '@sotto/crypto';

/** A public/secret key pair as stored. */
export interface StoredKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Kind of device, mirrored from the device certificate. */
export type StoredDeviceKind = 'user' | 'bot' | 'bridge';

/** This device's account: who we are, our tokens and long-term secrets. */
export interface AccountRecord {
  username: string;
  deviceId: string;
  kind: StoredDeviceKind;
  accessToken: string | null;
  refreshToken: string | null;
  /** The user identity key (Ed25519); present on every device of the user. */
  uik: StoredKeyPair;
  /** This device's Ed25519 signing key. */
  signing: StoredKeyPair;
  /** This device's X25519 identity key. */
  identity: StoredKeyPair;
  /** Encoded device certificate (PROTOCOL.md §3), null until issued. */
  certificate: Uint8Array | null;
  /** When the current signed prekey was made (ms), for weekly rotation. */
  signedPrekeyAt: number;
  createdAt: number;
}

/** Which family a prekey secret belongs to. */
export type PrekeyKind = 'signed' | 'kem' | 'onetime' | 'kem-onetime';

/** One prekey secret held by this device; deleted once a prekey message used it (one-time kinds). */
export interface PrekeySecretRecord {
  kind: PrekeyKind;
  id: number;
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  createdAt: number;
  /** KEM last-resort prekey: never deleted on use. */
  lastResort?: boolean;
}

/** Our own sender key in one group (PROTOCOL.md §8). */
export interface OwnSenderKeyRecord {
  groupId: string;
  keyId: number;
  /** Serialized sender chain state (crypto's encoding). */
  state: Uint8Array;
  /** `user:device` addresses this key was distributed to. */
  distributedTo: string[];
  createdAt: number;
  messageCount: number;
}

/** A sender key received from another member device. */
export interface SenderKeyRecord {
  groupId: string;
  user: string;
  device: string;
  keyId: number;
  /** Serialized receiving chain state. */
  state: Uint8Array;
  createdAt: number;
}

/**
 * Delivery state for one recipient device; only ever moves forward. `played` is for voice notes
 * (PROTOCOL.md §12): the recipient listened to it. On an incoming voice note, the own device's
 * address (`user:device`) set to `played` records that this device played it.
 */
export type ReceiptStatus = 'sent' | 'delivered' | 'read' | 'played';

/** Ordering of {@link ReceiptStatus} values, for monotonic updates. */
export const RECEIPT_ORDER: Readonly<Record<ReceiptStatus, number>> = {
  sent: 0,
  delivered: 1,
  read: 2,
  played: 3,
};

/** A message shown in a conversation (text, file, reply …), decrypted. */
export interface MessageRecord {
  /** `dm:{username}` or `group:{groupId}`. */
  conversationId: string;
  /** Payload message id (22-char base64url of 16 random bytes). */
  id: string;
  sender: string;
  senderDevice: string;
  /** Sender's timestamp (ms). */
  timestamp: number;
  /** When this device stored it (ms). */
  receivedAt: number;
  /** Payload kind (`text`, `file`, `reply`, or an unknown kind kept verbatim). */
  kind: string;
  /** The payload's fields as JSON. `body.text` (if a string) is indexed for search. */
  body: Record<string, unknown>;
  outgoing: boolean;
  /** Incoming and not yet read locally. */
  unread: boolean;
  /** Per recipient device (`user:device`) delivery state, for outgoing messages. */
  status: Record<string, ReceiptStatus>;
  edited: boolean;
  editedAt?: number;
  deleted: boolean;
  /** Reactions: username → emoji. */
  reactions: Record<string, string>;
  /** Sender's device kind, to show a bot/bridge badge. */
  senderKind?: StoredDeviceKind;
}

/** One message waiting for one recipient device's `delivered` receipt. */
export interface OutboxEntry {
  messageId: string;
  /** Recipient user and device (for group messages: each member device). */
  recipient: string;
  recipientDevice: string;
  /** MQTT topic to (re)publish on. */
  topic: string;
  /** Ready envelope bytes to re-publish as is (group messages). */
  envelope?: Uint8Array;
  /** Padded payload plaintext to re-encrypt on resend (pairwise messages). */
  plaintext?: Uint8Array;
  attempts: number;
  createdAt: number;
  lastAttemptAt: number;
}

/** A contact and how much we trust its user identity key. */
export interface ContactRecord {
  username: string;
  /** Trusted UIK (TOFU), null before first contact. */
  uik: Uint8Array | null;
  verified: boolean;
  /** A different UIK seen but not yet accepted; sending is blocked while set for verified contacts. */
  pendingUik: Uint8Array | null;
  /** From the user's own `profile` payload (PROTOCOL.md §12 "Profiles"), cleaned; never an identity. */
  displayName?: string;
  /** Their profile picture's encrypted blob (fetched with `profile.avatar`). */
  avatar?: ProfileAvatar;
  /** Version of the profile held; a received profile replaces it only when higher. */
  profileVersion?: number;
  updatedAt: number;
}

/** A group this device is in. */
export interface GroupRecord {
  groupId: string;
  name: string;
  /** The signed membership chain, encoded records in order. */
  chain: Uint8Array[];
  /** Current members (from the verified chain). */
  members: string[];
  admins: string[];
  updatedAt: number;
  /**
   * The policy the verified chain sets (PROTOCOL.md §8.1 `policy`): join policy,
   * announcement-only, directory listing and topic. Absent in groups stored before issue 17
   * (read as the defaults: admins add, everyone posts).
   */
  policy?: StoredGroupPolicy;
  /**
   * Set when the key server served a chain that does not extend this one (PROTOCOL.md §8.7): a
   * fork, or a rollback below what this device held. A frozen group adopts no chain, sends
   * nothing and hands out no sender key; it stays frozen.
   */
  frozen?: GroupFrozen;
}

/** {@link GroupRecord.policy}. */
export interface StoredGroupPolicy {
  join: 'admins-add' | 'invite' | 'open';
  announce: boolean;
  listed: boolean;
  topic: string;
}

/** Why and when a group was frozen ({@link GroupRecord.frozen}). */
export interface GroupFrozen {
  reason: 'forked' | 'rolled-back';
  at: number;
}

/** A conversation in the list: last activity, unread count and its preview. */
export interface ConversationSummary {
  conversationId: string;
  lastMessageId: string;
  lastTimestamp: number;
  /** Unread incoming messages (records stored with `unread: false`, like timeline notices, never count). */
  unread: number;
  /**
   * The latest record of the conversation by (timestamp, id) — what the list previews. It can be
   * a tombstone or a timeline notice (`kind: 'notice'`); how to show those is the view's call.
   */
  last: MessageRecord;
}

/** A search hit. */
export interface SearchHit {
  message: MessageRecord;
  /** Higher is better. */
  score: number;
}

/** One atomic write. {@link ClientStore.batch} applies a list of them as one transaction. */
export type StoreOp =
  | { op: 'putAccount'; account: AccountRecord }
  | { op: 'putPrekeys'; prekeys: PrekeySecretRecord[] }
  | { op: 'deletePrekey'; kind: PrekeyKind; id: number }
  | { op: 'putSession'; user: string; device: string; state: Uint8Array }
  | { op: 'deleteSession'; user: string; device: string }
  | { op: 'putOwnSenderKey'; record: OwnSenderKeyRecord }
  | { op: 'deleteOwnSenderKey'; groupId: string }
  | { op: 'putSenderKey'; record: SenderKeyRecord }
  /** Delete received sender keys of a group, optionally only one user's (or one device's). */
  | { op: 'deleteSenderKeys'; groupId: string; user?: string; device?: string }
  /** Insert or replace a message (and its search terms). */
  | { op: 'putMessage'; message: MessageRecord }
  /** Move a recipient device's receipt forward (never backward). No-op for unknown messages. */
  | { op: 'setReceipt'; messageId: string; recipient: string; status: ReceiptStatus }
  /** Replace the body of a message (edit), re-indexing its text. */
  | { op: 'editMessage'; messageId: string; body: Record<string, unknown>; editedAt: number }
  /** Delete for everyone: keep a tombstone, drop body and search terms. */
  | { op: 'deleteMessage'; messageId: string }
  /** Set (`emoji`) or clear (`null`) a user's reaction. */
  | { op: 'react'; messageId: string; user: string; emoji: string | null }
  /** Mark all incoming messages of a conversation read locally. */
  | { op: 'markConversationRead'; conversationId: string }
  | { op: 'putOutbox'; entries: OutboxEntry[] }
  /** Remove outbox entries of a message for one recipient device (its delivered receipt came). */
  | { op: 'removeOutbox'; messageId: string; recipient: string; recipientDevice: string }
  /** Record a send attempt. */
  | { op: 'touchOutbox'; messageId: string; recipient: string; recipientDevice: string; at: number }
  | { op: 'markSeen'; ids: string[]; at: number }
  | { op: 'putContact'; contact: ContactRecord }
  | { op: 'putGroup'; group: GroupRecord }
  | { op: 'deleteGroup'; groupId: string }
  | { op: 'setSetting'; key: string; value: unknown }
  | { op: 'deleteSetting'; key: string };

/**
 * A window of a conversation for {@link ClientStore.listMessages}. Messages are ordered by
 * (timestamp, id); the window is every message strictly between `after` and `before`, and the
 * page is `limit` messages taken from one end of it (`from`), after skipping `offset`. Pages
 * are always returned oldest first.
 */
export interface ListMessagesOptions {
  /** Only messages with timestamp strictly before this. */
  before?: number;
  /** Only messages with timestamp strictly after this. */
  after?: number;
  /** At most this many; default 50. */
  limit?: number;
  /**
   * Which end of the window the page starts from: `'newest'` (the default: the latest `limit`,
   * paging backwards with `before`) or `'oldest'` (the earliest, paging forwards with `after`).
   */
  from?: 'newest' | 'oldest';
  /**
   * Messages to skip from that end first (default 0): index-addressed reads for a virtual list
   * (`from: 'oldest', offset: i` is rows `i…i+limit`), and paging past messages that share the
   * boundary millisecond.
   */
  offset?: number;
}

/** A window of a conversation for {@link ClientStore.countMessages} (bounds as in {@link ListMessagesOptions}). */
export interface CountMessagesOptions {
  before?: number;
  after?: number;
}

/** Options for {@link ClientStore.search}. */
export interface SearchOptions {
  limit?: number;
  conversationId?: string;
}

/**
 * The client's local database. All methods are async; writes are atomic per
 * call. Implementations must pass `client/test/store.suite.ts`.
 */
export interface ClientStore {
  /** Apply every op in order, atomically: either all are persisted or none. */
  batch(ops: readonly StoreOp[]): Promise<void>;

  getAccount(): Promise<AccountRecord | null>;
  putAccount(account: AccountRecord): Promise<void>;

  getPrekey(kind: PrekeyKind, id: number): Promise<PrekeySecretRecord | null>;
  listPrekeys(kind: PrekeyKind): Promise<PrekeySecretRecord[]>;

  getSession(user: string, device: string): Promise<Uint8Array | null>;
  /** Devices of `user` we have a session with. */
  listSessionDevices(user: string): Promise<string[]>;

  getOwnSenderKey(groupId: string): Promise<OwnSenderKeyRecord | null>;
  getSenderKey(
    groupId: string,
    user: string,
    device: string,
    keyId: number,
  ): Promise<SenderKeyRecord | null>;

  getMessage(id: string): Promise<MessageRecord | null>;
  /**
   * A page of a conversation, oldest first: by default its latest 50 messages; see
   * {@link ListMessagesOptions} for windows by time in both directions and by position.
   */
  listMessages(conversationId: string, options?: ListMessagesOptions): Promise<MessageRecord[]>;
  /** Number of messages of a conversation (in a window by time), without reading them. */
  countMessages(conversationId: string, options?: CountMessagesOptions): Promise<number>;
  /**
   * Position of a message in its conversation's (timestamp, id) order, 0 for the oldest; -1
   * for an unknown id. With `listMessages(c, { from: 'oldest', offset })` it addresses rows.
   */
  indexOfMessage(id: string): Promise<number>;
  /**
   * The unread incoming messages of a conversation, oldest first. Costs grow
   * with the unread messages only, not with the conversation's length.
   */
  listUnread(conversationId: string): Promise<MessageRecord[]>;
  /**
   * Conversations, most recent activity first, each with its unread count and latest message
   * (the list's preview). Costs grow with the number of conversations, not their length.
   */
  listConversations(): Promise<ConversationSummary[]>;

  /** Outbox entries, oldest first. */
  listOutbox(): Promise<OutboxEntry[]>;

  hasSeen(id: string): Promise<boolean>;
  /**
   * Which of `ids` were seen (one read for a whole batch of received messages: in a browser each
   * read is an IndexedDB round trip, and a burst of thousands must not pay one per message).
   */
  seenAmong(ids: readonly string[]): Promise<Set<string>>;
  /** Forget seen ids recorded before `before` (ms). */
  pruneSeen(before: number): Promise<void>;

  getContact(username: string): Promise<ContactRecord | null>;
  listContacts(): Promise<ContactRecord[]>;

  getGroup(groupId: string): Promise<GroupRecord | null>;
  listGroups(): Promise<GroupRecord[]>;

  getSetting<T = unknown>(key: string): Promise<T | undefined>;
  setSetting(key: string, value: unknown): Promise<void>;

  /**
   * Full-text search over decrypted message text. Every word of the query must
   * match a whole word of the message, except the last which matches as a
   * prefix. Ranked by matching occurrences, then recency.
   */
  search(query: string, options?: SearchOptions): Promise<SearchHit[]>;

  /** Release resources (close the file / database). */
  close(): Promise<void>;
}
