/**
 * @sotto/client — the headless Sotto client engine shared by the web client,
 * bots, the CLI and the IoT bridge. Browser-safe: Node-only pieces (SQLite
 * store, CLI) live under `@sotto/client/node`; the Dexie store under
 * `@sotto/client/dexie`.
 */
export {
  createClient,
  DEFAULT_OPTIONS,
  type AccountInfo,
  type ApproveLinkOptions,
  type ApproveLinkResult,
  type BeginLinkOptions,
  type HistoryImportResult,
  type LinkSession,
  type ClientEvents,
  type ConnectionState,
  type CreateClientOptions,
  type MqttConnect,
  type Tracer,
  type TraceStep,
  type Progress,
  type SottoClient,
  type CallSignal,
  type CallInput,
  type CallNote,
} from './engine.ts';
export type { LoginOptions } from './internal/account.ts';
export type { AvatarInput, Profile, ProfileInput } from './internal/profiles.ts';
export { ClientError, isClientError, type ClientErrorCode } from './errors.ts';
export type { SecurityNotice, SecurityNoticeCode } from './internal/context.ts';
export {
  ApiError,
  createHttpClient,
  isApiError,
  MfaRequiredError,
  type HttpClient,
  type LoginExtras,
  type LoginResult,
  type HttpClientOptions,
  type Tokens,
  type UserSettings,
} from './http.ts';
export {
  assertPasskeyLogin,
  completeMfaWithPasskey,
  createSecurityApi,
  finishPasskeyLogin,
  loginWithPasskey,
  type DeviceInfo,
  type MfaState,
  type PasskeyAssertion,
  type PasskeyCeremony,
  type PasskeyCeremonyFn,
  type PasskeyInfo,
  type SecurityApi,
} from './security-api.ts';
export * from './payload.ts';
export * from './store/types.ts';
export { tokenize } from './store/common.ts';
export { createMemoryStore } from './stores/memory.ts';
export { dmConversation, parseConversation } from './internal/conversation.ts';
export type { OwnKeyAlert, OwnKeyAlertReason, OwnKeyLogStatus } from './internal/context.ts';
export type { ChangedMember, GroupKeyStatus } from './internal/groups/admin.ts';
export type { CreatedInvite, RoomInvite, RoomPreview } from './internal/groups/rooms.ts';
export { inviteFragment, inviteLink, parseInviteLink, type InviteLink } from './invite-link.ts';
export type { DirectoryRoom } from './http.ts';
