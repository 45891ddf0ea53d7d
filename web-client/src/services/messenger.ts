/**
 * The contract between the web client's views and the messaging engine.
 *
 * Components never talk to `@sotto/client` directly: they see this small interface, which the
 * adapter in `engine-adapter.ts` implements on the real engine. Everything the server must
 * not read (message text, reactions, receipts, typing) travels encrypted inside the engine;
 * this layer only deals in decrypted, display-ready values. Features the engine cannot do yet
 * are reported as missing in {@link MessengerService.capabilities} and the UI disables them.
 */
import type { SecurityApi } from '@sotto/client';
import type { ModerationPort } from './moderation.ts';
import type { GuestPort } from './guest-port.ts';
import type { InvitePort } from './invites.ts';
import type { ProfilePort } from './profiles.ts';
import type { PinsPort } from './pins-forward.ts';
import type { PushPort } from './app-worker.ts';
import { dmConversation, groupConversation, parseConversation } from '@sotto/crypto/wire';
import type { CallInput, CallNote, CallSignal } from '@sotto/client';
import type {
  ClientStore,
  FileThumbnail,
  MessageRecord,
  SecurityNoticeCode,
  VoiceNote,
} from './engine-types.ts';
import type { Mention } from './mentions.ts';

/** `dm:{username}` for a direct conversation, `group:{groupId}` for a group. */
export type ConversationId = string;

/** One room of the public directory ({@link MessengerService.exploreRooms}). */
export interface DirectoryRoomInfo {
  groupId: string;
  name: string;
  topic: string;
  memberCount: number;
}

/** A room before joining it ({@link MessengerService.previewInvite}). */
export interface RoomPreviewInfo {
  groupId: string;
  name: string;
  topic: string;
  memberCount: number;
  /** Already a member. */
  member: boolean;
}

/** Build the conversation id of a DM with `username` (the wire contract's `dmConversation`). */
export const dmId: (username: string) => ConversationId = dmConversation;
/** Build the conversation id of a group (the wire contract's `groupConversation`). */
export const groupConversationId: (groupId: string) => ConversationId = groupConversation;

/**
 * Split a conversation id into its kind and the peer username or group id; a bad id throws the
 * wire contract's `WireError` `BAD_CONVERSATION_ID`.
 */
export function parseConversationId(id: ConversationId): { kind: 'dm' | 'group'; ref: string } {
  const c = parseConversation(id);
  return c.type === 'dm' ? { kind: 'dm', ref: c.user } : { kind: 'group', ref: c.groupId };
}

/** The signed-in device. */
export interface Account {
  username: string;
  deviceId: string;
}

/** State of the link to the broker, shown in the header. */
/**
 * `signed-out`: this browser's session was ended elsewhere (password change, device removed);
 * `removed`: the account's owner removed this device on the devices page (issue 19).
 */
export type ConnectionState =
  'offline' | 'connecting' | 'online' | 'reconnecting' | 'unreachable' | 'signed-out' | 'removed';

/** Outgoing message progress: local outbox → broker → recipient device → read (→ played, voice notes). */
export type DeliveryStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed';

