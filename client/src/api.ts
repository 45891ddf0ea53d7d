/**
 * The public surface of the client engine (docs/CLIENT.md): the options of `createClient`, its
 * defaults, and the {@link SottoClient} interface the web client, bots, the CLI and the IoT
 * bridge program against. engine.ts implements it; index.ts re-exports it.
 */
import type { DeviceKind, GroupPolicy } from '@sotto/crypto';
import type { DirectoryRoom, HttpClient, HttpClientOptions } from './http.ts';
import type {
  ClientEvents,
  ClientOptionsResolved,
  ConnectionState,
  OwnKeyAlert,
  OwnKeyLogStatus,
} from './internal/context.ts';
import type { TypedEvents } from './internal/emitter.ts';
import type { LoginOptions } from './internal/account.ts';
import type { SecurityApi } from './security-api.ts';
import type {
  CallPayload,
  FileThumbnail,
  Payload,
  PayloadInput,
  FilePayload,
  VoiceNote,
} from './payload.ts';
import type { CallNote } from './internal/apply/call.ts';
import type { CallInput } from './internal/calls.ts';
import type { GroupKeyStatus } from './internal/groups/admin.ts';
import type { CreatedInvite, RoomInvite, RoomPreview } from './internal/groups/rooms.ts';
import type { Linker } from './internal/link.ts';
import type { MqttConnect } from './internal/transport.ts';
import type { ReceivedReport } from './internal/reports.ts';
import type { SentReport } from './internal/safety.ts';
import type { Progress } from './internal/files.ts';
import type { Profile, ProfileInput } from './internal/profiles.ts';
import type { ForwardResult } from './internal/forward.ts';
import type { PinsApi } from './internal/pins.ts';
import type { Tracer } from './internal/trace.ts';
import { INBOUND_BATCH } from './internal/inbound.ts';
import type { ClientStore, ContactRecord, GroupRecord, MessageRecord } from './store/types.ts';
import type { Mention } from './payload.ts';

export type { MqttConnect } from './internal/transport.ts';
export type { Tracer, TraceStep } from './internal/trace.ts';
export type { Progress } from './internal/files.ts';
export type { AvatarInput, Profile, ProfileInput } from './internal/profiles.ts';
export type { ReceivedReport } from './internal/reports.ts';
export type { SentReport } from './internal/safety.ts';
export type { ForwardResult } from './internal/forward.ts';
export { MAX_FORWARD_TARGETS } from './internal/forward.ts';
export type { PinnedMessage, PinNoticeBody, PinsApi } from './internal/pins.ts';
export { MAX_PINS } from './internal/pins.ts';

/** Dependencies and tunables of {@link createClient}. */
export interface CreateClientOptions {
  store: ClientStore;
  /**
   * The key server: connection options (the engine then owns the tokens and
   * refreshes them), or a ready HttpClient whose tokens the caller manages.
   */
  http: HttpClient | Omit<HttpClientOptions, 'getTokens' | 'onTokens'>;
  /** Omit for an engine that only talks HTTP (CLI one-shots that never receive). */
  mqttConnect?: MqttConnect;
  /**
   * Every broker of a cluster, in failover order (`mqtt://b1:1883`, …). The
   * options handed to `mqttConnect` then carry them as mqtt.js `servers`
   * (pass the options through): the engine connects to the first that
   * answers and, on losing it, moves to the next with backoff, keeping its
   * persistent session (docs/CLIENT.md "Brokers and failover").
   */
  brokers?: readonly string[];
  /** Clock (ms). */
  now?: () => number;
  /** Randomness for message ids and group ids. */
  random?: (n: number) => Uint8Array;
  /** Overrides of the defaults in {@link DEFAULT_OPTIONS}. */
  options?: Partial<ClientOptionsResolved>;
  /** Per-step timing of the live path, for benchmarks (internal/trace.ts). */
  trace?: Tracer;
}

/** Default tunables. */
export const DEFAULT_OPTIONS: ClientOptionsResolved = {
  oneTimePrekeys: 50,
  oneTimeKemPrekeys: 10,
  prekeyThreshold: 20,
  signedPrekeyMaxAgeMs: 7 * 24 * 3600 * 1000,
  directoryTtlMs: 60_000,
  resendAfterMs: 30_000,
  autoDeliveredReceipts: true,
  keyTransparency: true,
  receiveBatch: INBOUND_BATCH,
};

/** Who this device is. */
export interface AccountInfo {
  username: string;
  deviceId: string;
  kind: DeviceKind;
}

/** The engine's public surface. */
export interface SottoClient extends TypedEvents<ClientEvents> {
  /** The local database (read messages, conversations, search). */
  readonly store: ClientStore;
  /** The key server client the engine uses. */
  readonly http: HttpClient;
  /** Current account, null before register/login. */
  readonly account: AccountInfo | null;
  readonly connectionState: ConnectionState;

