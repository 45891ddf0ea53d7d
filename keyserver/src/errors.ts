/**
 * Every error the key server's HTTP API returns, defined once with a stable
 * code and status (the shape of fastify's own `lib/errors.js`). Responses are
 * always `{ "error": CODE, "message": text }`. Clients switch on `error`.
 */

/** Status and default message of every API error code. */
export const ERRORS = {
  /** The body, params or query do not match the route's schema. */
  VALIDATION_FAILED: { status: 400, message: 'request does not match the schema' },
  /** The body is not valid JSON. */
  MALFORMED_JSON: { status: 400, message: 'body is not valid JSON' },
  /** A binary field does not decode as the format it must be (certificate, prekey, record). */
  MALFORMED_KEY: { status: 400, message: 'binary field is malformed' },
  /** A signature (certificate, prekey, membership record) does not verify. */
  BAD_SIGNATURE: { status: 400, message: 'signature does not verify' },
  /**
   * A guest's rename statement or new certificate names another guest, device, name or key than
   * the request (docs/API.md "Guests").
   */
  RENAME_MISMATCH: { status: 400, message: 'the rename does not match this guest and name' },
  /** The certificate names another user or device than the caller's token. */
  CERTIFICATE_MISMATCH: { status: 400, message: 'certificate is for another user or device' },
  /** First key upload without the signed prekey and last-resort KEM prekey. */
  PREKEYS_REQUIRED: { status: 400, message: 'signedPrekey and kemPrekey are required' },
  /**
   * A push endpoint the key server will not fetch: not https, credentials in it, or a private,
   * loopback or link-local host (docs/SECURITY.md "Web Push").
   */
  PUSH_ENDPOINT_REFUSED: { status: 400, message: 'push endpoint refused' },
  /** A group member named in a record has no account. */
  UNKNOWN_MEMBER: { status: 400, message: 'a member named in the record does not exist' },
  /** Missing, malformed, expired, revoked or otherwise invalid access token. */
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  /** The access token expired: refresh it. */
  TOKEN_EXPIRED: { status: 401, message: 'access token expired' },
  /** Wrong username or password (the same answer for both). */
  INVALID_CREDENTIALS: { status: 401, message: 'invalid username or password' },
  /** Refresh token unknown, expired, or reused (a reuse revokes its whole family). */
  INVALID_REFRESH_TOKEN: { status: 401, message: 'invalid refresh token' },
  /** Authenticated, but this action belongs to another device, user or admin. */
  FORBIDDEN: { status: 403, message: 'not allowed' },
  /** A membership change not signed by a current admin, or an illegal change. */
  NOT_AUTHORIZED: { status: 403, message: 'membership change is not authorized' },
  /** A `join` record into a group whose policy admits no self-joins (`admins-add`). */
  JOIN_NOT_ALLOWED: { status: 403, message: 'this group admits members only by an admin' },
  /** A `join` into an invite-only group without an invite. */
  INVITE_REQUIRED: { status: 403, message: 'joining this group needs an invite' },
  /** The invite is not one of this group, or the proof does not verify for the caller. */
  INVITE_INVALID: { status: 403, message: 'the invite is not valid for this group and user' },
  INVITE_EXPIRED: { status: 403, message: 'the invite has expired' },
  INVITE_REVOKED: { status: 403, message: 'the invite was revoked' },
  INVITE_USED_UP: { status: 403, message: 'the invite has no uses left' },
  /** The second-factor code (TOTP or recovery code) is wrong, expired or already used. */
  MFA_CODE_INVALID: { status: 401, message: 'invalid or already used code' },
  /** The login's `mfaToken` (or a passkey ceremony's challenge token) is unknown or expired. */
  INVALID_MFA_TOKEN: { status: 401, message: 'invalid or expired challenge; log in again' },
  /** The passkey assertion or attestation does not verify, or the passkey is not registered. */
  PASSKEY_INVALID: { status: 401, message: 'passkey could not be verified' },
  /**
   * A sensitive action (identity reset, changing two-factor settings or passkeys, removing a
   * device) needs the password or a passkey within the last 5 minutes: log in again, or get a
   * fresh access token from `POST /v1/sessions/step-up` (its `auth_time` claim); an identity
   * reset may also send `password` with the upload.
   */
  REAUTH_REQUIRED: {
    status: 403,
    message: 'this action needs the password or a passkey within the last 5 minutes',
  },
  /**
   * A guest account tried what only full accounts may (create a room or a thing, reach a user it
   * shares no room with, docs/API.md "Guests"), or a full account used a guest-only route.
   */
  GUEST_NOT_ALLOWED: { status: 403, message: 'guest accounts cannot do this' },
  /** Guest accounts are turned off on this server (`--guests false`). */
  GUESTS_DISABLED: { status: 403, message: 'this server does not offer guest accounts' },
  /** The account is banned by the server's operators; the message carries their reason. */
  ACCOUNT_BANNED: { status: 403, message: 'this account is banned by the server operators' },
  /** An `/v1/admin/*` route called by an account without the operator role. */
  OPERATOR_REQUIRED: { status: 403, message: 'only server operators may do this' },
  /** An operator action aimed at the operator's own account (ban, revoke own role). */
  SELF_TARGET: { status: 409, message: 'operators cannot do this to their own account' },
  /** No such route. */
  NOT_FOUND: { status: 404, message: 'not found' },
  USER_NOT_FOUND: { status: 404, message: 'no such user' },
  /** The device has no published keys (or does not exist). */
  DEVICE_NOT_FOUND: { status: 404, message: 'no such device with published keys' },
  /** No such group, or the caller is not a member. */
  GROUP_NOT_FOUND: { status: 404, message: 'no such group' },
  THING_NOT_FOUND: { status: 404, message: 'no such thing' },
  /** No such report, or it was already dismissed or acted on. */
  REPORT_NOT_FOUND: { status: 404, message: 'no such open report' },
  /** A report with this id exists already. */
  REPORT_EXISTS: { status: 409, message: 'report id is taken' },
  BLOB_NOT_FOUND: { status: 404, message: 'no such blob' },
  /** No tree of that size or no leaf at that index. */
  /** No TURN server is configured (`--turn-secret`): calls use the ICE servers of `/v1/config`. */
  TURN_NOT_CONFIGURED: { status: 404, message: 'this server issues no TURN credentials' },
  LOG_ENTRY_NOT_FOUND: { status: 404, message: 'no such log entry or tree size' },
  USERNAME_TAKEN: { status: 409, message: 'username is taken' },
  /** Keys are for another user identity key; resend with `resetIdentity: true` to replace it. */
  IDENTITY_MISMATCH: { status: 409, message: 'identity key differs from the registered one' },
  GROUP_EXISTS: { status: 409, message: 'group id is taken' },
  /** The record does not extend the current chain head (someone else appended first). */
  CHAIN_BROKEN: { status: 409, message: 'record does not extend the current chain' },
  /** Two different records for the same chain position. */
  FORK: { status: 409, message: 'record conflicts with the chain' },
  THING_EXISTS: { status: 409, message: 'thing name is taken' },
  /** Two-factor sign-in is already on; disable it first to enrol a new authenticator. */
  MFA_ALREADY_ENABLED: { status: 409, message: 'two-factor authentication is already on' },
  /** Two-factor sign-in is off (or enrolment was not started) for this action. */
  MFA_NOT_ENABLED: { status: 409, message: 'two-factor authentication is not on' },
  /** A device cannot remove itself here: log out instead (`DELETE /v1/sessions/current`). */
  CURRENT_DEVICE: { status: 409, message: 'this is the current device; log out instead' },
  /** Body larger than the route allows. */
  PAYLOAD_TOO_LARGE: { status: 413, message: 'body too large' },
  /** Blob larger than the configured cap. */
  BLOB_TOO_LARGE: { status: 413, message: 'blob exceeds the size cap' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'unsupported content type' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'range not satisfiable' },
  /**
   * Too many requests from this IP or account, or too many failed logins for this username
   * (the same answer whether the account exists); `Retry-After` says how many seconds to wait.
   */
  RATE_LIMITED: { status: 429, message: 'too many requests' },
  /** A bug or an unexpected failure; never caused by input. */
  INTERNAL: { status: 500, message: 'internal error' },
  /** The store (database / Redis) is unreachable. */
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code of the HTTP API. */
export type ApiErrorCode = keyof typeof ERRORS;

/** An error that becomes `{ error: code, message }` with the code's status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  /** Seconds for the `Retry-After` header (429 answers). */
  readonly retryAfter: number | undefined;

  constructor(
    readonly code: ApiErrorCode,
    message?: string,
    options?: { cause?: unknown; retryAfter?: number },
  ) {
    super(message ?? ERRORS[code].message, options);
    this.statusCode = ERRORS[code].status;
    this.retryAfter = options?.retryAfter;
  }
}

/** A 429 `RATE_LIMITED` with `Retry-After` (whole seconds, at least 1) from a wait in ms. */
export function rateLimited(what: string, retryInMs: number): ApiError {
  const retryAfter = Math.max(1, Math.ceil(retryInMs / 1000));
  return new ApiError('RATE_LIMITED', `${what}; retry in ${retryAfter} s`, { retryAfter });
}

/** Shorthand: `throw apiError('USER_NOT_FOUND')`. */
export function apiError(code: ApiErrorCode, message?: string, cause?: unknown): ApiError {
  return new ApiError(code, message, cause === undefined ? undefined : { cause });
}

/** JSON schema of every error body (used in each route's response schema). */
export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  additionalProperties: false,
  properties: {
    error: { type: 'string', enum: Object.keys(ERRORS) },
    message: { type: 'string' },
  },
} as const;