/** What the engine tells the UI. One union, each member documented with who causes it. */
export type MessengerEvent =
  /**
   * The engine wrote to local history (new message, receipt, reaction, edit, delete) in these
   * conversations. `incoming` lists new messages from others, for notifications and unread.
   * `added`: the change is only these newly stored messages (an open conversation appends
   * them instead of re-reading its rows); `unreadOnly`: only unread marks changed (nothing a
   * message row shows).
   */
  | {
      type: 'history';
      conversationIds: ConversationId[];
      incoming?: {
        conversationId: ConversationId;
        id: string;
        sender: string;
        preview: string;
        /** The sender's clock when they sent it (the message's timestamp). */
        at: number;
        /** Users the message mentions (members only; PROTOCOL.md §12 "Mentions"). */
        mentioned?: string[];
      }[];
      added?: MessageRecord[];
      unreadOnly?: boolean;
    }
  /** A peer started or stopped typing; `at` is the sender's clock when they sent it. */
  | { type: 'typing'; conversationId: ConversationId; sender: string; typing: boolean; at: number }
  /** A user's presence changed (retained presence topic). */
  | { type: 'presence'; username: string; online: boolean; lastSeen?: number }
  /** A contact's identity key differs from the one we knew. */
  | { type: 'keyChange'; username: string; wasVerified: boolean }
  /**
   * The key-transparency log lists a binding under our own username that this account did not
   * make (the engine's `ownKeyAlert`). Already kept in the store when this is emitted.
   */
  | { type: 'ownKeyAlert'; alert: OwnKeyAlertNotice }
  /** The own-key monitor checked new key-log entries (the engine's `ownKeyLogChecked`). */
  | { type: 'ownKeyLog'; status: OwnKeyLogInfo }
  /** This account's block list changed (here or on another of its devices). */
  | { type: 'blocks'; blocked: string[] }
  /** A group's verified membership changed (we may have been added or removed). */
  | { type: 'groupChange'; groupId: string; removed: boolean }
  /** A user's profile (display name, picture) changed; ours too, set here or elsewhere. */
  | { type: 'profile'; username: string }
  /**
   * Something security-relevant happened that is not a message (the engine's `securityNotice`):
   * a forged sender dropped, messages of a verified contact held, a group frozen, prekeys
   * drained, a flood of undecryptable envelopes. Shown as a notice, never as a message bubble.
   */
  | { type: 'securityNotice'; notice: SecurityNoticeInfo }
  /** Connection to the broker changed. */
  | { type: 'connection'; state: ConnectionState; detail?: string };

/**
 * A key-log entry under our own username that none of this account's devices made: someone
 * (or the key server itself) registered a device or an identity key as us.
 */
export interface OwnKeyAlertNotice {
  /**
   * `foreignIdentityKey`: an identity key that is not ours (a forged identity, or a reset made
   * on another device); `badCertificate`: a device certificate our identity key never signed.
   */
  reason: 'foreignIdentityKey' | 'badCertificate';
  /** Index of the entry in the key-transparency log. */
  logIndex: number;
  /** The identity key of the entry (base64url). */
  uik: string;
  /** The device the entry's certificate names; null for an identity key alone. */
  deviceId: string | null;
  /** When this browser noticed it (ms since the Unix epoch); the log keeps no time. */
  seenAt: number;
}

/**
 * What the own-key monitor has checked, as the engine stored it (`trust.ownKeyLog()`): how
 * many key-log entries, when the last new ones were read, and how many were not this account's.
 */
export interface OwnKeyLogInfo {
  checkedEntries: number;
  /** ms since the Unix epoch; null: no entry checked yet. */
  checkedAt: number | null;
  unexpected: number;
}

/** Stable codes of a {@link SecurityNoticeInfo}: the engine's (docs/SECURITY.md, PROTOCOL.md §6.7). */
export type { SecurityNoticeCode };

/** A security notice as the engine reports it. */
export interface SecurityNoticeInfo {
  code: SecurityNoticeCode;
  /** The user it is about (the claimed sender; ourselves for own-account notices). */
  user: string;
  /** The device it is about, when there is one. */
  device: string | null;
  /** The conversation it belongs to; null for account-wide notices. */
  conversationId: ConversationId | null;
  groupId?: string;
  /** Messages held or dropped, where the engine counts them. */
  count?: number;
  /** When it happened (ms since the Unix epoch). */
  at: number;
}

/** Why a group is frozen: its history was rewritten (`forked`) or served older (`rolled-back`). */
export type GroupFrozenReason = 'forked' | 'rolled-back';

/** One member of a group as the verified membership chain says. */
export interface GroupMember {
  username: string;
  admin: boolean;
  kind?: 'user' | 'bot' | 'bridge';
}

/**
 * How a group's recorded identity keys compare with the keys this device trusts (after someone
 * reset their identity, the group still knows them by the old key until an admin re-adds them).
 */
export interface GroupKeys {
  /** Our own identity reset left the group with our old key: waiting for an admin to re-add us. */
  selfStale: boolean;
  /** We are an admin with a current key and can re-add changed members. */
  canRekey: boolean;
  /** No admin with a current key is left: nobody can re-add anyone. */
  noAdmin: boolean;
  /** Other members whose key changed; `awaitingAcceptance`: a verified contact's new key is not accepted yet. */
  changed: { username: string; admin: boolean; awaitingAcceptance: boolean }[];
}

