/**
 * The key server's storage contract. One interface, several implementations
 * (SQLite for embedded mode, Redis for cluster mode, memory for tests), all of
 * which pass the same abstract suite in `test/store.suite.ts`.
 *
 * The broker reads the same store for its ACL decisions (the "ACL queries"
 * block below) and listens to {@link AclEvents} so a change made on any key
 * server is enforced by every broker within a second.
 *
 * Binary values (keys, certificates, records) are stored as the canonical
 * encodings from `@sotto/crypto`; the store never parses them.
 */
import type { AclEvent } from '@sotto/crypto/wire';

/** Kind of a device as stated by its certificate; `thing` and `service` never own devices. */
export type DeviceKind = 'user' | 'bot' | 'bridge';

/** An account. */
export interface UserRecord {
  username: string;
  /** Argon2id PHC string. */
  passwordHash: string;
  /** The user identity key (Ed25519 public key), `null` until the first device uploads keys. */
  uik: Uint8Array | null;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** A device of a user, with its published keys once uploaded. */
export interface DeviceRecord {
  username: string;
  deviceId: string;
  kind: DeviceKind;
  /** False after logout or revocation; true again after the next login with that id. */
  active: boolean;
  /** Encoded device certificate, `null` before the first key upload. */
  certificate: Uint8Array | null;
  /** Encoded signed X25519 prekey. */
  signedPrekey: Uint8Array | null;
  /** Encoded last-resort X-Wing prekey. */
  kemPrekey: Uint8Array | null;
  /** Index of the certificate's leaf in the key-transparency log, `null` before upload. */
  logIndex: number | null;
  /** Milliseconds since the epoch of the last key upload (or creation). */
  updatedAt: number;
  /** What the user calls it ("Chrome on Linux" by default, editable); `null` when never named. */
  name: string | null;
  /** What software signed in on it (`web`, `cli`); `null` for devices older than the field. */
  platform: DevicePlatform | null;
  /** Milliseconds since the epoch of the first login with this device id. */
  createdAt: number;
  /** Milliseconds since the epoch of the last login or token refresh. */
  lastActiveAt: number;
}

/** The software a device signed in with (its certificate's kind says user, bot or bridge). */
export type DevicePlatform = 'web' | 'cli';

/** What a login records about the device (docs/API.md "Devices"). */
export interface DeviceLogin {
  /** Default name, kept only while the device has none. */
  name: string;
  platform: DevicePlatform;
  /** Milliseconds since the epoch. */
  at: number;
}

/** The keys a device publishes; `null` fields keep the stored value. */
export interface DeviceKeysUpdate {
  kind: DeviceKind;
  certificate: Uint8Array;
  signedPrekey: Uint8Array | null;
  kemPrekey: Uint8Array | null;
  logIndex: number | null;
}

/** A stored one-time prekey: the id from its encoding plus the encoding itself. */
export interface StoredPrekey {
  id: number;
  data: Uint8Array;
}

/** How many one-time prekeys a device still has on the server. */
export interface PrekeyCounts {
  oneTimePrekeys: number;
  oneTimeKemPrekeys: number;
}

/**
 * What one claim hands out. Each one-time prekey is removed in the same atomic
 * step, so no two callers ever receive the same one.
 */
export interface ClaimedBundle {
  certificate: Uint8Array;
  signedPrekey: Uint8Array;
  /** A one-time X-Wing prekey, or the last-resort one when the batch is empty. */
  kemPrekey: Uint8Array;
  /** True when {@link kemPrekey} is the last-resort prekey. */
  kemLastResort: boolean;
  /** A one-time X25519 prekey, absent when the batch is empty or the claimant's quota is spent. */
  oneTimePrekey: Uint8Array | null;
  /** The device's one-time prekeys left after this claim (the low-water notice reads it). */
  remaining: PrekeyCounts;
}

/**
 * A cap on the one-time prekeys one claiming account may take from one device (issue 14: an
 * account cycling device ids or repeating claims cannot drain a device). Claims beyond it still
 * get a bundle — signed prekey and last-resort KEM prekey, no one-time prekey — so a first
 * message never fails. The window is fixed: it starts at the first counted claim of the pair.
 */
export interface ClaimQuota {
  /** The account that claims (the token's `sub`). */
  claimant: string;
  /** One-time prekeys (either kind counts once per claim) per window; at least 1. */
  max: number;
  /** Window length, ms. */
  windowMs: number;
}

/** A refresh token as stored: only its hash, never the token. */
export interface RefreshTokenRecord {
  /** Hex SHA-256 of the opaque token. */
  tokenHash: string;
  /** Every token issued by rotation from one login shares a family. */
  familyId: string;
  username: string;
  deviceId: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /**
   * Seconds since the epoch of the password login the family started from; every rotation
   * copies it (the access tokens' `auth_time`). Absent on records stored before it existed.
   */
  authTime?: number;
}

/** Outcome of presenting a refresh token. */
export type RefreshUse =
  /** Valid and now marked used: the caller issues the next token of the family. */
  | { status: 'ok'; record: RefreshTokenRecord }
  /** Already used (or its family revoked): a replay — the caller revokes the family. */
  | { status: 'reused'; record: RefreshTokenRecord }
  /** Unknown or expired. */
  | { status: 'unknown' };

/** An access token the server issued, remembered until it expires so it can be revoked. */
export interface IssuedToken {
  jti: string;
  username: string;
  deviceId: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** One member of a group as derived from its verified membership chain. */
export interface GroupMember {
  username: string;
  admin: boolean;
}

/** A group's stored chain head and derived member list. */
export interface GroupRecord {
  groupId: string;
  /** Sequence number of the last record (genesis = 0). */
  seq: number;
  members: GroupMember[];
}

/**
 * What the key server derives from a group's verified chain besides the member list
 * (PROTOCOL.md §8.1 `policy` record): the name (already in the genesis the server stores)
 * and the policy. Rewritten after every accepted record.
 */
export interface GroupInfo {
  name: string;
  topic: string;
  join: 'admins-add' | 'invite' | 'open';
  /** Only admins may publish to the group topic ([ACL-2]). */
  announce: boolean;
  /** The admins asked for a directory listing (shown only while `join` is `open`). */
  listed: boolean;
}

/** One room of the public directory. */
export interface DirectoryEntry {
  groupId: string;
  name: string;
  topic: string;
  memberCount: number;
}

/** An IoT thing registered by a user. */
export interface ThingRecord {
  owner: string;
  thing: string;
  active: boolean;
  createdAt: number;
}

/** Metadata of an uploaded blob (the bytes live on disk). */
export interface BlobRecord {
  /** Content address (hex hash of the ciphertext). */
  id: string;
  owner: string;
  size: number;
  createdAt: number;
}

/**
 * A user's TOTP enrolment (RFC 6238). The secret is sealed by the key server with a key kept
 * apart from the store (docs/SECURITY.md "Two-factor"), so a dump of the store alone cannot
 * compute codes.
 */
export interface TotpRecord {
  /** The sealed secret; the store never opens it. */
  sealedSecret: Uint8Array;
  /** False between enrolment and the confirming code. */
  enabled: boolean;
  /** Highest time step accepted so far (each code is accepted once). */
  lastStep: number;
}

/** A WebAuthn credential (passkey) registered to an account. */
export interface PasskeyRecord {
  /** base64url credential id (unique across accounts). */
  credentialId: string;
  username: string;
  /** COSE public key. */
  publicKey: Uint8Array;
  /** Signature counter last seen (0 for authenticators that keep none). */
  counter: number;
  /** Transport hints the authenticator reported. */
  transports: string[];
  name: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  lastUsedAt: number | null;
}

/** Per-user settings the servers act on (defaults apply until the user changes one). */
export interface UserSettings {
  /**
   * Brokers publish this user's online / last-seen presence (default true). When false they
   * publish none and clear the retained presence (docs/PROTOCOL.md "Presence").
   */
  presenceVisible: boolean;
}

/** Defaults of {@link UserSettings}. */
export const DEFAULT_USER_SETTINGS: Readonly<UserSettings> = Object.freeze({
  presenceVisible: true,
});

/** A ban an operator placed on an account (docs/OPERATIONS.md "Moderation"). */
export interface BanRecord {
  username: string;
  /** The operator who banned. */
  by: string;
  /** Milliseconds since the epoch. */
  at: number;
  /** Shown to the banned user when login is refused; may be empty. */
  reason: string;
}

/** What an operator did, kept in the moderation log. */
export type ModerationAction =
  | 'operator-granted'
  | 'operator-revoked'
  | 'ban'
  | 'unban'
  | 'close-room'
  | 'reopen-room'
  | 'report-dismissed'
  | 'report-actioned';

/** One entry of the moderation log: who did what to whom, when. */
export interface ModerationLogEntry {
  /** Dense sequence number from 1, in the order entries were written. */
  seq: number;
  /** Milliseconds since the epoch. */
  at: number;
  /** The operator (or `console` for the start-up command). */
  actor: string;
  action: ModerationAction;
  /** A username, group id or report id, by action. */
  target: string;
  /** Free text the operator gave (reason), may be empty. */
  detail: string;
}

/**
 * Where a guest account stands (docs/API.md "Guests"): `active` until it upgrades (then it is a
 * full account and has no guest state) or goes idle for longer than the server allows
 * (`expired`: every device deactivated, no way back in, the name never given out again), or
 * moves to a new name (`renamed`: the old name's tombstone, never given out again either).
 */
export type GuestState = 'active' | 'expired' | 'renamed';

/**
 * What a guest's upgrade to a new username writes in one step (docs/API.md "Guests",
 * PROTOCOL.md §3.3). The key server has verified the statement and certificate before.
 */
export interface GuestRenameRequest {
  /** The active guest's name. */
  from: string;
  /** The new name: free, not reserved. */
  to: string;
  passwordHash: string;
  /** The guest's one device, and its certificate for `to`. */
  deviceId: string;
  certificate: Uint8Array;
  /** The rename statement, canonical bytes. */
  statement: Uint8Array;
  /**
   * Key-log leaves appended in this order: the certificate's leaf, the arrival rename leaf
   * (filed under `to`), the tombstone rename leaf (filed under `from`).
   */
  leaves: [certificate: Uint8Array, arrival: Uint8Array, tombstone: Uint8Array];
  at: number;
}

/** A guest's rename as the store keeps it: under both names, for ever. */
export interface GuestRenameRecord {
  from: string;
  to: string;
  statement: Uint8Array;
  /** Log indexes of the arrival leaf (under `to`) and the tombstone leaf (under `from`). */
  arrivalIndex: number;
  tombstoneIndex: number;
  at: number;
}

/** State of a report in the operators' inbox. */
export type ReportStatus = 'open' | 'dismissed' | 'actioned';

/**
 * What the server knows of an abuse report: who reported whom, where and when. The reported
 * messages themselves travel end-to-end encrypted to the operators' devices (PROTOCOL.md
 * "Reports"); the server never sees them.
 */
export interface ReportRecord {
  /** 22-char base64url id chosen by the reporter (the encrypted report carries the same id). */
  id: string;
  reporter: string;
  /** The user whose messages are reported. */
  reported: string;
  /** The room the messages were in, `null` for a DM. */
  groupId: string | null;
  /** Milliseconds since the epoch. */
  at: number;
  status: ReportStatus;
  /** The operator who dismissed or acted on it, `null` while open. */
  handledBy: string | null;
}

/**
 * A device's Web Push subscription (RFC 8030 push resource, RFC 8291 keys), as the browser's
 * `PushSubscription.toJSON()` gives it (docs/API.md "Push subscriptions").
 */
export interface PushSubscriptionRecord {
  /** The push service's URL for this subscription (https). */
  endpoint: string;
  /** The browser's P-256 public key, uncompressed point, base64url (RFC 8291 `ua_public`). */
  p256dh: string;
  /** The 16-byte authentication secret, base64url. */
  auth: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** Everything the key server persists. All methods are async and safe under concurrency. */
export interface Store {
  // ---- accounts ----
  /** Create an account; false when the username is taken. */
  createUser(user: { username: string; passwordHash: string; createdAt: number }): Promise<boolean>;
  getUser(username: string): Promise<UserRecord | null>;
  setPasswordHash(username: string, passwordHash: string): Promise<void>;
  /** Set (or replace) the user's identity key. */
  setUserIdentity(username: string, uik: Uint8Array): Promise<void>;
  /** The user's settings (defaults for fields never set); `null` when no such user. */
  getUserSettings(username: string): Promise<UserSettings | null>;
  /** Change some settings; returns them all after the change, `null` when no such user. */
  updateUserSettings(username: string, patch: Partial<UserSettings>): Promise<UserSettings | null>;

