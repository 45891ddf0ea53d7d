/**
 * Signing in with a passkey, for the engine's `session` login hook (part of the engine chunk: it
 * needs the key server client). Alone, the ceremony runs first and the passkey's user handle
 * names the account whose store is opened. As a second factor, the password goes first; when
 * the key server answers with an `mfaToken` that offers `passkey`, the browser signs with one of
 * the account's passkeys and the key server checks it is that account's ([PK-4], docs/API.md).
 */
import {
  MfaRequiredError,
  assertPasskeyLogin,
  completeMfaWithPasskey,
  finishPasskeyLogin,
  type HttpClient,
  type LoginOptions,
  type LoginResult,
} from '@sotto/client';
import { MessengerError, type Account } from './messenger.ts';
import { translated } from './messenger-errors.ts';
import { assertPasskey } from './passkeys.ts';
import { uiText } from './ui-strings.ts';

/** Log `creds` in on `deviceId` with a passkey as the second factor (none needed: no prompt). */
export async function passwordThenPasskey(
  http: HttpClient,
  creds: { username: string; password: string },
  deviceId: string | undefined,
): Promise<LoginResult> {
  try {
    return await http.login(creds.username, creds.password, deviceId, { platform: 'web' });
  } catch (err) {
    if (!(err instanceof MfaRequiredError)) throw err;
    if (!err.methods.includes('passkey'))
      throw new MessengerError('PASSKEY_INVALID', uiText('passkey.noneOnAccount'), { cause: err });
    return completeMfaWithPasskey(http, err.mfaToken, assertPasskey);
  }
}

/**
 * Sign in with a passkey through `enter` (the adapter's login with a `session` hook): alone, or
 * `after` a password as the second factor. See `MessengerService.logInWithPasskey`.
 */
export async function passkeyLogIn(
  http: HttpClient,
  enter: (
    username: string,
    password: string,
    session: NonNullable<LoginOptions['session']>,
  ) => Promise<Account>,
  after?: { username: string; password: string },
): Promise<Account> {
  if (after !== undefined)
    return enter(after.username, after.password, (deviceId) =>
      passwordThenPasskey(http, after, deviceId),
    );
  const assertion = await translated(() => assertPasskeyLogin(http, assertPasskey));
  if (assertion.username === null)
    throw new MessengerError('PASSKEY_INVALID', uiText('passkey.noUser'));
  return enter(assertion.username, '', (deviceId) =>
    finishPasskeyLogin(http, assertion, {
      platform: 'web',
      ...(deviceId === undefined ? {} : { deviceId }),
    }),
  );
}
