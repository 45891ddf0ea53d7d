/**
 * What every route module receives: the injected dependencies plus a few
 * helpers built from them in `app.ts`.
 */
import type { ControlNotice } from '@sotto/crypto/wire';
import type { FastifyBaseLogger, onRequestAsyncHookHandler } from 'fastify';
import type { AppConfig } from './config.ts';
import type { KeyLog } from './keylog.ts';
import type { MfaSecrets } from './mfa.ts';
import type { Metrics } from './metrics.ts';
import type { PasswordHasher } from './passwords.ts';
import type { AclEvent, AclEvents, DevicePlatform, Store } from '@sotto/server-core/store';
import type { AccessClaims, TokenIssuer, TokenVerifier } from '@sotto/server-core/tokens';

/** Every notice the key server sends on a control topic; defined in the wire contract. */
export type { ControlNotice };

/** Delivers control notices to devices over MQTT (a broker in-process, or an MQTT client). */
export interface ControlPublisher {
  publish(topic: string, payload: Uint8Array): Promise<void> | void;
}

/** A token pair as returned by login, refresh and password change. */
export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  deviceId: string;
  expiresIn: number;
}

/** The device a login is for: its id and what to record about it (`activateDevice`). */
export interface LoginDevice {
  deviceId: string;
  /** Default name (kept only while the device has none). */
  name: string;
  platform: DevicePlatform;
}

/** Rate-limited route families. */
export type LimitedRoute = 'signup' | 'login' | 'bundle' | 'lookup' | 'guest';

/** Shared state and helpers of one app instance. */
export interface Ctx {
  store: Store;
  events: AclEvents;
  issuer: TokenIssuer;
  verifier: TokenVerifier;
  passwords: PasswordHasher;
  metrics: Metrics;
  config: AppConfig;
  keyLog: KeyLog;
  blobDir: string;
  /** The MFA key's operations: sealed TOTP secrets, recovery-code hashes, challenge tokens. */
  mfa: MfaSecrets;
  log: FastifyBaseLogger;
  now: () => number;
  /** `onRequest` hook: verifies the bearer token and sets `request.auth`. */
  authenticate: onRequestAsyncHookHandler;
  /** Route `config` enabling the named rate limit (empty when limits are off). */
  rateLimit(kind: LimitedRoute): Record<string, unknown>;
  /**
   * Spend `n` bundle claims of the calling device's budget (`rateLimit.bundle`
   * claims per window, for the batched claim route); always ok when limits are off.
   */
  takeClaims(caller: string, n: number): Promise<{ ok: boolean; retryInMs: number }>;
  /**
   * Issue an access token and a refresh token (a new family unless `familyId`). `authTime`
   * (seconds) is when the session's password was last checked: now for a password login, the
   * family's for a refresh; it becomes the token's `auth_time` and is kept with the family.
   */
  issueSession(
    username: string,
    deviceId: string,
    opts?: { familyId?: string; authTime?: number | undefined },
  ): Promise<SessionTokens>;
  /**
   * Spend one password attempt of `key`'s budget (`rateLimit.login` per window, like the login
   * route; for routes that check a password besides login); always ok when limits are off.
   */
  takePasswordAttempt(key: string): Promise<{ ok: boolean; retryInMs: number }>;
  /**
   * Check `password` against `passwordHash` (`null` for no such account: still one hash) under
   * the per-username backoff (login-throttle.ts): throws `RATE_LIMITED` with `Retry-After`
   * while `username` is in a wait, whether or not it exists.
   */
  checkPassword(username: string, passwordHash: string | null, password: string): Promise<boolean>;
  /**
   * Finish a login whose every factor was checked: activate the device (recording its name,
   * platform and activity) and issue a new token family with `auth_time` now.
   */
  startSession(username: string, device: LoginDevice): Promise<SessionTokens>;
  /**
   * Spend one second-factor attempt of `username` (`mfaAttempts` per `mfaWindowMs`, always on);
   * throws `RATE_LIMITED` with `Retry-After` when spent.
   */
  takeMfaAttempt(username: string): Promise<void>;
  /**
   * Step-up (issue 19): throws `REAUTH_REQUIRED` unless the token's `auth_time` (the last
   * password or passkey proof of its session) is at most 5 minutes old.
   */
  requireRecentAuth(claims: AccessClaims): void;
  /**
   * Spend a WebAuthn challenge: true the first time within its lifetime, false after (shared
   * through Redis in cluster mode), so an assertion cannot be replayed.
   */
  spendChallenge(challenge: string): Promise<boolean>;
  /** Revoke every token of one device, deactivate it and announce both on the ACL bus. */
  revokeDevice(username: string, deviceId: string): Promise<void>;
  /** Publish an ACL event; failures are logged, never thrown. */
  publishEvent(event: AclEvent): Promise<void>;
  /** Send a JSON control notice to every active device of `users`; failures are logged. */
  notify(users: Iterable<string>, notice: ControlNotice): Promise<void>;
  /** Send a notice to specific devices. */
  notifyDevices(
    devices: { username: string; deviceId: string }[],
    notice: ControlNotice,
  ): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Verified token claims on authenticated routes (`null` elsewhere). */
    auth: AccessClaims | null;
  }
}

/** The claims of an authenticated request (routes behind `ctx.authenticate`). */
export function claims(req: { auth: AccessClaims | null }): AccessClaims {
  if (!req.auth) throw new Error('route is missing the authenticate hook');
  return req.auth;
}
