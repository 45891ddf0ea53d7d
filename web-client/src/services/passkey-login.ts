/**
 * A passkey as the second step of a password login, for the engine's `session` hook (part of
 * the engine chunk: it needs the key server client). The password goes first; when the key
 * server answers with an `mfaToken` that offers `passkey`, the browser signs with one of the
 * account's passkeys and the key server checks it is that account's ([PK-4], docs/API.md).
 */
import {
  MfaRequiredError,
  completeMfaWithPasskey,
  type HttpClient,
  type LoginResult,
} from '@sotto/client';
import { MessengerError } from './messenger.ts';
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
