/**
 * Typed errors of the broker. Authentication failures carry the MQTT 3.1.1
 * CONNACK return code, the shape aedes reads (`AuthenticateError`), so the
 * client learns *why* it was refused without the broker leaking more.
 */

/** MQTT 3.1.1 CONNACK return codes the broker uses (spec §3.2.2.3). */
export const ReturnCode = {
  /** The client identifier is malformed or not allowed. */
  IDENTIFIER_REJECTED: 2,
  /** The store could not be asked (database down): try again later. */
  SERVER_UNAVAILABLE: 3,
  /** The password (token or thing credential) does not verify. */
  BAD_USERNAME_OR_PASSWORD: 4,
  /** Credentials are valid but do not grant this client id (takeover, revoked, inactive). */
  NOT_AUTHORIZED: 5,
} as const;

/** One of {@link ReturnCode}. */
export type ReturnCodeValue = (typeof ReturnCode)[keyof typeof ReturnCode];

/** Stable reasons for refusing a connection, logged and counted in metrics. */
export type AuthErrorCode =
  | 'EMPTY_CLIENT_ID'
  | 'BAD_CLIENT_ID'
  | 'USERNAME_MISMATCH'
  | 'NO_PASSWORD'
  | 'BAD_TOKEN'
  | 'WRONG_TOKEN_KIND'
  | 'TOKEN_SUBJECT_MISMATCH'
  | 'TOKEN_REVOKED'
  | 'DEVICE_INACTIVE'
  | 'BAD_THING_CREDENTIAL'
  | 'BAD_WILL'
  | 'ANONYMOUS_REFUSED'
  | 'BAD_OPERATOR_CREDENTIALS'
  | 'STORE_UNAVAILABLE';

/** A refused CONNECT: `returnCode` goes into the CONNACK, `code` into logs and metrics. */
export class AuthError extends Error {
  override readonly name = 'AuthError';

  constructor(
    readonly code: AuthErrorCode,
    readonly returnCode: ReturnCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A refused PUBLISH or a rule violation that closes the connection (MQTT 3.1.1 has no negative PUBACK). */
export class AclError extends Error {
  override readonly name = 'AclError';

  constructor(
    /** The rule that refused, e.g. `ACL-7` or `deny-default`. */
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

/** Invalid broker configuration or policy file (start-up error). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