  // ---- two-factor: TOTP, recovery codes, passkeys ----
  getTotp(username: string): Promise<TotpRecord | null>;
  /** Store a (new) sealed secret, pending or enabled; the last accepted step is kept. */
  setTotp(username: string, sealedSecret: Uint8Array, enabled: boolean): Promise<void>;
  /** Forget the TOTP secret (2FA off). */
  deleteTotp(username: string): Promise<void>;
  /**
   * Atomically accept time step `step` when it is above every step accepted before (a code is
   * good once, and an older code never after a newer one); false otherwise or without TOTP.
   */
  useTotpStep(username: string, step: number): Promise<boolean>;
  /** Replace the user's recovery codes by these hashes (an empty list removes them all). */
  setRecoveryCodes(username: string, hashes: string[]): Promise<void>;
  /** Atomically remove one recovery code hash; false when it was not there (unknown or used). */
  useRecoveryCode(username: string, hash: string): Promise<boolean>;
  countRecoveryCodes(username: string): Promise<number>;
  /** Register a passkey; false when the credential id is already registered. */
  addPasskey(passkey: PasskeyRecord): Promise<boolean>;
  getPasskey(credentialId: string): Promise<PasskeyRecord | null>;
  /** The user's passkeys, oldest first. */
  listPasskeys(username: string): Promise<PasskeyRecord[]>;
  /** Rename one of the user's passkeys; false when the user has no such passkey. */
  renamePasskey(username: string, credentialId: string, name: string): Promise<boolean>;
  /** Remove one of the user's passkeys; false when the user has no such passkey. */
  removePasskey(username: string, credentialId: string): Promise<boolean>;
  /** Record a successful assertion: the new counter and when. */
  usePasskey(credentialId: string, counter: number, at: number): Promise<void>;