/** A group's current verified state. */
export interface GroupInfo {
  groupId: string;
  name: string;
  members: GroupMember[];
}

/** Safety number and QR payload for the pair (me, peer). */
export interface SafetyInfo {
  /** 60 digits, no spaces. */
  digits: string;
  /** Text to render as a QR code for the peer to scan. */
  qrPayload: string;
  verified: boolean;
}

/** A device of the signed-in user. */
export interface DeviceInfo {
  deviceId: string;
  kind: 'user' | 'bot' | 'bridge';
  current: boolean;
  issuedAt?: number;
}

/** Engine features the UI may offer; anything absent is disabled in the UI, never faked. */
export type Capability =
  | 'groups'
  | 'files'
  | 'reactions'
  | 'edit'
  | 'delete'
  | 'receipts'
  | 'typing'
  | 'presence'
  | 'safety'
  | 'devices'
  | 'link-device'
  /** Hide or show this account's presence (held by the key server, enforced by the brokers). */
  | 'hide-presence'
  /** Change the account password (every other device is signed out). */
  | 'change-password'
  /** Reset the user identity key (lost devices): a new key, every other device removed. */
  | 'reset-identity'
  /** Voice and video calls (WebRTC, signalling end-to-end encrypted). */
  | 'calls'
  /** App lock: the local database sealed under a passphrase, asked for on open and when idle. */
  | 'app-lock';

/** The app lock of this browser's account. */
export interface AppLockState {
  enabled: boolean;
  /** Seconds without input after which the app locks itself. */
  idleSeconds: number;
}

/** Progress of first-run key setup and login (0..1 plus a human label). */
export type ProgressFn = (label: string, fraction: number) => void;

