/**
 * A device's own keys (DESIGN.md §4.1): upload its certificate and prekeys
 * (every signature verified with @sotto/crypto before anything is stored) and
 * count its one-time prekeys.
 *
 * Issue 14: an identity reset needs the password (or a fresh password login)
 * (docs/SECURITY.md).
 */
import type { FastifyInstance } from 'fastify';
import {
  decodeDeviceCertificate,
  decodeKemPrekey,
  decodeOneTimePrekey,
  decodeSignedPrekey,
  equalBytes,
  fromBase64,
  isCryptoError,
  verifyDeviceCertificate,
  verifyKemPrekey,
  verifySignedPrekey,
  type DeviceCertificate,
} from '@sotto/crypto';
import { claims, type Ctx } from '../../context.ts';
import { apiError, rateLimited } from '../../errors.ts';
import { b64, bearer, deviceId, errors } from '../../schemas.ts';
import type { StoredPrekey } from '@sotto/server-core/store';

interface KeysBody {
  certificate: string;
  signedPrekey?: string;
  kemPrekey?: string;
  oneTimePrekeys?: string[];
  oneTimeKemPrekeys?: string[];
  resetIdentity?: boolean;
  password?: string;
}

/**
 * How old a password login may be for its tokens to reset the identity without the password
 * in the request (seconds). Refreshes keep the login's `auth_time`, so a token stolen later is
 * too old: a refresh proves possession of a token, not knowledge of the password.
 */
export const REAUTH_MAX_AGE_S = 5 * 60;

const countsSchema = {
  type: 'object',
  required: ['oneTimePrekeys', 'oneTimeKemPrekeys'],
  additionalProperties: false,
  properties: {
    oneTimePrekeys: { type: 'integer' },
    oneTimeKemPrekeys: { type: 'integer' },
  },
} as const;

/** Decode base64url + a binary format; malformed input is a 400, never a 500. */
function decode<T>(text: string, what: string, decoder: (b: Uint8Array) => T): T {
  try {
    return decoder(fromBase64(text));
  } catch (err) {
    if (isCryptoError(err)) throw apiError('MALFORMED_KEY', `${what}: ${err.message}`, err);
    throw err;
  }
}

/** Run a verifier; a failed signature is BAD_SIGNATURE. */
function check(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (isCryptoError(err, 'MALFORMED'))
      throw apiError('MALFORMED_KEY', `${what}: ${err.message}`, err);
    if (isCryptoError(err)) throw apiError('BAD_SIGNATURE', `${what}: ${err.message}`, err);
    throw err;
  }
}

