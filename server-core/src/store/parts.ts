/**
 * The {@link Store} contract cut by concern. Each backend (SQLite, Redis)
 * implements every part in a file of its own and its factory composes them,
 * so a concern reads the same way in both.
 */
import type { Store } from './types.ts';

/** Accounts, settings and devices, with the broker's account and device checks. */
export type AccountPart = Pick<
  Store,
  | 'createUser'
  | 'getUser'
  | 'setPasswordHash'
  | 'setUserIdentity'
  | 'getUserSettings'
  | 'updateUserSettings'
  | 'activateDevice'
  | 'setDeviceName'
  | 'touchDevice'
  | 'removeDevice'
  | 'getDevice'
  | 'listDevices'
  | 'deactivateDevice'
  | 'removeOtherDevices'
  | 'setDeviceKeys'
  | 'isDeviceActive'
  | 'userExists'
>;

/** One-time prekeys and bundle claims. */
export type PrekeyPart = Pick<
  Store,
  'addOneTimePrekeys' | 'clearOneTimePrekeys' | 'countOneTimePrekeys' | 'claimPrekeyBundle'
>;

/** Issued and revoked access tokens, refresh tokens, and the broker's token checks. */
export type TokenPart = Pick<
  Store,
  | 'recordAccessToken'
  | 'revokeToken'
  | 'revokeDeviceTokens'
  | 'revokeUserTokens'
  | 'putRefreshToken'
  | 'useRefreshToken'
  | 'revokeRefreshFamily'
  | 'isTokenRevoked'
  | 'isTokenUsable'
>;

/** Group chains and membership. */
export type GroupPart = Pick<
  Store,
  | 'createGroup'
  | 'appendGroupRecord'
  | 'getGroupChain'
  | 'getGroup'
  | 'groupMembers'
  | 'isGroupMember'
  | 'sharesGroup'
  | 'setGroupInfo'
  | 'getGroupInfo'
  | 'listDirectory'
  | 'groupPosters'
>;

/** Things, blob metadata and the key-transparency log. */
export type ThingPart = Pick<
  Store,
  | 'createThing'
  | 'listThings'
  | 'revokeThing'
  | 'verifyThingCredential'
  | 'isThingActive'
  | 'putBlob'
  | 'getBlob'
  | 'deleteBlob'
  | 'appendLogLeaf'
  | 'logSize'
  | 'getLogLeaves'
>;

/** Second factors: TOTP enrolment, recovery codes, passkeys. */
export type MfaPart = Pick<
  Store,
  | 'getTotp'
  | 'setTotp'
  | 'deleteTotp'
  | 'useTotpStep'
  | 'setRecoveryCodes'
  | 'useRecoveryCode'
  | 'countRecoveryCodes'
  | 'addPasskey'
  | 'getPasskey'
  | 'listPasskeys'
  | 'renamePasskey'
  | 'removePasskey'
  | 'usePasskey'
>;

/** Operators, bans, closed rooms, blocks, reports and the moderation log. */
export type ModerationPart = Pick<
  Store,
  | 'setOperator'
  | 'isOperator'
  | 'listOperators'
  | 'setBan'
  | 'getBan'
  | 'listBans'
  | 'setGroupClosed'
  | 'isGroupClosed'
  | 'listClosedGroups'
  | 'setBlocked'
  | 'listBlocked'
  | 'createReport'
  | 'listReports'
  | 'setReportStatus'
  | 'appendModerationLog'
  | 'listModerationLog'
>;

/** Web Push subscriptions and the per-device push slot. */
export type PushPart = Pick<
  Store,
  'setPushSubscription' | 'getPushSubscription' | 'deletePushSubscription' | 'claimPushSlot'
>;
/** Guest accounts (creation, state, expiry, upgrade). */
export type GuestPart = Pick<
  Store,
  'createGuest' | 'guestState' | 'listGuests' | 'endGuest' | 'renameGuest' | 'getRename'
>;
