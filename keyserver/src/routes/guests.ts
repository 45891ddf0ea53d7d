/**
 * Guest accounts (issue 17, docs/API.md "Guests"): `POST /v1/guests` makes one without a
 * password and signs its first device in; `POST /v1/guests/upgrade` turns it into a full
 * account by setting a password, keeping name, keys and devices. Idle guests expire
 * (guests.ts); what a guest may not do is checked where it would happen.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { DEVICE_NAME_MAX, defaultDeviceName, loginPlatform } from '../device-names.ts';
import { apiError } from '../errors.ts';
import { newGuestName, startGuestExpiry } from '../guests.ts';
import { bearer, errors, password, sessionResponse, username } from '../schemas.ts';
import type { DevicePlatform } from '@sotto/server-core/store';

/** A new random name is tried this many times before giving up (2^32 names: never in practice). */
const NAME_ATTEMPTS = 5;

const guestSession = {
  ...sessionResponse,
  required: [...sessionResponse.required, 'username'],
  properties: { ...sessionResponse.properties, username },
} as const;

/** Register `/v1/guests*` and the expiry sweep (stopped when the app closes). */
export function guestRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store, config } = ctx;
  if (config.guests) {
    const stop = startGuestExpiry(ctx);
    app.addHook('onClose', (_app, done) => {
      stop();
      done();
    });
  }

  app.post<{ Body: { deviceName?: string; platform?: DevicePlatform } | null }>(
    '/v1/guests',
    {
      config: ctx.rateLimit('guest'),
      schema: {
        tags: ['accounts'],
        summary: 'Continue as guest: a new account without a password, signed in on a new device',
        description:
          'The name is `guest_` and 8 random hex digits. Guests may join rooms by invite or from the directory and reach their members, but not create rooms or things; they expire after `guestIdleMs` without a login or refresh. Limited per IP (`rateLimit.guest`).',
        body: {
          type: 'object',
          additionalProperties: false,
          nullable: true,
          properties: {
            deviceName: { type: 'string', minLength: 1, maxLength: DEVICE_NAME_MAX },
            platform: { type: 'string', enum: ['web', 'cli'] },
          },
        },
        response: { 201: guestSession, ...errors(400, 403, 429, 503) },
      },
    },
    async (req, reply) => {
      if (!config.guests) throw apiError('GUESTS_DISABLED');
      const ua = req.headers['user-agent'] ?? '';
      const platform = loginPlatform(req.body?.platform, ua);
      for (let i = 0; i < NAME_ATTEMPTS; i++) {
        const name = newGuestName();
        if (!(await store.createGuest(name, ctx.now()))) continue;
        const session = await ctx.startSession(name, {
          deviceId: randomBytes(12).toString('base64url'),
          name: req.body?.deviceName ?? defaultDeviceName(platform, ua),
          platform,
        });
        return reply.code(201).send({ ...session, username: name });
      }
      throw apiError('UNAVAILABLE', 'no free guest name; try again');
    },
  );

  app.post<{ Body: { password: string } }>(
    '/v1/guests/upgrade',
    {
      onRequest: ctx.authenticate,
      config: ctx.rateLimit('login'),
      schema: {
        tags: ['accounts'],
        summary:
          'Upgrade this guest account to a full one by setting a password; keeps the name, keys and devices',
        description:
          "Every token of the account is revoked (they carry the guest claim); the answer is this device's new pair.",
        security: bearer,
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          properties: { password },
        },
        response: { 200: sessionResponse, ...errors(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const c = claims(req);
      if (!c.gst) throw apiError('GUEST_NOT_ALLOWED', 'this account is not a guest');
      const passwordHash = await ctx.passwords.hash(req.body.password);
      if (!(await store.endGuest(c.sub, { as: 'upgraded', passwordHash }))) {
        throw apiError('GUEST_NOT_ALLOWED', 'this guest account has expired');
      }
      await store.revokeToken(c.jti, c.exp * 1000);
      await store.revokeUserTokens(c.sub);
      await ctx.publishEvent({ type: 'user-revoked', username: c.sub });
      return ctx.issueSession(c.sub, c.dev, { authTime: Math.floor(ctx.now() / 1000) });
    },
  );
}
