/**
 * Device keys and the key directory (DESIGN.md §4.1): upload a device's
 * certificate and prekeys (every signature verified with @sotto/crypto before
 * anything is stored), count one-time prekeys, look a user up, claim a bundle
 * (one device, or up to {@link MAX_BATCH_CLAIM} devices in one request).
 *
 * Issue 14: an identity reset needs the password (or a fresh password login),
 * and claims are capped per (device, claiming account), with a `prekeys-low`
 * notice to a device whose supply runs low (docs/SECURITY.md).
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
  toBase64,
  verifyDeviceCertificate,
  verifyKemPrekey,
  verifySignedPrekey,
  type DeviceCertificate,
} from '@sotto/crypto';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { b64, bearer, deviceId, emptyBody, errors, username } from '../schemas.ts';
import type { ClaimedBundle, StoredPrekey } from '../store/types.ts';

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

/** Most devices remembered for the `prekeys-low` throttle (oldest forgotten first). */
const MAX_NOTICE_THROTTLE = 100_000;

/** Devices one batched claim may name (a 500-device group takes five requests). */
export const MAX_BATCH_CLAIM = 100;

const bundleSchema = {
  type: 'object',
  required: ['certificate', 'signedPrekey', 'kemPrekey', 'oneTimePrekey'],
  additionalProperties: false,
  properties: {
    certificate: { type: 'string' },
    signedPrekey: { type: 'string' },
    kemPrekey: { type: 'string' },
    oneTimePrekey: { type: ['string', 'null'] },
  },
} as const;

const countsSchema = {
  type: 'object',
  required: ['oneTimePrekeys', 'oneTimeKemPrekeys'],
  additionalProperties: false,
  properties: {
    oneTimePrekeys: { type: 'integer' },
    oneTimeKemPrekeys: { type: 'integer' },
  },
} as const;

/**
 * base64url without padding via Buffer — the same encoding as crypto's
 * `toBase64`, several times faster on the hot bundle-claim path.
 */
function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

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