/** Error raised by the messenger with a stable code the views translate into words. */
export class MessengerError extends Error {
  override readonly name = 'MessengerError';
  constructor(
    readonly code:
      | 'USERNAME_TAKEN'
      | 'BAD_CREDENTIALS'
      /** The password was right; the account has two-factor on: log in again with the code. */
      | 'MFA_REQUIRED'
      /** A wrong, expired or already used two-factor code. */
      | 'BAD_MFA_CODE'
      /** The action needs the password again (step-up). */
      | 'REAUTH_REQUIRED'
      /** The user cancelled the passkey prompt, or it timed out (nothing changed). */
      | 'PASSKEY_CANCELLED'
      /** The passkey is not registered, is another account's, or is registered already. */
      | 'PASSKEY_INVALID'
      | 'UNREACHABLE'
      | 'INVALID_USERNAME'
      | 'WEAK_PASSWORD'
      | 'NO_SUCH_USER'
      | 'NOT_AUTHORIZED'
      | 'RATE_LIMITED'
      | 'UNSUPPORTED'
      | 'LINK_REQUIRED'
      | 'BAD_CODE'
      | 'LINK_EXPIRED'
      /** The local database is locked by the app lock: unlock it with its passphrase. */
      | 'LOCKED'
      /** The passphrase does not unlock the local database (nothing changed). */
      | 'BAD_PASSPHRASE'
      /** Guest accounts may not do this (create rooms, reach strangers; docs/API.md "Guests"). */
      | 'GUEST_NOT_ALLOWED'
      | 'FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The account-security API of `messenger`'s signed-in device, for the settings views; rejects
 * UNSUPPORTED while no messenger is there yet.
 */
export function securityOf(messenger: MessengerService | undefined): Promise<SecurityApi> {
  if (messenger === undefined)
    return Promise.reject(new MessengerError('UNSUPPORTED', 'not signed in'));
  return messenger.security();
}

/** A link in progress on a new browser of an existing account (PROTOCOL.md §13). */
export interface LinkOffer {
  /** The code to show as text and as a QR code. */
  code: string;
  /** When the code stops working (ms since the Unix epoch). */
  expiresAt: number;
  /**
   * Resolves signed in once the other device approved and the copied message history is
   * stored; rejects LINK_EXPIRED or FAILED.
   */
  linked: Promise<Account>;
  /** What became of the message history the other device sent (settles with `linked`). */
  history: Promise<LinkHistory>;
  /** Follow the import of the copied history: messages stored so far of `total`. */
  onHistoryProgress(listener: (done: number, total: number) => void): void;
  /** Stop waiting. */
  cancel(): void;
}

/** The message history copied to a newly linked browser (PROTOCOL.md §13 "History"). */
export type LinkHistory =
  /** The other device sent none (the user unticked "Copy message history", or it had none). */
  | { status: 'none' }
  /** `imported` messages stored; `omitted` older ones did not fit the export's size bound. */
  | { status: 'imported'; imported: number; omitted: number }
  /** Linked, but the history could not be imported (`message` says why). */
  | { status: 'failed'; message: string };

/** The outcome of approving a link on the device that had the keys. */
export interface LinkApproval {
  deviceId: string;
  /** Messages sent along and older ones left out; null when no history was copied. */
  history: { count: number; omitted: number } | null;
  /** Why the history could not be sent, when it was meant to be (the device is linked). */
  historyError?: string;
}

/** A call signalling payload the engine received (the engine's `call` event). */
export type { CallSignal, CallInput, CallNote } from '@sotto/client';

/**
 * Call signalling for the call manager (`call-manager.ts`, capability `calls`): end-to-end
 * encrypted payloads to one device at a time (PROTOCOL.md §12.1), the ICE servers the key server
 * names, and the call lines of the timeline. The media never passes through here.
 */
export interface CallSignalling {
  /** Devices of `user` to ring (verified through the key directory), without this one. */
  devices(user: string): Promise<string[]>;
  send(user: string, device: string, input: CallInput): Promise<void>;
  /** Write a call's timeline line (missed, ended, declined, unanswered). */
  note(conversationId: ConversationId, note: CallNote): Promise<void>;
  /** Listen to incoming signalling; returns the function that stops it. */
  onSignal(listener: (s: CallSignal) => void): () => void;
  /** ICE servers for a new call: the configured ones plus fresh TURN credentials, if offered. */
  iceServers(): Promise<RTCIceServer[]>;
  /** Members of a group (verified chain), for a group call. */
  groupMembers(groupId: string): Promise<string[]>;
}

/** Options for sending a text. */
export interface SendOptions {
  replyTo?: string;
  /** The members the text names (PROTOCOL.md §12 "Mentions"). */
  mentions?: Mention[];
}

/** What the views need from the engine. Implemented by `EngineMessenger`. */
export interface MessengerService {
  readonly capabilities: ReadonlySet<Capability>;
  readonly account: Account | null;
  readonly connection: ConnectionState;

  /**
   * The engine's local store (after sign-in): the views read history only through its
   * `ClientStore` interface, never the database behind it.
   */
  local(): { store: ClientStore };

  /**
   * Resume the session stored on this browser, if any. LOCKED: the app lock is on and no
   * `passphrase` was given; BAD_PASSPHRASE: a wrong one (nothing changed, ask again).
   */
  resume(passphrase?: string): Promise<Account | null>;
  /** The app lock of the signed-in account on this browser (capability `app-lock`). */
  appLock(): Promise<AppLockState>;
  /**
   * Turn the app lock on (`current` undefined, `next` the new passphrase), change its
   * passphrase, or turn it off (`next` undefined). BAD_PASSPHRASE: `current` is wrong, nothing
   * changed. The history is not re-encrypted: only the key that protects it is re-wrapped.
   */
  setAppLock(current: string | undefined, next: string | undefined): Promise<void>;
  /** Lock after this many seconds without input (while the app lock is on). */
  setIdleLock(seconds: number): Promise<void>;
  /** Lock now: stop the engine and close the database; {@link resume} with the passphrase reopens. */
  lock(): Promise<void>;
  /** The account whose data on this browser {@link resume} would open (the lock screen names it). */
  lockedAccount(): string | null;
  /**
   * "Forgot the passphrase": delete the locked account's keys and history on this browser (they
   * cannot be opened without it) and forget the account here. The account itself stays; logging
   * in again needs a link from another device (or an identity reset), as on any new browser. The
   * old device stays in the account's device list until it is removed from another device (its
   * tokens are sealed under the lost passphrase).
   */
  forgetLocked(): Promise<void>;
  /**
   * Continue as guest (docs/WEB.md "Guests"): the key server makes a password-less `guest_…`
   * account signed in on this browser; keys are generated and uploaded, then it connects.
   * UNSUPPORTED: the server offers no guest accounts.
   */
  continueAsGuest(progress?: ProgressFn): Promise<Account>;
  /** Whether the signed-in account is a guest, and its upgrade (services/guests.ts). */
  readonly guests: GuestPort;
  /** Create the account, generate and upload keys, connect. */
  signUp(username: string, password: string, progress?: ProgressFn): Promise<Account>;
  /** Log in (a new device on this browser when none is stored), connect. */
  logIn(username: string, password: string, progress?: ProgressFn, totp?: string): Promise<Account>;
  /**
   * Sign in with a passkey (docs/WEB.md "Passkeys"). Alone, the passkey names the account and
   * stands for both factors; `after` a password that logIn answered with MFA_REQUIRED, it is
   * the second factor (a passkey of another account is PASSKEY_INVALID). PASSKEY_CANCELLED when
   * the user closed the prompt. A new browser still needs a link (LINK_REQUIRED), as with the
   * password.
   */
  logInWithPasskey(
    progress?: ProgressFn,
    after?: { username: string; password: string },
  ): Promise<Account>;
  /**
   * The account-security API (two-factor, recovery codes, step-up, passkeys, the devices page)
   * of the signed-in device.
   */
  security(): Promise<SecurityApi>;
  /**
   * This browser, for an account whose keys live on another device (logIn failed with
   * LINK_REQUIRED): show a link code for that device to approve (capability `link-device`).
   */
  beginLink(username: string, password: string): Promise<LinkOffer>;
  /**
   * On a signed-in device: link the device that shows `code`, with the message history
   * unless `history` is false.
   */
  approveLink(code: string, options?: { history?: boolean }): Promise<LinkApproval>;
  /** Log this device out; with `wipe`, delete every local key and message. */
  logOut(options: { wipe: boolean }): Promise<void>;
  /**
   * Change the account password (capability `change-password`). This browser stays signed in
   * with new tokens; every other device of the account is signed out and must log in again.
   * BAD_CREDENTIALS: wrong current password (nothing changed); WEAK_PASSWORD: the server refused
   * the new one (under 8 characters).
   */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /**
   * Reset the identity from this signed-in browser (capability `reset-identity`): after the
   * password is checked (BAD_CREDENTIALS: wrong, nothing changed) this browser gets a new
   * identity key and a new device id, every other device of the account is removed and signed
   * out, contacts see a key change and every verification mark (theirs and ours) is cleared.
   * Messages and contacts on this browser stay. Resolves with the new account.
   */
  resetIdentity(password: string): Promise<Account>;
  /**
   * Log in on this browser with a new identity key (after logIn failed with LINK_REQUIRED and
   * the user has no other device to link from; capability `reset-identity`): the same
   * consequences as {@link resetIdentity}.
   */
  logInWithNewIdentity(username: string, password: string, progress?: ProgressFn): Promise<Account>;

  /** Subscribe to engine events; returns the unsubscribe function. */
  subscribe(listener: (event: MessengerEvent) => void): () => void;

  /** Check that `username` exists and has keys; returns the DM conversation id. */
  startDm(username: string): Promise<ConversationId>;
  /** Create a group with a signed genesis record; returns its conversation id. */
  createGroup(name: string, members: string[]): Promise<ConversationId>;
  groupInfo(groupId: string): Promise<GroupInfo>;
  addMember(groupId: string, username: string): Promise<void>;
  removeMember(groupId: string, username: string): Promise<void>;
  setAdmin(groupId: string, username: string, admin: boolean): Promise<void>;
  leaveGroup(groupId: string): Promise<void>;
  /** Identity-key state of the group; `lookup` re-reads the members' keys (default true). */
  groupKeys(groupId: string, options?: { lookup?: boolean }): Promise<GroupKeys>;
  /** Admin: re-add a member whose identity key changed, with the new key. */
  rekeyMember(groupId: string, username: string): Promise<void>;
  /** The room an invite link (`…#/join/<group>/<secret>`) leads to, its chain verified here. */
  previewInvite(link: string): Promise<RoomPreviewInfo>;
  /** Join the room of an invite link; returns its conversation id. */
  joinByInvite(link: string): Promise<ConversationId>;
  /** The server's public directory of open rooms, searched by name and topic. */
  exploreRooms(query: string): Promise<DirectoryRoomInfo[]>;
  /** Join an open room from the directory; returns its conversation id. */
  joinOpenRoom(groupId: string): Promise<ConversationId>;

  /**
   * Encrypt and send; resolves once the message is in the local outbox, after a `history` event
   * whose `added` holds it as stored (the views append it without re-reading).
   */
  sendText(
    conversationId: ConversationId,
    text: string,
    options?: SendOptions,
  ): Promise<{ id: string; sentAt: number }>;
  /**
   * Encrypt, upload and send a file; `progress` gets 0..1 of the upload. An image may carry a
   * sender-made `thumbnail` (see `thumbnail.ts`) that receivers show before downloading it.
   */
  sendFile(
    conversationId: ConversationId,
    file: File,
    progress?: (fraction: number) => void,
    thumbnail?: FileThumbnail,
    voice?: VoiceNote,
  ): Promise<{ id: string; sentAt: number }>;
  /** Download and decrypt the attachment of a `file` message. */
  downloadFile(message: MessageRecord, progress?: (fraction: number) => void): Promise<Blob>;
  react(
    conversationId: ConversationId,
    targetId: string,
    emoji: string,
    remove: boolean,
  ): Promise<void>;
  /** Replace our message's text; `mentions` name members in the new text (they replace the old). */
  edit(
    conversationId: ConversationId,
    targetId: string,
    text: string,
    mentions?: Mention[],
  ): Promise<void>;
  deleteForEveryone(conversationId: ConversationId, targetId: string): Promise<void>;
  /** Send read receipts for these incoming messages (no-op when receipts are off). */
  markRead(conversationId: ConversationId, messages: { id: string; sender: string }[]): void;
  /**
   * The user played the incoming voice note `messageId`: remember it on this browser and send a
   * `played` receipt to its sender (only the local mark when read receipts are off).
   */
  markPlayed(messageId: string): void;
  setTyping(conversationId: ConversationId, typing: boolean): void;

  safety(username: string): Promise<SafetyInfo>;
  /** Compare a scanned/pasted QR payload with ours; marks verified when they match. */
  verifyScanned(username: string, payload: string): Promise<boolean>;
  setVerified(username: string, verified: boolean): Promise<void>;
  /**
   * Accept a changed key of a contact (clears the blocking banner); messages held because of
   * the change are released and arrive as ordinary history.
   */
  acceptKeyChange(username: string): Promise<void>;
  /** How many messages from `username` are held until their new key is accepted. */
  heldMessages(username: string): Promise<number>;
  /** What the own-key monitor has checked so far (updated live by `ownKeyLog` events). */
  ownKeyLog(): Promise<OwnKeyLogInfo>;

  /**
   * Apply privacy settings: read receipts are local to this browser; `shareLastSeen` is stored
   * by the key server for the whole account (capability `hide-presence`).
   */
  setPrivacy(settings: { shareLastSeen: boolean; readReceipts: boolean }): Promise<void>;
  /** Whether the account shares its online / last-seen presence, as the key server holds it. */
  presenceVisible(): Promise<boolean>;
  devices(): Promise<DeviceInfo[]>;
  /** Blocking, reports and the operators' Administration page (services/moderation.ts). */
  readonly moderation: ModerationPort;
  /** Invite links of the groups we administer (services/invites.ts). */
  readonly invites: InvitePort;
  /** Display names and pictures, end-to-end encrypted (services/profiles.ts). */
  readonly profiles: ProfilePort;
  /** Pinned messages and forwarding (services/pins-forward.ts). */
  readonly pins: PinsPort;
  /** Follow these users' presence (a group's members, for its online count); idempotent. */
  watchPresence(usernames: readonly string[]): void;
  /** Call signalling (capability `calls`). */
  readonly callSignalling: CallSignalling;
  /** Wake-up push subscriptions of this device (services/app-worker.ts). */
  readonly push: PushPort;
}