  // ---- devices and keys ----
  /**
   * Create the device (kind `user`) or mark it active again. A login passes what it knows of
   * the device: the name is set when the device has none, platform and last-active always.
   */
  activateDevice(username: string, deviceId: string, login?: DeviceLogin): Promise<void>;
  /** Rename a device; false when the user has no such device. */
  setDeviceName(username: string, deviceId: string, name: string): Promise<boolean>;
  /** Record activity (token refresh) of an existing device. */
  touchDevice(username: string, deviceId: string, at: number): Promise<void>;
  /** Delete one device and its one-time prekeys (removed by the user); false when absent. */
  removeDevice(username: string, deviceId: string): Promise<boolean>;
  getDevice(username: string, deviceId: string): Promise<DeviceRecord | null>;
  /** All devices of a user, active or not, ordered by device id. */
  listDevices(username: string): Promise<DeviceRecord[]>;
  /** Mark a device inactive and drop its published keys (logout, revocation). */
  deactivateDevice(username: string, deviceId: string): Promise<void>;
  /** Delete every device of the user except `keep`; returns the removed ids (identity reset). */
  removeOtherDevices(username: string, keep: string): Promise<string[]>;
  /** Store the device's certificate and prekeys; `null` prekeys keep the stored ones. */
  setDeviceKeys(username: string, deviceId: string, keys: DeviceKeysUpdate): Promise<void>;
  /**
   * Add one-time prekeys. Ids already stored are replaced. Returns the counts after adding;
   * when a cap is given, the oldest entries beyond it are discarded.
   */
  addOneTimePrekeys(
    username: string,
    deviceId: string,
    prekeys: { x25519: StoredPrekey[]; kem: StoredPrekey[] },
    cap: number,
  ): Promise<PrekeyCounts>;
  /** Drop every one-time prekey of the device (new identity, new keys). */
  clearOneTimePrekeys(username: string, deviceId: string): Promise<void>;
  countOneTimePrekeys(username: string, deviceId: string): Promise<PrekeyCounts>;
  /**
   * Atomically take one one-time prekey of each kind; `null` when the device has no published
   * keys. With a `quota`, a claimant that already took `quota.max` one-time prekeys of this
   * device in the current window gets the bundle without them (nothing is taken or counted).
   */
  claimPrekeyBundle(
    username: string,
    deviceId: string,
    quota?: ClaimQuota,
  ): Promise<ClaimedBundle | null>;