  /** Sign up, then log in and set up this device. */
  register(username: string, password: string, options?: LoginOptions): Promise<AccountInfo>;
  /**
   * Continue as guest (docs/API.md "Guests"): the key server makes a password-less account
   * `guest_xxxxxxxx` and this device is set up for it (new identity key). A guest may join rooms
   * by invite or from the directory and message their members; it cannot create rooms or
   * things, and it expires when left idle (24 h by default). `displayName` goes into the
   * end-to-end encrypted profile. Call on a fresh store.
   */
  continueAsGuest(
    options?: { displayName?: string } & Pick<LoginOptions, 'deviceName' | 'platform'>,
  ): Promise<AccountInfo>;
  /**
   * Make this guest account a full one by setting a password: keys, rooms and history stay;
   * every session ends and this device continues with a new token pair. With `username` the
   * account moves to that name (PROTOCOL.md §3.3): the identity key signs the rename, each room
   * gets our rename record, and contacts move our conversation to the new name. Throws
   * `BAD_INPUT` for a name that is not a valid username (or a guest name), `ApiError`
   * `USERNAME_TAKEN` for a taken or reserved one. Resolves to the account under its name.
   */
  upgradeGuest(password: string, options?: { username?: string }): Promise<AccountInfo>;
  /**
   * Log in (new device: keys created and uploaded; first device: UIK created). With two-factor
   * on, pass `totp` (or `session` for a passkey sign-in); without it the login throws
   * `MfaRequiredError` (code `MFA_REQUIRED`) and nothing is set up.
   */
  login(username: string, password: string, options?: LoginOptions): Promise<AccountInfo>;
  /**
   * The account-security API (two-factor, recovery codes, step-up, passkeys, devices page) on
   * this device's session; throws `NOT_REGISTERED` when this device is not logged in.
   */
  security(): Promise<SecurityApi>;
  /** Log this device out on the server and disconnect. Local state is kept. */
  logout(): Promise<void>;
  /**
   * Change the account password. Every session of the user ends (other devices must log in
   * again; the broker drops every connection of the user); this device adopts the new token
   * pair, persists it, and its MQTT connection comes back with the new token. A wrong current
   * password is `ApiError('INVALID_CREDENTIALS')` and changes nothing.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /**
   * Reset the user identity from this set-up device (the user lost their other devices, or
   * one is not theirs): after checking `password` (a wrong one is
   * `ApiError('INVALID_CREDENTIALS')` and changes nothing) this device becomes a new device
   * (new id) with a new UIK, and the key server removes every other device of the user.
   * Contacts see a key change; pairwise sessions and verification marks start over; the
   * own-key monitor does not report the replaced UIK. Messages and contacts stay. Reconnects
   * if the engine was connected. docs/CLIENT.md "Resetting the identity".
   */
  resetIdentity(password: string): Promise<AccountInfo>;
  /** Load the stored account and connect to the broker; resolves once subscribed (or after the first failure). */
  start(): Promise<void>;
  /** Disconnect and release the store. */
  close(): Promise<void>;

  /** Send text to a conversation (`dm:{user}`, `group:{id}`, or a bare username). */
  sendText(
    to: string,
    text: string,
    options?: { replyTo?: string; mentions?: Mention[] },
  ): Promise<MessageRecord>;
  /** Send any payload kind. Returns the payload as sent. */
  send(to: string, input: PayloadInput): Promise<Payload>;
  react(to: string, target: string, emoji: string | null): Promise<void>;
  /**
   * Replace the text of our own message `target`; `mentions` name members in the new text and
   * replace the old mentions (PROTOCOL.md §12 "Mentions").
   */
  edit(to: string, target: string, text: string, options?: { mentions?: Mention[] }): Promise<void>;
  /**
   * Forward our stored message `messageId` (text, reply or file) to each conversation of `to`, as
   * a new message marked `forwarded` (PROTOCOL.md §12 "Forwarding"); an attachment is uploaded
   * again under a new key per conversation. One result per conversation, in order.
   */
  forward(messageId: string, to: readonly string[]): Promise<ForwardResult[]>;
  /** Pinned messages per conversation (PROTOCOL.md §12 "Pins"). */
  readonly pins: PinsApi;
  deleteForEveryone(to: string, target: string): Promise<void>;
  setTyping(to: string, typing: boolean): Promise<void>;
  /**
   * Mark a conversation read locally and queue `read` receipts for its unread messages: they
   * go out batched with other receipts, within about a second (and on {@link close}).
   */
  markRead(conversationId: string): Promise<void>;
  /**
   * The user listened to the incoming voice note `messageId`: record it on this device (its own
   * address in the record's `status` becomes `played`) and queue a `played` receipt to the
   * sending device (PROTOCOL.md §12 "Voice notes"). Anything but an incoming voice note, or one
   * played before: no-op.
   */
  markPlayed(messageId: string): Promise<void>;
  /**
   * Encrypt, upload and announce a file (with an optional sender-made image or first-frame
   * thumbnail; `voice` makes it a voice note).
   */
  sendFile(
    to: string,
    data: Uint8Array,
    meta: {
      name: string;
      mime: string;
      caption?: string;
      thumbnail?: FileThumbnail;
      voice?: VoiceNote;
      onProgress?: Progress;
    },
  ): Promise<MessageRecord>;
  /** Download, verify and decrypt a file message. */
  downloadFile(message: MessageRecord | FilePayload, onProgress?: Progress): Promise<Uint8Array>;
  /** Watch a user's presence (`presence` events). */
  watchPresence(user: string): void;
  /**
   * Share this account's online / last-seen presence (default) or hide it. Stored by the key
   * server for every device of the account; brokers stop (or resume) publishing it at once.
   */
  setPresenceVisible(visible: boolean): Promise<void>;
  /** Whether this account's presence is shared, as the key server holds it. */
  presenceVisible(): Promise<boolean>;
  /** Re-send everything still waiting for a delivered receipt. */
  flushOutbox(): Promise<number>;
  /**
   * Key upkeep now (also run on every connect and hourly): top up one-time
   * prekeys below the threshold, rotate the signed prekey when it is a week old.
   */
  maintainKeys(): Promise<void>;

