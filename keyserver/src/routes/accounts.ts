/**
 * Accounts and sessions (DESIGN.md §4.1): sign-up, log-in, refresh-token
 * rotation with family revocation on reuse, logout, password change.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { bearer, deviceId, errors, password, sessionResponse, username } from '../schemas.ts';
import { DEVICE_NAME_MAX, defaultDeviceName, loginPlatform } from '../device-names.ts';
import { MFA_TOKEN_TTL_MS, mfaChallengeResponse, mfaCode, verifySecondFactor } from './mfa.ts';
import type { DevicePlatform } from '@sotto/server-core/store';
import { refreshTokenHash } from '../sessions.ts';
import { refuseReservedName } from '../guests.ts';

/** What a banned user is told when login or refresh is refused. */
export function bannedMessage(reason: string): string {
  return reason
    ? `this account is banned by the server operators: ${reason}`
    : 'this account is banned by the server operators';
}

/** Register `/v1/accounts*` and `/v1/sessions*`. */
export function accountRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store, passwords, metrics } = ctx;

  app.post<{ Body: { username: string; password: string } }>(
    '/v1/accounts',
    {
      config: ctx.rateLimit('signup'),
      schema: {
        tags: ['accounts'],
        summary: 'Sign up',
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username, password },
        },
        response: {
          201: {
            type: 'object',
            required: ['username'],
            additionalProperties: false,
            properties: { username },
          },
          ...errors(400, 409, 429),
        },
      },
    },
    async (req, reply) => {
      const { username: name, password: pw } = req.body;
      // Hash first: a taken name costs as much as a free one.
      const passwordHash = await passwords.hash(pw);
      refuseReservedName(name);
      if (!(await store.createUser({ username: name, passwordHash, createdAt: ctx.now() }))) {
        throw apiError('USERNAME_TAKEN');
      }
      return reply.code(201).send({ username: name });
    },
  );

  app.post<{
    Body: {
      username: string;
      password: string;
      deviceId?: string;
      deviceName?: string;
      platform?: DevicePlatform;
      totp?: string;
    };
  }>(
    '/v1/sessions',
    {
      config: ctx.rateLimit('login'),
      schema: {
        tags: ['sessions'],
        summary:
          'Log in; a device id is generated when absent. With two-factor on and no `totp`, the answer is an mfaToken for POST /v1/sessions/mfa',
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          // The password schema is looser here: a wrong password of any length gets 401, not 400.
          properties: {
            username: { type: 'string', maxLength: 64 },
            password: { type: 'string', maxLength: 1024 },
            deviceId,
            deviceName: {
              type: 'string',
              minLength: 1,
              maxLength: DEVICE_NAME_MAX,
              description: 'name of a new device (default: browser and system, or "sotto CLI")',
            },
            platform: { type: 'string', enum: ['web', 'cli'] },
            totp: { ...mfaCode, description: 'the second factor in the same request (CLI)' },
          },
        },
        response: {
          200: { anyOf: [sessionResponse, mfaChallengeResponse] },
          ...errors(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const { username: name, password: pw } = req.body;
      const user = await store.getUser(name);
      // A guest has no password (an empty hash): checked like an unknown user, never a match.
      const ok = await ctx.checkPassword(name, user?.passwordHash || null, pw);
      if (!user || !ok) {
        metrics.logins.inc({ result: 'bad_credentials' });
        throw apiError('INVALID_CREDENTIALS');
      }
      // Checked after the password, so a ban says nothing to someone without it (and before
      // any second factor: a banned account gets no challenge either).
      const ban = await store.getBan(name);
      if (ban) {
        metrics.logins.inc({ result: 'banned' });
        throw apiError('ACCOUNT_BANNED', bannedMessage(ban.reason));
      }
      const ua = req.headers['user-agent'] ?? '';
      const platform = loginPlatform(req.body.platform, ua);
      const device = {
        deviceId: req.body.deviceId ?? randomBytes(12).toString('base64url'),
        name: req.body.deviceName ?? defaultDeviceName(platform, ua),
        platform,
      };
      const totp = await store.getTotp(name);
      if (totp?.enabled) {
        // [MFA-4] the password alone never yields a token when two-factor is on.
        if (req.body.totp === undefined) {
          metrics.logins.inc({ result: 'mfa_required' });
          const passkeys = await store.listPasskeys(name);
          return {
            mfaRequired: true,
            mfaToken: ctx.mfa.signChallenge({
              t: 'mfa',
              u: name,
              d: device.deviceId,
              n: device.name,
              p: platform,
              exp: ctx.now() + MFA_TOKEN_TTL_MS,
            }),
            methods: ['totp', 'recovery', ...(passkeys.length > 0 ? ['passkey'] : [])],
            expiresIn: MFA_TOKEN_TTL_MS / 1000,
          };
        }
        await verifySecondFactor(ctx, name, req.body.totp);
      }
      metrics.logins.inc({ result: 'ok' });
      return ctx.startSession(name, device);
    },
  );

  app.post<{ Body: { refreshToken: string } }>(
    '/v1/sessions/refresh',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Rotate a refresh token; a reused one revokes its whole family',
        body: {
          type: 'object',
          required: ['refreshToken'],
          additionalProperties: false,
          properties: { refreshToken: { type: 'string', minLength: 1, maxLength: 256 } },
        },
        response: { 200: sessionResponse, ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const use = await store.useRefreshToken(refreshTokenHash(req.body.refreshToken), ctx.now());
      if (use.status === 'unknown') throw apiError('INVALID_REFRESH_TOKEN');
      const { record } = use;
      if (use.status === 'reused') {
        // A replayed refresh token means it leaked: end every session of that device login.
        await store.revokeRefreshFamily(record.familyId);
        const revoked = await store.revokeDeviceTokens(record.username, record.deviceId);
        for (const t of revoked) {
          await ctx.publishEvent({
            type: 'token-revoked',
            jti: t.jti,
            username: t.username,
            deviceId: t.deviceId,
          });
        }
        req.log.warn(
          { username: record.username, deviceId: record.deviceId },
          'refresh token reuse: family revoked',
        );
        throw apiError('INVALID_REFRESH_TOKEN', 'refresh token reused; session revoked');
      }
      if (!(await store.isDeviceActive(record.username, record.deviceId))) {
        throw apiError('INVALID_REFRESH_TOKEN');
      }
      const ban = await store.getBan(record.username);
      if (ban) throw apiError('ACCOUNT_BANNED', bannedMessage(ban.reason));
      await store.touchDevice(record.username, record.deviceId, ctx.now());
      // The family's auth time, not now: a refresh proves possession of a token, not the password.
      return ctx.issueSession(record.username, record.deviceId, {
        familyId: record.familyId,
        authTime: record.authTime,
      });
    },
  );

  app.delete(
    '/v1/sessions/current',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['sessions'],
        summary:
          'Log out this device: its tokens stop working, on the broker too, and its keys are unpublished',
        security: bearer,
        response: { 204: { type: 'null' }, ...errors(401) },
      },
    },
    async (req, reply) => {
      const c = claims(req);
      await store.revokeToken(c.jti, c.exp * 1000);
      const revoked = await store.revokeDeviceTokens(c.sub, c.dev);
      if (!revoked.some((t) => t.jti === c.jti)) {
        revoked.push({ jti: c.jti, username: c.sub, deviceId: c.dev, expiresAt: c.exp * 1000 });
      }
      await store.deactivateDevice(c.sub, c.dev);
      // A logged-out browser is woken no more (docs/SECURITY.md "Web Push").
      await store.deletePushSubscription(c.sub, c.dev);
      for (const t of revoked) {
        await ctx.publishEvent({
          type: 'token-revoked',
          jti: t.jti,
          username: c.sub,
          deviceId: c.dev,
        });
      }
      await ctx.publishEvent({ type: 'device-revoked', username: c.sub, deviceId: c.dev });
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/v1/accounts/password',
    {
      onRequest: ctx.authenticate,
      config: ctx.rateLimit('login'),
      schema: {
        tags: ['accounts'],
        summary:
          'Change the password; revokes every token of the user and returns a new pair for this device',
        security: bearer,
        body: {
          type: 'object',
          required: ['currentPassword', 'newPassword'],
          additionalProperties: false,
          properties: {
            currentPassword: { type: 'string', maxLength: 1024 },
            newPassword: password,
          },
        },
        response: { 200: sessionResponse, ...errors(400, 401, 429) },
      },
    },
    async (req) => {
      const c = claims(req);
      const user = await store.getUser(c.sub);
      if (!user || !(await ctx.checkPassword(c.sub, user.passwordHash, req.body.currentPassword))) {
        throw apiError('INVALID_CREDENTIALS');
      }
      await store.setPasswordHash(c.sub, await passwords.hash(req.body.newPassword));
      await store.revokeToken(c.jti, c.exp * 1000);
      await store.revokeUserTokens(c.sub);
      await ctx.publishEvent({ type: 'user-revoked', username: c.sub });
      return ctx.issueSession(c.sub, c.dev, { authTime: Math.floor(ctx.now() / 1000) });
    },
  );
}