  // ---- tokens ----
  /** Remember an issued access token so logout / password change can revoke it. */
  recordAccessToken(token: IssuedToken): Promise<void>;
  /** Revoke one access token; the revocation is kept until `expiresAt`. */
  revokeToken(jti: string, expiresAt: number): Promise<void>;
  /** Revoke every live access token and refresh family of one device; returns the revoked tokens. */
  revokeDeviceTokens(username: string, deviceId: string): Promise<IssuedToken[]>;
  /** Revoke every live access token and refresh family of a user; returns the revoked tokens. */
  revokeUserTokens(username: string): Promise<IssuedToken[]>;
  putRefreshToken(record: RefreshTokenRecord): Promise<void>;
  /** Atomically mark a refresh token used and say whether it was fresh. */
  useRefreshToken(tokenHash: string, now: number): Promise<RefreshUse>;
  revokeRefreshFamily(familyId: string): Promise<void>;

  // ---- groups ----
  /** Store a verified genesis record; false when the group id exists. */
  createGroup(groupId: string, record: Uint8Array, members: GroupMember[]): Promise<boolean>;
  /**
   * Append a verified record at `seq` (previous seq + 1) and replace the member
   * list; false when another record took that position first (compare-and-set).
   */
  appendGroupRecord(
    groupId: string,
    seq: number,
    record: Uint8Array,
    members: GroupMember[],
  ): Promise<boolean>;
  /** The encoded records in order, `null` when no such group. */
  getGroupChain(groupId: string): Promise<Uint8Array[] | null>;
  getGroup(groupId: string): Promise<GroupRecord | null>;
  /** Replace the derived name and policy of an existing group. */
  setGroupInfo(groupId: string, info: GroupInfo): Promise<void>;
  /** The derived name and policy; `null` when never set (a group before issue 17 or none). */
  getGroupInfo(groupId: string): Promise<GroupInfo | null>;
  /**
   * Listed rooms with policy `open` whose name or topic contains `query` (case-insensitive;
   * empty matches all), most members first, at most `limit`.
   */
  listDirectory(query: string, limit: number): Promise<DirectoryEntry[]>;