  groups: {
    create(name: string, members: string[]): Promise<string>;
    add(groupId: string, user: string): Promise<void>;
    remove(groupId: string, user: string): Promise<void>;
    promote(groupId: string, user: string): Promise<void>;
    /** Take admin rights away (the group must keep at least one admin). */
    demote(groupId: string, user: string): Promise<void>;
    leave(groupId: string): Promise<void>;
    /** Stored groups; `frozen` is set on one whose chain the key server forked or rolled back (sending refused: GROUP_FROZEN). */
    list(): Promise<GroupRecord[]>;
    /** Fetch and verify the chain from the key server now. */
    refresh(groupId: string): Promise<GroupRecord | null>;
    /**
     * Members whose identity key recorded in the group is not the one this device trusts (they
     * reset their identity), whether our own recorded key is the replaced one (`selfStale`),
     * and whether any admin can still re-key. Looks the members' keys up unless `lookup: false`.
     */
    keyStatus(groupId: string, options?: { lookup?: boolean }): Promise<GroupKeyStatus>;
    /**
     * Admin: remove and re-add a member whose identity key changed, with the key this device
     * trusts now (promoted again if they were admin). Done automatically for contacts whose new
     * key was adopted on first use; a verified contact's new key must be accepted first
     * (KEY_CHANGED). Also REKEY_PENDING, NOT_ADMIN, NOT_MEMBER, NO_KEY_CHANGE.
     */
    rekey(groupId: string, user: string): Promise<void>;
    /**
     * Admin: set the join policy (`admins-add`, `invite`, `open`), announcement-only, directory
     * listing and topic (PROTOCOL.md §8.1 `policy`); fields not given keep their value.
     */
    setPolicy(groupId: string, patch: Partial<GroupPolicy>): Promise<GroupPolicy>;
    /**
     * Admin: make an invite (default: 7 days, no use limit); switches an `admins-add` group to
     * `invite`. The secret goes into the link ({@link inviteLink}) and is never stored.
     */
    createInvite(
      groupId: string,
      options?: { expiresInMs?: number; maxUses?: number },
    ): Promise<CreatedInvite>;
    /** The group's invites from the verified chain, newest first. */
    listInvites(groupId: string): Promise<RoomInvite[]>;
    /** Admin: revoke an invite by its id. */
    revokeInvite(groupId: string, id: string): Promise<void>;
    /** Name, topic and member count of a room we may join, from its chain verified here. */
    preview(groupId: string, secret?: Uint8Array): Promise<RoomPreview>;
    /**
     * Join an `open` room, or an `invite` room with the invite's secret (a self-signed `join`
     * record). Messages sent before the join cannot be read. Key server errors: INVITE_EXPIRED,
     * INVITE_REVOKED, INVITE_USED_UP, INVITE_INVALID, INVITE_REQUIRED, JOIN_NOT_ALLOWED.
     */
    join(groupId: string, secret?: Uint8Array): Promise<void>;
    /** The public directory of open rooms (search in name and topic). */
    directory(query?: string, limit?: number): Promise<DirectoryRoom[]>;
  };