/** Register `/v1/devices/*` and `/v1/users/*`. */
export function keyRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store, config, metrics } = ctx;
  const maxBatch = config.prekeysPerUpload;
  const { perClaimant, windowMs, lowWater, noticeIntervalMs } = config.prekeyClaims;

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
      if (!budget.ok)
        throw apiError(
          'RATE_LIMITED',
          `too many password attempts; retry in ${Math.ceil(budget.retryInMs / 1000)} s`,
        );
      // Argon2 on libuv's thread pool (passwords.ts): the event loop is not held meanwhile.
      if (!(await ctx.passwords.verify(passwordHash, password)))
        throw apiError('INVALID_CREDENTIALS', 'wrong password');
      return;
    }
    const age = Math.floor(ctx.now() / 1000) - (authTime ?? Number.NEGATIVE_INFINITY);
    if (!(age <= REAUTH_MAX_AGE_S)) throw apiError('REAUTH_REQUIRED');
  }

  /** Devices sent a `prekeys-low` notice, and when (insertion order = oldest first). */
  const lowNoticeAt = new Map<string, number>();

  /**
   * Claim a bundle under the claimant's quota and, when the claim left the device below the
   * low-water mark, tell the device (throttled per device). The notice is not awaited: a slow
   * broker must not hold up the claim, and notifyDevices logs its own failures.
   */
  async function claimBundle(
    claimant: string,
    username: string,
    deviceId: string,
  ): Promise<ClaimedBundle | null> {
    const b = await store.claimPrekeyBundle(username, deviceId, {
      claimant,
      max: perClaimant,
      windowMs,
    });
    if (!b) return b;
    const took = b.oneTimePrekey !== null || !b.kemLastResort;
    const remaining = Math.min(b.remaining.oneTimePrekeys, b.remaining.oneTimeKemPrekeys);
    if (took && remaining < lowWater) {
      const key = `${username}/${deviceId}`;
      const t = ctx.now();
      const last = lowNoticeAt.get(key);
      if (last === undefined || t - last >= noticeIntervalMs) {
        lowNoticeAt.delete(key);
        lowNoticeAt.set(key, t);
        if (lowNoticeAt.size > MAX_NOTICE_THROTTLE) {
          const oldest = lowNoticeAt.keys().next().value;
          if (oldest !== undefined) lowNoticeAt.delete(oldest);
        }
        void ctx.notifyDevices([{ username, deviceId }], { type: 'prekeys-low', remaining });
      }
    }
    return b;
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

  app.get<{ Params: { username: string } }>(
    '/v1/users/:username',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['keys'],
        summary: "A user's identity key and device certificates",
        description:
          'A user without published keys answers 200 with `uik: null, devices: []`; 404 only for no such user.',
        security: bearer,
        params: {
          type: 'object',
          required: ['username'],
          additionalProperties: false,
          properties: { username },
        },
        response: {
          200: {
            type: 'object',
            required: ['username', 'uik', 'devices'],
            additionalProperties: false,
            properties: {
              username,
              uik: { type: ['string', 'null'], description: 'base64url Ed25519 UIK' },
              devices: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['deviceId', 'kind', 'certificate', 'logIndex'],
                  additionalProperties: false,
                  properties: {
                    deviceId,
                    kind: { type: 'string', enum: ['user', 'bot', 'bridge'] },
                    certificate: { type: 'string', description: 'base64url device certificate' },
                    logIndex: { type: ['integer', 'null'] },
                  },
                },
              },
            },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    async (req) => {
      const user = await store.getUser(req.params.username);
      if (!user) throw apiError('USER_NOT_FOUND');
      const devices = (await store.listDevices(user.username))
        .filter((d) => d.active && d.certificate)
        .map((d) => ({
          deviceId: d.deviceId,
          kind: d.kind,
          certificate: toBase64(d.certificate ?? new Uint8Array()),
          logIndex: d.logIndex,
        }));
      return { username: user.username, uik: user.uik ? toBase64(user.uik) : null, devices };
    },
  );

  app.post<{ Params: { username: string; deviceId: string } }>(
    '/v1/users/:username/devices/:deviceId/bundle',
    {
      onRequest: ctx.authenticate,
      config: ctx.rateLimit('bundle'),
      schema: {
        tags: ['keys'],
        summary: 'Claim a prekey bundle (consumes one one-time prekey of each kind)',
        description:
          'Each one-time prekey goes to exactly one caller. When one-time X-Wing prekeys run out the ' +
          'last-resort one is returned; when one-time X25519 prekeys run out `oneTimePrekey` is null. ' +
          'One calling account gets at most `prekeyClaims.perClaimant` one-time prekeys of one device ' +
          'per `prekeyClaims.windowMs` (default 5 per 24 h); beyond that the claim still succeeds, ' +
          'with the last-resort KEM prekey and `oneTimePrekey: null`. A claim that leaves the device ' +
          'low sends it a `prekeys-low` control notice.',
        security: bearer,
        params: {
          type: 'object',
          required: ['username', 'deviceId'],
          additionalProperties: false,
          properties: { username, deviceId },
        },
        body: emptyBody,
        response: {
          200: bundleSchema,
          ...errors(400, 401, 404, 429),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      const b = await claimBundle(c.sub, req.params.username, req.params.deviceId);
      if (!b) {
        metrics.prekeyClaims.inc({ result: 'not_found' });
        throw apiError('DEVICE_NOT_FOUND');
      }
      metrics.prekeyClaims.inc({ result: b.oneTimePrekey ? 'one_time' : 'exhausted' });
      return bundleJson(b);
    },
  );

  app.post<{ Body: { devices: { username: string; deviceId: string }[] } }>(
    '/v1/bundles/claim',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['keys'],
        summary: `Claim prekey bundles of up to ${MAX_BATCH_CLAIM} devices in one request`,
        description:
          'The batched form of the single-device claim, for the first message to a large group: ' +
          'bundles come back in the order asked, each consuming one one-time prekey of each kind ' +
          'exactly as a single claim does (each goes to exactly one caller). A device without ' +
          'published keys gets `bundle: null` instead of failing the request. Rate-limited by ' +
          "count: every device named spends one claim of the calling device's budget " +
          "(`rateLimit.bundle` per window, separate from the single-claim route's); a request " +
          'that would go over is refused whole (429) and claims nothing. The per-claimant cap ' +
          'on one-time prekeys applies as on the single claim.',
        security: bearer,
        body: {
          type: 'object',
          required: ['devices'],
          additionalProperties: false,
          properties: {
            devices: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_BATCH_CLAIM,
              uniqueItems: true,
              items: {
                type: 'object',
                required: ['username', 'deviceId'],
                additionalProperties: false,
                properties: { username, deviceId },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['bundles'],
            additionalProperties: false,
            properties: {
              bundles: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['username', 'deviceId', 'bundle'],
                  additionalProperties: false,
                  properties: {
                    username: { type: 'string' },
                    deviceId: { type: 'string' },
                    bundle: { anyOf: [bundleSchema, { type: 'null' }] },
                  },
                },
              },
            },
          },
          ...errors(400, 401, 429),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      const { devices } = req.body;
      const budget = await ctx.takeClaims(`${c.sub}:${c.dev}`, devices.length);
      if (!budget.ok)
        throw apiError(
          'RATE_LIMITED',
          `too many bundle claims; retry in ${Math.ceil(budget.retryInMs / 1000)} s`,
        );
      // Each claim is the store's own atomic take of a one-time prekey; asked all at once,
      // SQLite commits them together (one group commit) and Redis gets them in one pipeline.
      const claimed = await Promise.all(
        devices.map((d) => claimBundle(c.sub, d.username, d.deviceId)),
      );
      const bundles = devices.map((d, i) => {
        const b = claimed[i] ?? null;
        metrics.prekeyClaims.inc({
          result: !b ? 'not_found' : b.oneTimePrekey ? 'one_time' : 'exhausted',
        });
        return { username: d.username, deviceId: d.deviceId, bundle: b ? bundleJson(b) : null };
      });
      return { bundles };
    },
  );
}

/** The wire form of a claimed bundle (shared by both claim routes). */
function bundleJson(b: {
  certificate: Uint8Array;
  signedPrekey: Uint8Array;
  kemPrekey: Uint8Array;
  oneTimePrekey: Uint8Array | null;
}): { certificate: string; signedPrekey: string; kemPrekey: string; oneTimePrekey: string | null } {
  return {
    certificate: b64url(b.certificate),
    signedPrekey: b64url(b.signedPrekey),
    kemPrekey: b64url(b.kemPrekey),
    oneTimePrekey: b.oneTimePrekey ? b64url(b.oneTimePrekey) : null,
  };
}
