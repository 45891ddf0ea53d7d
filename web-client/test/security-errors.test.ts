/**
 * The account-security API as the settings views get it: the key server's errors arrive as
 * MessengerErrors, so a step-up demand shows the password-or-passkey prompt instead of the raw
 * "reauthentication required" text, and passkey errors read as sentences.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '@sotto/client';
import { translatedApi } from '../src/services/messenger-errors.ts';
import { MessengerError } from '../src/services/messenger.ts';

describe('translated account-security errors', () => {
  it('turn REAUTH_REQUIRED, PASSKEY_INVALID and an expired ceremony into stable codes', async () => {
    const fail = (code: string, status: number) => () =>
      Promise.reject(new ApiError(code, `server says ${code}`, status));
    const api = translatedApi({
      removeDevice: fail('REAUTH_REQUIRED', 403),
      removePasskey: fail('PASSKEY_INVALID', 401),
      stepUpWithPasskey: fail('INVALID_MFA_TOKEN', 401),
      listPasskeys: () => Promise.resolve([{ id: 'a' }]),
    });
    await expect(api.removeDevice()).rejects.toMatchObject({ code: 'REAUTH_REQUIRED' });
    await expect(api.removePasskey()).rejects.toMatchObject({
      code: 'PASSKEY_INVALID',
      message: 'This passkey is not registered on this server, or it belongs to another account.',
    });
    await expect(api.stepUpWithPasskey()).rejects.toBeInstanceOf(MessengerError);
    await expect(api.stepUpWithPasskey()).rejects.toMatchObject({
      message: 'The sign-in took too long. Start again.',
    });
    expect(await api.listPasskeys()).toEqual([{ id: 'a' }]);
  });
});
