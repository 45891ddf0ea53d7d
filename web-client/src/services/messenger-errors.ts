/**
 * Error translation: engine ({@link ClientError}) and key server ({@link ApiError}) errors become
 * {@link MessengerError}s with the stable codes the views translate, and with a sentence from
 * `ui-strings.ts` where the engine's own message is meant for developers.
 */
// The two modules alone, not the package's index: the first page's bundle reaches this file
// (guest-banner → guests.ts), and the index would bring the engine and libsodium with it.
import { ClientError } from '@sotto/client/errors';
import { ApiError } from '@sotto/client/http';
import { MessengerError } from './messenger.ts';
import { uiText, type UiStringKey } from './ui-strings.ts';

type Code = MessengerError['code'];

/** Key server error codes → messenger codes (the server's message is kept). */
const API_CODES: Readonly<Record<string, Code>> = {
  USERNAME_TAKEN: 'USERNAME_TAKEN',
  INVALID_CREDENTIALS: 'BAD_CREDENTIALS',
  NETWORK: 'UNREACHABLE',
  USER_NOT_FOUND: 'NO_SUCH_USER',
  RATE_LIMITED: 'RATE_LIMITED',
  VALIDATION_FAILED: 'INVALID_USERNAME',
  FORBIDDEN: 'NOT_AUTHORIZED',
  NOT_AUTHORIZED: 'NOT_AUTHORIZED',
  MFA_REQUIRED: 'MFA_REQUIRED',
  MFA_CODE_INVALID: 'BAD_MFA_CODE',
  REAUTH_REQUIRED: 'REAUTH_REQUIRED',
};

/** Key server errors whose sentence is ours (the server's is meant for developers). */
const API_ERRORS: Readonly<Record<string, [Code, UiStringKey]>> = {
  PASSKEY_INVALID: ['PASSKEY_INVALID', 'passkey.unknown'],
  INVALID_MFA_TOKEN: ['FAILED', 'passkey.expired'],
  GUEST_NOT_ALLOWED: ['GUEST_NOT_ALLOWED', 'guest.notAllowed'],
  GUESTS_DISABLED: ['UNSUPPORTED', 'guest.disabled'],
};

/** Engine error codes the views tell apart or explain: messenger code and sentence. */
const CLIENT_ERRORS: Partial<Record<ClientError['code'], [Code, UiStringKey]>> = {
  LINK_REQUIRED: ['LINK_REQUIRED', 'error.linkRequired'],
  BAD_CODE: ['BAD_CODE', 'error.badLinkCode'],
  WRONG_USER: ['BAD_CODE', 'error.wrongUserLinkCode'],
  LINK_EXPIRED: ['LINK_EXPIRED', 'error.linkExpired'],
  LINK_MISMATCH: ['FAILED', 'error.linkMismatch'],
  LINK_CANCELLED: ['FAILED', 'error.linkCancelled'],
  KEY_CHANGED: ['FAILED', 'error.keyChanged'],
  NO_DEVICES: ['FAILED', 'error.noDevices'],
  NOT_MEMBER: ['FAILED', 'error.notMember'],
  NOT_ADMIN: ['NOT_AUTHORIZED', 'error.notAdmin'],
  REKEY_PENDING: ['FAILED', 'error.rekeyPending'],
  NO_KEY_CHANGE: ['FAILED', 'error.noKeyChange'],
  GROUP_FROZEN: ['FAILED', 'error.groupFrozen'],
  STORE_LOCKED: ['LOCKED', 'error.locked'],
  WRONG_PASSPHRASE: ['BAD_PASSPHRASE', 'error.badPassphrase'],
  STORE_TAMPERED: ['FAILED', 'error.storeTampered'],
};

/**
 * "Too many attempts", with the wait the server asked for (`Retry-After`): the key server backs a
 * username off for up to 15 minutes after failed logins, so "wait a minute" would be wrong.
 */
export function rateLimitedText(retryAfterMs: number | undefined): string {
  if (retryAfterMs === undefined || retryAfterMs <= 0) return uiText('error.rateLimitedSoon');
  const seconds = Math.ceil(retryAfterMs / 1000);
  const minutes = Math.ceil(seconds / 60);
  const wait =
    seconds === 1
      ? uiText('wait.second')
      : seconds < 60
        ? uiText('wait.seconds', { n: seconds })
        : minutes === 1
          ? uiText('wait.minute')
          : uiText('wait.minutes', { n: minutes });
  return uiText('error.rateLimited', { wait });
}

/** Map engine and key server errors to the stable codes the views translate. */
export function toMessengerError(err: unknown): unknown {
  if (err instanceof MessengerError) return err;
  if (err instanceof ApiError && err.code === 'RATE_LIMITED') {
    return new MessengerError('RATE_LIMITED', rateLimitedText(err.retryAfterMs), { cause: err });
  }
  const ours = err instanceof ApiError ? API_ERRORS[err.code] : undefined;
  if (ours !== undefined) return new MessengerError(ours[0], uiText(ours[1]), { cause: err });
  if (err instanceof ApiError) {
    const code =
      API_CODES[err.code] ?? (err.status === 0 || err.status >= 502 ? 'UNREACHABLE' : 'FAILED');
    return new MessengerError(code, err.message, { cause: err });
  }
  if (err instanceof ClientError) {
    const known = CLIENT_ERRORS[err.code];
    if (known !== undefined) return new MessengerError(known[0], uiText(known[1]), { cause: err });
    return new MessengerError('FAILED', err.message, { cause: err });
  }
  return err;
}

/**
 * {@link toMessengerError} for a password change: the only field the server validates there is
 * the new password, so its `VALIDATION_FAILED` means a weak password, not a bad username.
 */
export function toPasswordChangeError(err: unknown): unknown {
  if (err instanceof ApiError && err.code === 'VALIDATION_FAILED') {
    return new MessengerError('WEAK_PASSWORD', uiText('error.weakPassword'), { cause: err });
  }
  return toMessengerError(err);
}

/** Run `fn`, rethrowing whatever it throws as {@link toMessengerError} says. */
export async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toMessengerError(err);
  }
}

/**
 * `api` with every method's rejection translated by {@link toMessengerError}, so the views can
 * tell REAUTH_REQUIRED, BAD_MFA_CODE or PASSKEY_INVALID apart from the key server's raw errors.
 */
export function translatedApi<T extends object>(api: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(api)) {
    out[name] =
      typeof value === 'function'
        ? (...args: unknown[]) =>
            translated(() => Promise.resolve((value as (...a: unknown[]) => unknown)(...args)))
        : value;
  }
  return out as T;
}

/** The error of an operation that needs a signed-in engine, called without one. */
export function notSignedIn(): MessengerError {
  return new MessengerError('FAILED', uiText('error.notSignedIn'));
}
