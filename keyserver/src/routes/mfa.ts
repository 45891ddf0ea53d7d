/**
 * Two-factor sign-in (issue 19; docs/API.md "Two-factor", docs/SECURITY.md "Two-factor"): TOTP
 * enrolment, confirmation and disabling, recovery codes, the second step of a login that was
 * answered with an `mfaToken`, and step-up (a fresh `auth_time` for sensitive actions).
 *
 * Every code check spends one of the account's second-factor attempts first (`takeMfaAttempt`),
 * and a TOTP code is accepted once: the store keeps the highest time step used.
 */
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { apiError, rateLimited } from '../errors.ts';
import {
  MfaSecretError,
  type MfaChallenge,
  newRecoveryCodes,
  newTotpSecret,
  totpProvisioning,
  totpStep,
} from '../mfa.ts';
import { bearer, emptyBody, errors, sessionResponse } from '../schemas.ts';

/** How long the `mfaToken` of a login that needs a second factor is good for (ms). */
export const MFA_TOKEN_TTL_MS = 5 * 60_000;

/** A TOTP code or a recovery code as the schemas take them: loose, so a wrong one is a 401. */
export const mfaCode = { type: 'string', minLength: 1, maxLength: 64 } as const;

const recoveryCodesResponse = {
  type: 'object',
  required: ['recoveryCodes'],
  additionalProperties: false,
  properties: {
    recoveryCodes: {
      type: 'array',
      items: { type: 'string' },
      description: 'shown once: only their hashes are kept',
    },
  },
} as const;

/** Body of a login answered with "now the second factor". */
export const mfaChallengeResponse = {
  type: 'object',
  required: ['mfaRequired', 'mfaToken', 'methods', 'expiresIn'],
  additionalProperties: false,
  properties: {
    mfaRequired: { type: 'boolean', enum: [true] },
    mfaToken: { type: 'string', description: 'send to POST /v1/sessions/mfa with the code' },
    methods: { type: 'array', items: { type: 'string', enum: ['totp', 'recovery', 'passkey'] } },
    expiresIn: { type: 'integer', description: 'seconds the mfaToken is good for' },
  },
} as const;

/**
 * Check a second factor of `username`: six digits are a TOTP code (right within ±1 step and
 * not used before), anything else a recovery code (removed on use). Spends one attempt first;
 * throws `MFA_CODE_INVALID` or `RATE_LIMITED`.
 */
export async function verifySecondFactor(
  ctx: Ctx,
  username: string,
  code: string,
): Promise<'totp' | 'recovery'> {
  await ctx.takeMfaAttempt(username);
  const totp = await ctx.store.getTotp(username);
  if (!totp?.enabled) throw apiError('MFA_CODE_INVALID');
  if (/^\s*\d{6}\s*$/.test(code)) {
    const step = totpStep(ctx.mfa.open(username, totp.sealedSecret), code.trim(), ctx.now());
    if (step === null) throw apiError('MFA_CODE_INVALID');
    // [MFA-1] each code once: a step at or below the last accepted one is a replay.
    if (!(await ctx.store.useTotpStep(username, step)))
      throw apiError('MFA_CODE_INVALID', 'code already used; wait for the next one');
    return 'totp';
  }
  // [MFA-2] a recovery code works once: the store removes its hash atomically.
  if (!(await ctx.store.useRecoveryCode(username, ctx.mfa.hashRecoveryCode(username, code))))
    throw apiError('MFA_CODE_INVALID');
  return 'recovery';
}

/** The login an `mfaToken` stands for; a bad or expired one is 401 `INVALID_MFA_TOKEN`. */
export function verifyMfaToken(ctx: Ctx, token: string): MfaChallenge {
  try {
    return ctx.mfa.verifyChallenge(token, 'mfa', ctx.now());
  } catch (err) {
    if (err instanceof MfaSecretError) throw apiError('INVALID_MFA_TOKEN', err.message, err);
    throw err;
  }
}