  // ---- things ----
  /** Register a thing with the hash of its secret; false when the name is taken by that owner. */
  createThing(thing: {
    owner: string;
    thing: string;
    secretHash: Uint8Array;
    createdAt: number;
  }): Promise<boolean>;
  listThings(owner: string): Promise<ThingRecord[]>;
  /** Revoke a thing; false when no such active thing. */
  revokeThing(owner: string, thing: string): Promise<boolean>;

  // ---- blobs ----
  /** Record blob metadata; false when the id already exists (content-addressed: same bytes). */
  putBlob(blob: BlobRecord): Promise<boolean>;
  getBlob(id: string): Promise<BlobRecord | null>;
  deleteBlob(id: string): Promise<boolean>;

  // ---- key-transparency log ----
  /** Append a leaf (the leaf's bytes); returns its index. Indices are dense from 0. */
  appendLogLeaf(leaf: Uint8Array): Promise<number>;
  logSize(): Promise<number>;
  /** Leaves `[start, end)`. */
  getLogLeaves(start: number, end: number): Promise<Uint8Array[]>;

  // ---- moderation (operators, bans, closed rooms, blocks, reports, log) ----
  /** Grant or take the operator role; false when no such user. */
  setOperator(username: string, operator: boolean): Promise<boolean>;
  isOperator(username: string): Promise<boolean>;
  /** Operators' usernames, sorted. */
  listOperators(): Promise<string[]>;
  /** Ban (a record) or unban (`null`); false when no such user. */
  setBan(username: string, ban: Omit<BanRecord, 'username'> | null): Promise<boolean>;
  /** The ban on `username`, `null` when not banned. */
  getBan(username: string): Promise<BanRecord | null>;
  /** Every ban, newest first. */
  listBans(): Promise<BanRecord[]>;
  /**
   * Close or reopen a group; false when no such group. A closed group keeps its chain, but
   * {@link groupMembers} answers `[]` for it, so every broker refuses its topic.
   */
  setGroupClosed(groupId: string, closed: boolean): Promise<boolean>;
  isGroupClosed(groupId: string): Promise<boolean>;
  /** Ids of closed groups, sorted. */
  listClosedGroups(): Promise<string[]>;
  /** `blocker` blocks (`true`) or unblocks `blocked`. */
  setBlocked(blocker: string, blocked: string, on: boolean): Promise<void>;
  /** Who `blocker` blocks, sorted. */
  listBlocked(blocker: string): Promise<string[]>;
  /** Store a new report; false when the id exists. */
  createReport(report: Omit<ReportRecord, 'status' | 'handledBy'>): Promise<boolean>;
  /** Reports, newest first, optionally only those with `status`; at most `limit`. */
  listReports(options?: { status?: ReportStatus; limit?: number }): Promise<ReportRecord[]>;
  /** Close an open report; false when no such report or it is not open. */
  setReportStatus(id: string, status: Exclude<ReportStatus, 'open'>, by: string): Promise<boolean>;
  /** Append to the moderation log; returns the entry with its sequence number. */
  appendModerationLog(entry: Omit<ModerationLogEntry, 'seq'>): Promise<ModerationLogEntry>;
  /** The newest `limit` entries (newest first), optionally only those with `seq < before`. */
  listModerationLog(options?: { limit?: number; before?: number }): Promise<ModerationLogEntry[]>;

