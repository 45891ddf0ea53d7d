/**
 * Second-factor secrets of the key server (issue 19; docs/SECURITY.md "Two-factor"): the MFA
 * key kept apart from the store (a 0600 file in the data dir, like the signing key), and what it
 * protects — TOTP secrets sealed with AES-256-GCM bound to the account, recovery codes hashed
 * with a keyed hash, and the short-lived signed challenge tokens of the login and WebAuthn
 * ceremonies. A dump of SQLite or Redis without the key file yields no TOTP secret, no recovery
 * code and no way to mint a challenge.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Secret, TOTP } from 'otpauth';

/** Bytes of the MFA key. */
export const MFA_KEY_BYTES = 32;
/** TOTP period, seconds (RFC 6238's default, what every authenticator app assumes). */
export const TOTP_PERIOD_S = 30;
/** Steps either side of now a code may come from (clock drift, a code typed as it turned). */
export const TOTP_WINDOW = 1;
/** Recovery codes handed out at once. */
export const RECOVERY_CODE_COUNT = 10;

/** A sealed secret, a challenge token or a key file that does not open. */
export class MfaSecretError extends Error {
  override readonly name = 'MfaSecretError';
}

/**
 * Read the MFA key from `file`, or create it (0600, never overwriting) with fresh random bytes.
 * The file holds the key as base64 on one line.
 */
export function loadOrCreateMfaKey(file: string): Uint8Array {
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== MFA_KEY_BYTES)
      throw new MfaSecretError(`${file} does not hold a ${MFA_KEY_BYTES}-byte base64 MFA key`);
    return new Uint8Array(key);
  }
  const key = randomBytes(MFA_KEY_BYTES);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return new Uint8Array(key);
}

/** What a challenge token carries; `t` says which ceremony it belongs to. */
export type Challenge = MfaChallenge | PasskeyRegChallenge | PasskeyAuthChallenge;
/** Challenge tokens by kind. */
export interface ChallengeByKind {
  mfa: MfaChallenge;
  'passkey-reg': PasskeyRegChallenge;
  'passkey-auth': PasskeyAuthChallenge;
}
/** Password checked, second factor pending: finishes a login of `u` on device `d` (name `n`). */
export interface MfaChallenge {
  t: 'mfa';
  u: string;
  d: string;
  n: string;
  p: 'web' | 'cli';
  exp: number;
}
/** A passkey registration for `u` with WebAuthn challenge `c`. */
export interface PasskeyRegChallenge {
  t: 'passkey-reg';
  u: string;
  c: string;
  exp: number;
}
/** A passkey sign-in or step-up (any account) with WebAuthn challenge `c`. */
export interface PasskeyAuthChallenge {
  t: 'passkey-auth';
  c: string;
  exp: number;
}

/** The operations the MFA key allows. */
export interface MfaSecrets {
  /** Seal a TOTP secret for `username` (AES-256-GCM; the username is the associated data). */
  seal(username: string, secret: Uint8Array): Uint8Array;
  /** Open what {@link seal} made for the same username; throws {@link MfaSecretError} otherwise. */
  open(username: string, sealed: Uint8Array): Uint8Array;
  /** Keyed hash of a recovery code of `username` (normalised: case, spaces, dashes ignored). */
  hashRecoveryCode(username: string, code: string): string;
  /** Sign a challenge (base64url JSON, a dot, base64url HMAC-SHA256). */
  signChallenge(c: Challenge): string;
  /** The challenge of a token of kind `t` signed by this key and not expired at `nowMs`; else throws. */
  verifyChallenge<T extends Challenge['t']>(token: string, t: T, nowMs: number): ChallengeByKind[T];
}

