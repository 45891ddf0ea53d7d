/**
 * The account-security routes of the key server (issue 19; docs/API.md "Two-factor",
 * "Passkeys", "Devices"), typed over {@link HttpClient.call}: TOTP, recovery codes, step-up,
 * passkeys and the devices page. Shared by the CLI and the web client.
 */
import type { HttpClient, LoginResult } from './http.ts';

/** `GET /v1/me/mfa`. */
export interface MfaState {
  totp: boolean;
  recoveryCodesLeft: number;
  passkeys: number;
}

/** A device on the devices page (`GET /v1/me/devices`). */
export interface DeviceInfo {
  deviceId: string;
  name: string;
  kind: 'web' | 'cli' | 'bot' | 'bridge';
  /** ms since the epoch. */
  createdAt: number;
  lastActiveAt: number;
  /** The device making the call. */
  current: boolean;
}

/** A registered passkey (`GET /v1/me/passkeys`). */
export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** A WebAuthn ceremony's start: options for the browser and the token that carries the challenge. */
export interface PasskeyCeremony<O = Record<string, unknown>> {
  options: O;
  challengeToken: string;
}

/** The account-security API. */
export interface SecurityApi {
  mfaState(): Promise<MfaState>;
  /** Start TOTP enrolment (needs a recent password: {@link stepUp}). */
  startTotp(): Promise<{ secret: string; uri: string }>;
  /** Confirm with a code: two-factor is on; the ten recovery codes are shown once. */
  confirmTotp(code: string): Promise<string[]>;
  disableTotp(password: string, code: string): Promise<void>;
  /** New recovery codes (needs a recent password); the old ones stop working. */
  regenerateRecoveryCodes(): Promise<string[]>;
  /** Second step of a login answered with an mfaToken. */
  completeMfa(mfaToken: string, code: string): Promise<LoginResult>;
  /** Prove the password again: this device's access token becomes a fresh one for 5 minutes. */
  stepUp(password: string): Promise<void>;
  /** Step-up with a passkey: `assert` runs the browser's ceremony on the options. */
  stepUpWithPasskey(assert: PasskeyCeremonyFn): Promise<void>;
  listDevices(): Promise<DeviceInfo[]>;
  renameDevice(deviceId: string, name: string): Promise<DeviceInfo>;
  /** Remove another device (needs a recent password or passkey). */
  removeDevice(deviceId: string): Promise<void>;
  listPasskeys(): Promise<PasskeyInfo[]>;
  /** Register a passkey: `create` runs the browser's ceremony on the creation options. */
  registerPasskey(create: PasskeyCeremonyFn, name?: string): Promise<PasskeyInfo>;
  renamePasskey(id: string, name: string): Promise<PasskeyInfo>;
  removePasskey(id: string): Promise<void>;
}

/** The browser's WebAuthn ceremony on options from the key server (`navigator.credentials`). */
export type PasskeyCeremonyFn = (options: Record<string, unknown>) => Promise<unknown>;

/** A passkey sign-in's assertion, made but not sent yet. */
export interface PasskeyAssertion {
  challengeToken: string;
  response: unknown;
  /**
   * The account the passkey was registered for: its user handle, which the key server sets to
   * the UTF-8 username (docs/API.md "Passkeys"); null when the authenticator gave none.
   */
  username: string | null;
}

/** The username in an assertion's user handle (base64url of its UTF-8 bytes), or null. */
function userHandleName(response: unknown): string | null {
  const handle = (response as { response?: { userHandle?: unknown } } | null)?.response?.userHandle;
  if (typeof handle !== 'string' || !/^[A-Za-z0-9_-]+$/.test(handle)) return null;
  try {
    const bytes = Uint8Array.from(atob(handle.replace(/-/g, '+').replace(/_/g, '/')), (c) =>
      c.charCodeAt(0),
    );
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null; // not base64 of UTF-8: not a handle this key server made
  }
}

/**
 * Start a passkey sign-in (no account named first): the key server's options, the browser's
 * assertion with a discoverable credential, and the account it names. Send it with
 * {@link finishPasskeyLogin} once the device to sign in is known.
 */
export async function assertPasskeyLogin(
  http: HttpClient,
  assert: PasskeyCeremonyFn,
): Promise<PasskeyAssertion> {
  const start = await http.call<PasskeyCeremony>('POST', '/v1/passkeys/login/options', {
    body: {},
  });
  const response = await assert(start.options);
  return { challengeToken: start.challengeToken, response, username: userHandleName(response) };
}