/** Check the caller's password under the password budget and login backoff; 401 when wrong. */
async function checkCallerPassword(ctx: Ctx, username: string, password: string): Promise<void> {
  const budget = await ctx.takePasswordAttempt(`stepup:${username}`);
  if (!budget.ok) throw rateLimited('too many password attempts', budget.retryInMs);
  const user = await ctx.store.getUser(username);
  if (!(await ctx.checkPassword(username, user?.passwordHash ?? null, password)) || !user)
    throw apiError('INVALID_CREDENTIALS', 'wrong password');
}

/** Fresh recovery codes for `username`: their hashes replace the old set. */
async function issueRecoveryCodes(ctx: Ctx, username: string): Promise<string[]> {
  const codes = newRecoveryCodes();
  await ctx.store.setRecoveryCodes(
    username,
    codes.map((c) => ctx.mfa.hashRecoveryCode(username, c)),
  );
  return codes;
}

/** Register the two-factor, recovery-code and step-up routes. */
export function mfaRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;

  app.get(
    '/v1/me/mfa',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['mfa'],
        summary: "The caller's second factors: TOTP on or off, recovery codes left, passkeys",
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['totp', 'recoveryCodesLeft', 'passkeys'],
            additionalProperties: false,
            properties: {
              totp: { type: 'boolean' },
              recoveryCodesLeft: { type: 'integer' },
              passkeys: { type: 'integer' },
            },
          },
          ...errors(401),
        },
      },
    },
    async (req) => {
      const u = claims(req).sub;
      const [totp, left, passkeys] = await Promise.all([
        store.getTotp(u),
        store.countRecoveryCodes(u),
        store.listPasskeys(u),
      ]);
      return { totp: totp?.enabled === true, recoveryCodesLeft: left, passkeys: passkeys.length };
    },
  );

  app.post(
    '/v1/me/totp',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['mfa'],
        summary:
          'Start TOTP enrolment (step-up): a new secret, pending until confirmed with a code',
        security: bearer,
        body: emptyBody,
        response: {
          200: {
            type: 'object',
            required: ['secret', 'uri'],
            additionalProperties: false,
            properties: {
              secret: { type: 'string', description: 'base32, for typing into an app' },
              uri: { type: 'string', description: 'otpauth:// URI for the QR code' },
            },
          },
          ...errors(401, 403, 409),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      ctx.requireRecentAuth(c);
      if ((await store.getTotp(c.sub))?.enabled) throw apiError('MFA_ALREADY_ENABLED');
      const secret = newTotpSecret();
      await store.setTotp(c.sub, ctx.mfa.seal(c.sub, secret), false);
      const issuer = new URL(ctx.config.publicUrl).host;
      const { uri, base32 } = totpProvisioning(secret, c.sub, `Sotto (${issuer})`);
      return { secret: base32, uri };
    },
  );

  app.post<{ Body: { code: string } }>(
    '/v1/me/totp/confirm',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['mfa'],
        summary: 'Confirm TOTP enrolment with a code: 2FA is on; returns ten recovery codes',
        security: bearer,
        body: {
          type: 'object',
          required: ['code'],
          additionalProperties: false,
          properties: { code: mfaCode },
        },
        response: { 200: recoveryCodesResponse, ...errors(400, 401, 403, 409, 429) },
      },
    },
    async (req) => {
      const c = claims(req);
      ctx.requireRecentAuth(c);
      const totp = await store.getTotp(c.sub);
      if (!totp) throw apiError('MFA_NOT_ENABLED', 'start enrolment first (POST /v1/me/totp)');
      if (totp.enabled) throw apiError('MFA_ALREADY_ENABLED');
      await ctx.takeMfaAttempt(c.sub);
      const secret = ctx.mfa.open(c.sub, totp.sealedSecret);
      const step = totpStep(secret, req.body.code.trim(), ctx.now());
      if (step === null || !(await store.useTotpStep(c.sub, step)))
        throw apiError('MFA_CODE_INVALID');
      await store.setTotp(c.sub, totp.sealedSecret, true);
      return { recoveryCodes: await issueRecoveryCodes(ctx, c.sub) };
    },
  );

  app.post<{ Body: { password: string; code: string } }>(
    '/v1/me/totp/disable',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['mfa'],
        summary: 'Turn TOTP off: needs the password and a code (TOTP or recovery code)',
        security: bearer,
        body: {
          type: 'object',
          required: ['password', 'code'],
          additionalProperties: false,
          properties: { password: { type: 'string', maxLength: 1024 }, code: mfaCode },
        },
        response: { 204: { type: 'null' }, ...errors(400, 401, 409, 429) },
      },
    },
    async (req, reply) => {
      const c = claims(req);
      // [MFA-3] the password in the request is the step-up, the code proves the authenticator.
      await checkCallerPassword(ctx, c.sub, req.body.password);
      if (!(await store.getTotp(c.sub))?.enabled) throw apiError('MFA_NOT_ENABLED');
      await verifySecondFactor(ctx, c.sub, req.body.code);
      await store.deleteTotp(c.sub);
      await store.setRecoveryCodes(c.sub, []);
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/me/recovery-codes',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['mfa'],
        summary: 'Regenerate the recovery codes (step-up): the old ones stop working',
        security: bearer,
        body: emptyBody,
        response: { 200: recoveryCodesResponse, ...errors(401, 403, 409) },
      },
    },
    async (req) => {
      const c = claims(req);
      ctx.requireRecentAuth(c);
      if (!(await store.getTotp(c.sub))?.enabled) throw apiError('MFA_NOT_ENABLED');
      return { recoveryCodes: await issueRecoveryCodes(ctx, c.sub) };
    },
  );

  app.post<{ Body: { mfaToken: string; code: string } }>(
    '/v1/sessions/mfa',
    {
      config: ctx.rateLimit('login'),
      schema: {
        tags: ['sessions'],
        summary: 'Second step of a login: the mfaToken from POST /v1/sessions and a code',
        body: {
          type: 'object',
          required: ['mfaToken', 'code'],
          additionalProperties: false,
          properties: { mfaToken: { type: 'string', maxLength: 2048 }, code: mfaCode },
        },
        response: { 200: sessionResponse, ...errors(400, 401, 429) },
      },
    },
    async (req) => {
      const challenge = verifyMfaToken(ctx, req.body.mfaToken);
      const method = await verifySecondFactor(ctx, challenge.u, req.body.code);
      ctx.metrics.logins.inc({ result: method === 'totp' ? 'ok_totp' : 'ok_recovery' });
      return ctx.startSession(challenge.u, {
        deviceId: challenge.d,
        name: challenge.n,
        platform: challenge.p,
      });
    },
  );

  app.post<{ Body: { password: string } }>(
    '/v1/sessions/step-up',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['sessions'],
        summary:
          'Prove the password again: a new access token for this device with auth_time now (5 minutes of sensitive actions)',
        security: bearer,
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          properties: { password: { type: 'string', maxLength: 1024 } },
        },
        response: {
          200: {
            type: 'object',
            required: ['accessToken', 'expiresIn'],
            additionalProperties: false,
            properties: {
              accessToken: sessionResponse.properties.accessToken,
              expiresIn: sessionResponse.properties.expiresIn,
            },
          },
          ...errors(400, 401, 429),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      await checkCallerPassword(ctx, c.sub, req.body.password);
      return issueStepUpToken(ctx, c.sub, c.dev);
    },
  );
}

/** An access token for `username`'s device with `auth_time` now (recorded, so it can be revoked). */
export async function issueStepUpToken(
  ctx: Ctx,
  username: string,
  deviceId: string,
): Promise<{ accessToken: string; expiresIn: number }> {
  const device = await ctx.store.getDevice(username, deviceId);
  const kind = device?.kind === 'bot' || device?.kind === 'bridge' ? 'bot' : 'user';
  const t = ctx.issuer.issue({
    sub: username,
    dev: deviceId,
    kind,
    authTime: Math.floor(ctx.now() / 1000),
  });
  await ctx.store.recordAccessToken({ jti: t.jti, username, deviceId, expiresAt: t.expiresAt });
  return { accessToken: t.token, expiresIn: ctx.config.accessTokenTtl };
}