const SEAL_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The operations of `key` (see {@link loadOrCreateMfaKey}); subkeys are separated by label. */
export function createMfaSecrets(key: Uint8Array): MfaSecrets {
  if (key.length !== MFA_KEY_BYTES)
    throw new RangeError(`key: MFA key must be ${MFA_KEY_BYTES} bytes`);
  const sub = (label: string) => createHmac('sha256', key).update(label).digest();
  const sealKey = sub('sotto mfa seal v1');
  const tokenKey = sub('sotto mfa challenge v1');
  const recoveryKey = sub('sotto mfa recovery v1');
  const mac = (body: string) => createHmac('sha256', tokenKey).update(body).digest();

  return {
    seal(username, secret) {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', sealKey, iv);
      c.setAAD(Buffer.from(username, 'utf8'));
      const ct = Buffer.concat([c.update(secret), c.final()]);
      return new Uint8Array(Buffer.concat([Buffer.of(SEAL_VERSION), iv, c.getAuthTag(), ct]));
    },
    open(username, sealed) {
      const b = Buffer.from(sealed);
      if (b.length < 1 + IV_BYTES + TAG_BYTES || b[0] !== SEAL_VERSION)
        throw new MfaSecretError('sealed secret is malformed');
      const d = createDecipheriv('aes-256-gcm', sealKey, b.subarray(1, 1 + IV_BYTES));
      d.setAAD(Buffer.from(username, 'utf8'));
      d.setAuthTag(b.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
      try {
        return new Uint8Array(
          Buffer.concat([d.update(b.subarray(1 + IV_BYTES + TAG_BYTES)), d.final()]),
        );
      } catch (err) {
        throw new MfaSecretError('sealed secret does not open with this key and account', {
          cause: err,
        });
      }
    },
    hashRecoveryCode(username, code) {
      return createHmac('sha256', recoveryKey)
        .update(`${username}\0${normaliseRecoveryCode(code)}`)
        .digest('hex');
    },
    signChallenge(c) {
      const body = Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
      return `${body}.${mac(body).toString('base64url')}`;
    },
    verifyChallenge<T extends Challenge['t']>(token: string, t: T, nowMs: number) {
      const [body, sig, extra] = token.split('.');
      if (body === undefined || sig === undefined || extra !== undefined)
        throw new MfaSecretError('challenge token is malformed');
      const given = Buffer.from(sig, 'base64url');
      const want = mac(body);
      if (given.length !== want.length || !timingSafeEqual(given, want))
        throw new MfaSecretError('challenge token signature does not verify');
      let c: Challenge;
      try {
        c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Challenge;
      } catch (err) {
        throw new MfaSecretError('challenge token is malformed', { cause: err });
      }
      if (c.t !== t) throw new MfaSecretError(`challenge token is not a ${t} token`);
      if (!(typeof c.exp === 'number' && nowMs < c.exp))
        throw new MfaSecretError('challenge token expired');
      return c as ChallengeByKind[T];
    },
  };
}

/** A new random TOTP secret (160 bits, RFC 4226's recommendation). */
export function newTotpSecret(): Uint8Array {
  return new Uint8Array(new Secret({ size: 20 }).bytes);
}

/** The `otpauth://` URI authenticator apps scan, and the secret as base32 text to type. */
export function totpProvisioning(
  secret: Uint8Array,
  account: string,
  issuer: string,
): { uri: string; base32: string } {
  const s = new Secret({ buffer: Uint8Array.from(secret).buffer });
  const totp = new TOTP({ issuer, label: account, secret: s, period: TOTP_PERIOD_S, digits: 6 });
  return { uri: totp.toString(), base32: s.base32 };
}

/**
 * The time step a 6-digit `code` belongs to when it is right for `secret` within
 * ±{@link TOTP_WINDOW} steps of `nowMs`; `null` otherwise. Whether the step was used already
 * is the store's answer (`useTotpStep`), not this one's.
 */
export function totpStep(secret: Uint8Array, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const totp = new TOTP({
    secret: new Secret({ buffer: Uint8Array.from(secret).buffer }),
    period: TOTP_PERIOD_S,
    digits: 6,
  });
  const delta = totp.validate({ token: code, timestamp: nowMs, window: TOTP_WINDOW });
  if (delta === null) return null;
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_S) + delta;
}

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Ten fresh recovery codes, `xxxx-xxxx-xxxx` from an unambiguous alphabet (~59 bits each). */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from(
      { length: 12 },
      () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)],
    ).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
  });
}

/** A recovery code as typed, reduced to what is compared: lower case, no spaces or dashes. */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}