  // ---- Web Push (docs/PROTOCOL.md "Wake-up pushes") ----
  /** Set (or replace) the push subscription of a device. */
  setPushSubscription(
    username: string,
    deviceId: string,
    sub: PushSubscriptionRecord,
  ): Promise<void>;
  getPushSubscription(username: string, deviceId: string): Promise<PushSubscriptionRecord | null>;
  /** Forget a device's subscription; false when it had none. */
  deletePushSubscription(username: string, deviceId: string): Promise<boolean>;
  /**
   * Take the device's push slot: true (and the slot is taken until `now + intervalMs`) when no
   * push was claimed for it in the last `intervalMs`, false otherwise. Atomic, so of several key
   * servers hearing the same wake-up exactly one sends it.
   */
  claimPushSlot(username: string, deviceId: string, intervalMs: number): Promise<boolean>;
  // ---- guests ----
  /**
   * Create a guest account: no password (no login can succeed), state `active`; false when the
   * name is taken.
   */
  createGuest(username: string, createdAt: number): Promise<boolean>;
  /** The account's guest state; `null` for a full account or no such user. */
  guestState(username: string): Promise<GuestState | null>;
  /** Usernames of active guests, sorted. */
  listGuests(): Promise<string[]>;
  /**
   * End an active guest: `expired`, or `upgraded` (a full account from now on, with the given
   * password hash, set in the same step). False when `username` is not an active guest.
   */
  endGuest(
    username: string,
    how: { as: 'expired' } | { as: 'upgraded'; passwordHash: string },
  ): Promise<boolean>;
  /**
   * Upgrade an active guest to a full account under a new name, atomically: the account and its
   * devices, one-time prekeys and push subscriptions move to `to` (the device gets the new
   * certificate and its log index), the key-log leaves are appended, the rename is recorded, and
   * `from` stays behind as a tombstone (guest state `renamed`) that no one can sign up or log in
   * as. Group membership is not touched: each chain moves the member by its signed `rename`
   * record. Tokens stay filed under `from`, so revoking that user's tokens still finds them.
   * `not-guest` when `from` is not an active guest (already renamed, upgraded or expired);
   * `taken` when `to` exists (or was ever a name).
   */
  renameGuest(
    r: GuestRenameRequest,
  ): Promise<{ ok: true; logIndexes: number[] } | { ok: false; reason: 'not-guest' | 'taken' }>;
  /** The rename that `username` was the old or the new name of; null when none. */
  getRename(username: string): Promise<GuestRenameRecord | null>;