/** Register `PUT /v1/devices/:deviceId/keys` and `GET /v1/devices/:deviceId/keys/count`. */
export function deviceKeyRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store, config } = ctx;
  const maxBatch = config.prekeysPerUpload;

  /**
   * Refuse an identity reset without proof of the password (issue 14): a stolen access token
   * alone must not replace the identity. `password`, when sent, must be right (and is counted
   * like a login attempt); otherwise the token must come from a recent password login.
   */
  async function checkReauth(
    username: string,
    authTime: number | undefined,
    password: string | undefined,
    passwordHash: string,
  ): Promise<void> {
    if (password !== undefined) {
      const budget = await ctx.takePasswordAttempt(`reset:${username}`);
      if (!budget.ok) throw rateLimited('too many password attempts', budget.retryInMs);
      if (!(await ctx.checkPassword(username, passwordHash, password)))
        throw apiError('INVALID_CREDENTIALS', 'wrong password');
      return;
    }
    const age = Math.floor(ctx.now() / 1000) - (authTime ?? Number.NEGATIVE_INFINITY);
    if (!(age <= REAUTH_MAX_AGE_S)) throw apiError('REAUTH_REQUIRED');
  }

  app.put<{ Params: { deviceId: string }; Body: KeysBody }>(
    '/v1/devices/:deviceId/keys',
    {
      onRequest: ctx.authenticate,
      bodyLimit: Math.max(config.bodyLimit, maxBatch * 2 * 1700 + 16_384),
      schema: {
        tags: ['keys'],
        summary: "Upload or replace this device's certificate, signed prekeys and one-time prekeys",
        description:
          'Every binary field is base64url of its canonical @sotto/crypto encoding. The first upload ' +
          "sets the user's identity key (UIK) and must include signedPrekey and kemPrekey (last resort). " +
          'A certificate under another UIK is refused with 409 IDENTITY_MISMATCH unless resetIdentity ' +
          "is true, which replaces the UIK and removes the user's other devices. A reset needs " +
          '`password` (checked like a login, rate-limited like it: wrong → 401 INVALID_CREDENTIALS) ' +
          `or an access token from a password login at most ${REAUTH_MAX_AGE_S} s old (claim ` +
          '`auth_time`; refreshes keep it); otherwise 403 REAUTH_REQUIRED. Nothing changes on a refusal.',
        security: bearer,
        params: {
          type: 'object',
          required: ['deviceId'],
          additionalProperties: false,
          properties: { deviceId },
        },
        body: {
          type: 'object',
          required: ['certificate'],
          additionalProperties: false,
          properties: {
            certificate: b64(1024, 'device certificate'),
            signedPrekey: b64(512, 'signed X25519 prekey'),
            kemPrekey: b64(2048, 'last-resort X-Wing prekey'),
            oneTimePrekeys: { type: 'array', maxItems: maxBatch, items: b64(256) },
            oneTimeKemPrekeys: { type: 'array', maxItems: maxBatch, items: b64(2048) },
            resetIdentity: { type: 'boolean' },
            password: {
              type: 'string',
              maxLength: 1024,
              description: 'the account password; proves it for resetIdentity',
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['oneTimePrekeys', 'oneTimeKemPrekeys', 'logIndex'],
            additionalProperties: false,
            properties: {
              ...countsSchema.properties,
              logIndex: { type: 'integer', description: "index of the certificate's key-log leaf" },
            },
          },
          ...errors(400, 401, 403, 409, 429),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      const dev = req.params.deviceId;
      if (dev !== c.dev) throw apiError('FORBIDDEN', 'a device can only upload its own keys');
      const body = req.body;

      const cert: DeviceCertificate = decode(
        body.certificate,
        'certificate',
        decodeDeviceCertificate,
      );
      if (cert.username !== c.sub || cert.deviceId !== dev) throw apiError('CERTIFICATE_MISMATCH');
      check('certificate', () => verifyDeviceCertificate(cert));
      const certBytes = fromBase64(body.certificate);

      const spk =
        body.signedPrekey === undefined
          ? null
          : decode(body.signedPrekey, 'signedPrekey', decodeSignedPrekey);
      if (spk) check('signedPrekey', () => verifySignedPrekey(cert.signingKey, spk));
      const kem =
        body.kemPrekey === undefined ? null : decode(body.kemPrekey, 'kemPrekey', decodeKemPrekey);
      if (kem) {
        check('kemPrekey', () => verifyKemPrekey(cert.signingKey, kem));
        if (!kem.lastResort)
          throw apiError('MALFORMED_KEY', 'kemPrekey must be a last-resort prekey');
      }
      const otks: StoredPrekey[] = (body.oneTimePrekeys ?? []).map((t, i) => {
        const p = decode(t, `oneTimePrekeys[${i}]`, decodeOneTimePrekey);
        return { id: p.id, data: fromBase64(t) };
      });
      const kemOtks: StoredPrekey[] = (body.oneTimeKemPrekeys ?? []).map((t, i) => {
        const p = decode(t, `oneTimeKemPrekeys[${i}]`, decodeKemPrekey);
        check(`oneTimeKemPrekeys[${i}]`, () => verifyKemPrekey(cert.signingKey, p));
        if (p.lastResort)
          throw apiError('MALFORMED_KEY', `oneTimeKemPrekeys[${i}] is a last-resort prekey`);
        return { id: p.id, data: fromBase64(t) };
      });

      const user = await store.getUser(c.sub);
      if (!user) throw apiError('UNAUTHORIZED');
      const current = await store.getDevice(c.sub, dev);
      const identityChanged = user.uik !== null && !equalBytes(user.uik, cert.uik);
      if (identityChanged && body.resetIdentity !== true) throw apiError('IDENTITY_MISMATCH');
      if (identityChanged) await checkReauth(c.sub, c.auth_time, body.password, user.passwordHash);

      // A device whose certificate changed must bring prekeys signed by its new signing key.
      const sameCert = current?.certificate != null && equalBytes(current.certificate, certBytes);
      if ((!sameCert || identityChanged) && (!spk || !kem)) throw apiError('PREKEYS_REQUIRED');

      if (identityChanged || user.uik === null) {
        await store.setUserIdentity(c.sub, cert.uik);
      }
      if (identityChanged) {
        const others = (await store.listDevices(c.sub)).filter((d) => d.deviceId !== dev);
        await ctx.notifyDevices(
          others.filter((d) => d.active).map((d) => ({ username: c.sub, deviceId: d.deviceId })),
          { type: 'device-removed', reason: 'identity-reset' },
        );
        for (const d of others) {
          const revoked = await store.revokeDeviceTokens(c.sub, d.deviceId);
          for (const t of revoked) {
            await ctx.publishEvent({
              type: 'token-revoked',
              jti: t.jti,
              username: c.sub,
              deviceId: d.deviceId,
            });
          }
          await store.deactivateDevice(c.sub, d.deviceId);
          await ctx.publishEvent({ type: 'device-revoked', username: c.sub, deviceId: d.deviceId });
        }
        await store.removeOtherDevices(c.sub, dev);
      }
      if (!sameCert || identityChanged) await store.clearOneTimePrekeys(c.sub, dev);

      const logIndex =
        sameCert && !identityChanged && current?.logIndex != null
          ? current.logIndex
          : await ctx.keyLog.append(c.sub, cert.uik, certBytes);
      await store.setDeviceKeys(c.sub, dev, {
        kind: cert.kind,
        certificate: certBytes,
        signedPrekey: spk ? fromBase64(body.signedPrekey ?? '') : null,
        kemPrekey: kem ? fromBase64(body.kemPrekey ?? '') : null,
        logIndex,
      });
      const counts =
        otks.length || kemOtks.length
          ? await store.addOneTimePrekeys(
              c.sub,
              dev,
              { x25519: otks, kem: kemOtks },
              config.prekeyCap,
            )
          : await store.countOneTimePrekeys(c.sub, dev);
      if (!sameCert)
        req.log.info({ username: c.sub, deviceId: dev, logIndex }, 'device keys published');
      return { ...counts, logIndex };
    },
  );

  app.get<{ Params: { deviceId: string } }>(
    '/v1/devices/:deviceId/keys/count',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['keys'],
        summary: 'Remaining one-time prekeys of this device',
        security: bearer,
        params: {
          type: 'object',
          required: ['deviceId'],
          additionalProperties: false,
          properties: { deviceId },
        },
        response: { 200: countsSchema, ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const c = claims(req);
      if (req.params.deviceId !== c.dev) throw apiError('FORBIDDEN');
      return store.countOneTimePrekeys(c.sub, c.dev);
    },
  );
}