  /**
   * Profiles (PROTOCOL.md §12 "Profiles", docs/CLIENT.md "Profiles"): display name and picture,
   * end-to-end encrypted; the key server holds only the picture's ciphertext.
   */
  profile: {
    /** Our own profile, null when never set. */
    get(): Promise<Profile | null>;
    /**
     * Change our profile (absent keeps a field, `null` removes it) and send it to every contact,
     * every member of our groups and our own other devices. The name is cleaned (controls and
     * bidi/format characters removed, white space collapsed); BAD_INPUT when over 64 characters
     * after that, or for a picture that is not JPEG/WebP/PNG, over 128 KiB or over 512 px a side.
     * Later, it follows our first message into a new conversation and goes to members who join
     * our groups.
     */
    set(input: ProfileInput): Promise<Profile>;
    /** The profile of `user` as received from them (ours for our name); null when none. */
    of(user: string): Promise<Profile | null>;
    /**
     * The picture of `user`, downloaded, verified against its digest and decrypted; null when
     * they have none. The bytes are the sender's claim: check the image format before decoding.
     */
    avatar(user: string): Promise<Uint8Array | null>;
  };

  /**
   * Call signalling (PROTOCOL.md §12.1), end-to-end encrypted and sent to one device at a time;
   * incoming signalling arrives as `call` events. The media itself is the application's
   * (WebRTC in the web client, docs/WEB.md "Calls").
   */
  calls: {
    /** Devices of `user` to ring (verified like any recipient list), without this one. */
    devices(user: string): Promise<string[]>;
    /** Send one signalling payload to one device of `user` (not stored, not acknowledged). */
    send(user: string, device: string, input: CallInput): Promise<CallPayload>;
    /** Write the call's timeline line (one per call: `call-{callId}`) and emit it. */
    note(conversationId: string, note: CallNote): Promise<void>;
  };

  /** Plain MQTT of this user's IoT things (DESIGN.md §5.4): not encrypted, ACL-scoped to the owner. */
  things: {
    /** Subscribe to `iot/{me}/{thing}/#`; messages arrive as `iot` events. */
    watch(thing: string): void;
    /** Publish plain bytes on `iot/{me}/{thing}/{subtopic}` (e.g. `cmd`). */
    publish(thing: string, subtopic: string, payload: Uint8Array | string): void;
  };

  /**
   * Linking a second device of the same user (PROTOCOL.md §13). New device:
   * `begin(username, password)` shows a code and resolves `linked` once the
   * existing device approved it. Existing device (started): `approve(code)`
   * resolves once the new device's certificate is published.
   */
  link: Linker;

  trust: {
    /** 60-digit safety number with `user`. */
    safetyNumber(user: string): Promise<string>;
    setVerified(user: string, verified: boolean): Promise<void>;
    /**
     * Accept a changed identity key: unblocks sending, and the messages held since the key
     * changed (a verified contact's, PROTOCOL.md §6.7) are stored and shown, in arrival order.
     */
    acceptKeyChange(user: string): Promise<void>;
    /**
     * How many messages from `user` are held: they came under a verified contact's new identity
     * key that is not accepted yet (`securityNotice` HELD_KEY_CHANGE). Compare the new safety
     * number, then {@link acceptKeyChange} releases them.
     */
    held(user: string): Promise<number>;
    contact(user: string): Promise<ContactRecord | null>;
    /** Re-fetch a user's keys now (detects key changes). */
    refresh(user: string): Promise<void>;
    /**
     * Monitor our own key-log entries now (also on every connect, on control
     * notices about our devices, and hourly): bindings under our username that
     * this account did not make, each also raised as an `ownKeyAlert` event.
     */
    checkOwnKeys(): Promise<OwnKeyAlert[]>;
    /**
     * What the own-key monitor has checked so far, as it stored it: key-log entries read, when
     * the last run that read new ones finished, and how many were not this account's (each also
     * an `ownKeyAlert` when found). Updated by each run that reads new entries, which then
     * emits `ownKeyLogChecked` with the same status. All zero and null without key transparency.
     */
    ownKeyLog(): Promise<OwnKeyLogStatus>;
  };

  /** Blocking and abuse reports (issue 17, docs/CLIENT.md "Blocking and reports"). */
  safety: {
    /**
     * Block `user`: the brokers drop their DMs to us (they are not told), and every device of
     * ours drops their messages, reactions, typing and group notices. Returns the block list.
     */
    block(user: string): Promise<string[]>;
    unblock(user: string): Promise<string[]>;
    /** The block list as last loaded (at start, on change, on the key server's notice). */
    blocked(): string[];
    isBlocked(user: string): boolean;
    /**
     * Report messages of one other user in a conversation: the messages as shown here, with
     * their sender and timestamps, go end-to-end encrypted to the server operators' devices;
     * the key server only records who reported whom, where and when.
     */
    report(conversationId: string, messageIds: string[], note?: string): Promise<SentReport>;
    /** Reports received by this device (operators), newest first. */
    receivedReports(): Promise<ReceivedReport[]>;
  };
}