  // ---- ACL queries (used by the broker) ----
  /** True when the access token id was revoked (logout, password change, reuse). */
  isTokenRevoked(jti: string): Promise<boolean>;
  /** False after logout or revocation of the device, and for unknown devices. */
  isDeviceActive(username: string, deviceId: string): Promise<boolean>;
  /**
   * Both store checks of an access token at once (every authenticated request makes
   * them): true when `jti` is not revoked and the device is active.
   */
  isTokenUsable(jti: string, username: string, deviceId: string): Promise<boolean>;
  /**
   * Usernames allowed on the group's topic: the current members, none while the group is
   * closed by an operator; `null` when no such group.
   */
  groupMembers(groupId: string): Promise<string[] | null>;
  isGroupMember(groupId: string, username: string): Promise<boolean>;
  /**
   * True when a group that is not closed has both `a` and `b` as current members (a guest may
   * reach only people it shares a room with, [ACL-13]).
   */
  sharesGroup(a: string, b: string): Promise<boolean>;
  /**
   * Usernames allowed to publish to the group topic: the admins of an announcement-only
   * group, every member otherwise; `null` when no such group.
   */
  groupPosters(groupId: string): Promise<string[] | null>;
  /** Constant-time check of a thing's MQTT secret; false when unknown or revoked. */
  verifyThingCredential(owner: string, thing: string, secret: string): Promise<boolean>;
  isThingActive(owner: string, thing: string): Promise<boolean>;
  userExists(username: string): Promise<boolean>;

  /** Liveness probe of the backing database. */
  ping(): Promise<void>;
  /** Release connections / file handles. */
  close(): Promise<void>;
}

/** A change the brokers must enforce at once; defined in the wire contract (`@sotto/crypto/wire`). */
export type { AclEvent };

/** Handler for {@link AclEvents.subscribe}. */
export type AclEventHandler = (event: AclEvent) => void;

/** ACL change bus between key servers and brokers: in-process or Redis pub/sub. */
export interface AclEvents {
  /**
   * True when `publish` hands the event to every subscriber of every process that can
   * see the store before it resolves, and no event can be lost (the in-process bus of
   * embedded mode). A subscriber may then cache what these events invalidate; over a
   * network bus (Redis pub/sub drops what is published while a subscriber reconnects)
   * it must read the store instead.
   */
  readonly synchronous?: boolean;
  /**
   * Network buses: whether this process hears every event published from now on (its
   * subscriber connection is up and subscribed), and a way to learn when that changes.
   * Events published while it is false may be lost for this process, so a cache of what
   * events invalidate must be emptied when it turns false and filled only while it is true.
   */
  hearing?(): boolean;
  /** Call `listener` whenever {@link hearing} changes; returns the function that stops it. */
  onHearingChange?(listener: (hearing: boolean) => void): () => void;
  /** Deliver `event` to every subscriber (in every process for the Redis bus). */
  publish(event: AclEvent): Promise<void>;
  /** Register a handler; returns the function that unregisters it. */
  subscribe(handler: AclEventHandler): () => void;
  /** Stop delivering and release connections. */
  close(): Promise<void>;
}