/** Log in with an assertion from {@link assertPasskeyLogin} (both factors: no password). */
export function finishPasskeyLogin(
  http: HttpClient,
  assertion: PasskeyAssertion,
  device: { deviceId?: string; deviceName?: string; platform?: 'web' | 'cli' } = {},
): Promise<LoginResult> {
  return http.call<LoginResult>('POST', '/v1/sessions/passkey', {
    body: { challengeToken: assertion.challengeToken, response: assertion.response, ...device },
  });
}

/** Log in with a passkey (no account needed first): `assert` runs the browser's ceremony. */
export async function loginWithPasskey(
  http: HttpClient,
  assert: PasskeyCeremonyFn,
  device: { deviceId?: string; deviceName?: string; platform?: 'web' | 'cli' } = {},
): Promise<LoginResult> {
  return finishPasskeyLogin(http, await assertPasskeyLogin(http, assert), device);
}

/**
 * Finish a login the key server answered with an `mfaToken` (`MfaRequiredError`) with a passkey
 * of that account as the second factor; another account's passkey is 401 `PASSKEY_INVALID`.
 */
export async function completeMfaWithPasskey(
  http: HttpClient,
  mfaToken: string,
  assert: PasskeyCeremonyFn,
): Promise<LoginResult> {
  const { challengeToken, response } = await assertPasskeyLogin(http, assert);
  return http.call<LoginResult>('POST', '/v1/sessions/mfa/passkey', {
    body: { mfaToken, challengeToken, response },
  });
}

/** The account-security API over `http`. */
export function createSecurityApi(http: HttpClient): SecurityApi {
  const enc = encodeURIComponent;
  const auth = { auth: true } as const;
  return {
    mfaState: () => http.call('GET', '/v1/me/mfa', auth),
    startTotp: () => http.call('POST', '/v1/me/totp', { ...auth, body: {} }),
    async confirmTotp(code) {
      const r = await http.call<{ recoveryCodes: string[] }>('POST', '/v1/me/totp/confirm', {
        ...auth,
        body: { code },
      });
      return r.recoveryCodes;
    },
    async disableTotp(password, code) {
      await http.call('POST', '/v1/me/totp/disable', { ...auth, body: { password, code } });
    },
    async regenerateRecoveryCodes() {
      const r = await http.call<{ recoveryCodes: string[] }>('POST', '/v1/me/recovery-codes', {
        ...auth,
        body: {},
      });
      return r.recoveryCodes;
    },
    completeMfa: (mfaToken, code) =>
      http.call('POST', '/v1/sessions/mfa', { body: { mfaToken, code } }),
    async stepUp(password) {
      const r = await http.call<{ accessToken: string }>('POST', '/v1/sessions/step-up', {
        ...auth,
        body: { password },
      });
      await http.useAccessToken(r.accessToken);
    },
    async stepUpWithPasskey(assert) {
      const start = await http.call<PasskeyCeremony>(
        'POST',
        '/v1/sessions/step-up/passkey/options',
        { ...auth, body: {} },
      );
      const response = await assert(start.options);
      const r = await http.call<{ accessToken: string }>('POST', '/v1/sessions/step-up/passkey', {
        ...auth,
        body: { challengeToken: start.challengeToken, response },
      });
      await http.useAccessToken(r.accessToken);
    },
    async listDevices() {
      return (await http.call<{ devices: DeviceInfo[] }>('GET', '/v1/me/devices', auth)).devices;
    },
    renameDevice: (deviceId, name) =>
      http.call('PATCH', `/v1/me/devices/${enc(deviceId)}`, { ...auth, body: { name } }),
    async removeDevice(deviceId) {
      await http.call('DELETE', `/v1/me/devices/${enc(deviceId)}`, auth);
    },
    async listPasskeys() {
      return (await http.call<{ passkeys: PasskeyInfo[] }>('GET', '/v1/me/passkeys', auth))
        .passkeys;
    },
    async registerPasskey(create, name) {
      const start = await http.call<PasskeyCeremony>('POST', '/v1/me/passkeys/options', {
        ...auth,
        body: {},
      });
      const response = await create(start.options);
      return http.call<PasskeyInfo>('POST', '/v1/me/passkeys', {
        ...auth,
        body: {
          challengeToken: start.challengeToken,
          response,
          ...(name === undefined ? {} : { name }),
        },
      });
    },
    renamePasskey: (id, name) =>
      http.call('PATCH', `/v1/me/passkeys/${enc(id)}`, { ...auth, body: { name } }),
    async removePasskey(id) {
      await http.call('DELETE', `/v1/me/passkeys/${enc(id)}`, auth);
    },
  };
}
