/**
 * Guest accounts (issue 17, docs/API.md "Guests"): `POST /v1/guests` makes one without a
 * password and signs its first device in; `POST /v1/guests/upgrade` turns it into a full
 * account by setting a password, keeping keys, rooms and history — under the guest name, or
 * under a username of its choice with a rename signed by its identity key (guest-rename.ts).
 * Idle guests expire (guests.ts); what a guest may not do is checked where it would happen.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { DEVICE_NAME_MAX, defaultDeviceName, loginPlatform } from '../device-names.ts';
import { apiError } from '../errors.ts';
import { checkGuestRename, type RenameBody } from '../guest-rename.ts';
import { newGuestName, startGuestExpiry } from '../guests.ts';
import { b64, bearer, errors, password, sessionResponse, username } from '../schemas.ts';
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

  app.post<{ Body: { password: string } & Partial<RenameBody> }>(
    '/v1/guests/upgrade',
    {
      onRequest: ctx.authenticate,
      config: ctx.rateLimit('login'),
      schema: {
        tags: ['accounts'],
        summary:
          'Upgrade this guest account to a full one by setting a password, optionally under a new username; keeps keys, rooms and history',
        description:
          "Without `username` the account keeps its guest name. With it, `rename` (a rename statement from the guest name to `username`, PROTOCOL.md §3.3) and `certificate` (this device's certificate for `username`, same keys) must both be signed by the account's identity key; the account, its device and keys move to `username` at once, the key log gets the certificate and the rename under both names, and the guest name is reserved for ever (400 RENAME_MISMATCH, 409 USERNAME_TAKEN for a taken or reserved name). Every token of the account is revoked (they carry the guest claim or the old name, and its broker sessions are closed); the answer is this device's new pair, with the account's username.",
        security: bearer,
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          dependencies: {
            username: ['rename', 'certificate'],
            rename: ['username'],
            certificate: ['username'],
          },
          properties: {
            password,
            username,
            rename: b64(1024, 'base64url rename statement'),
            certificate: b64(1024, 'base64url device certificate for `username`'),
          },
        },
        response: { 200: guestSession, ...errors(400, 401, 403, 409, 429) },
      },
    },
    async (req) => {
      const c = claims(req);
      if (!c.gst) throw apiError('GUEST_NOT_ALLOWED', 'this account is not a guest');
      const passwordHash = await ctx.passwords.hash(req.body.password);
      const { username: to, rename, certificate } = req.body;
      let name = c.sub;
      if (to !== undefined && rename !== undefined && certificate !== undefined) {
        const request = await checkGuestRename(
          store,
          c,
          { username: to, rename, certificate },
          passwordHash,
          ctx.now(),
        );
        const done = await store.renameGuest(request);
        if (!done.ok && done.reason === 'taken') throw apiError('USERNAME_TAKEN');
        if (!done.ok) throw apiError('GUEST_NOT_ALLOWED', 'this account is no longer a guest');
        name = to;
        req.log.info({ from: c.sub, to, logIndexes: done.logIndexes }, 'guest renamed');
      } else if (!(await store.endGuest(c.sub, { as: 'upgraded', passwordHash }))) {
        throw apiError('GUEST_NOT_ALLOWED', 'this guest account has expired');
      }
      // The old tokens stay filed under the old name: this finds them after a rename too.
      await store.revokeToken(c.jti, c.exp * 1000);
      await store.revokeUserTokens(c.sub);
      await ctx.publishEvent({ type: 'user-revoked', username: c.sub });
      const session = await ctx.issueSession(name, c.dev, {
        authTime: Math.floor(ctx.now() / 1000),
      });
      return { ...session, username: name };
    },
  );
}
