/**
 * Passkeys (issue 19; docs/API.md "Passkeys"): WebAuthn registration, sign-in with a
 * discoverable credential (user verification required, so the passkey stands for both
 * factors), a passkey as the second step of a password login, step-up with a passkey, and
 * list / rename / remove. Verification is
 * `@simplewebauthn/server`'s; the relying-party id and origin come from `publicUrl`.
 *
 * Challenges are not kept in the store: each ceremony's challenge travels in a token signed with
 * the MFA key (`mfa.ts`), good for 5 minutes and spent on first use (`spendChallenge`).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { DEVICE_NAME_MAX, defaultDeviceName, loginPlatform } from '../device-names.ts';
import { MfaSecretError, type ChallengeByKind } from '../mfa.ts';
import { bearer, deviceId, emptyBody, errors, sessionResponse } from '../schemas.ts';
import { issueStepUpToken, verifyMfaToken } from './mfa.ts';
import type { DevicePlatform, PasskeyRecord } from '@sotto/server-core/store';

/** How long a WebAuthn ceremony's challenge token is good for (ms). */
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60_000;
/** Most passkeys per account. */
export const MAX_PASSKEYS = 20;

/** A WebAuthn JSON credential as the browser library produces it (spec-defined, checked by the verifier). */
const credentialJson = {
  type: 'object',
  required: ['id', 'rawId', 'response', 'type'],
  properties: {
    id: { type: 'string', maxLength: 1024 },
    rawId: { type: 'string', maxLength: 1024 },
    type: { type: 'string', enum: ['public-key'] },
    response: { type: 'object' },
  },
} as const;

const ceremonyResponse = {
  type: 'object',
  required: ['options', 'challengeToken'],
  additionalProperties: false,
  properties: {
    options: {
      type: 'object',
      additionalProperties: true,
      description: 'PublicKeyCredential{Creation,Request}OptionsJSON for the browser',
    },
    challengeToken: { type: 'string', description: 'send back with the response' },
  },
} as const;

const passkeySchema = {
  type: 'object',
  required: ['id', 'name', 'createdAt', 'lastUsedAt'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', description: 'base64url credential id' },
    name: { type: 'string' },
    createdAt: { type: 'integer' },
    lastUsedAt: { type: ['integer', 'null'] },
  },
} as const;

const nameSchema = { type: 'string', minLength: 1, maxLength: DEVICE_NAME_MAX, pattern: '\\S' };
const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,1024}$' } },
} as const;

const view = (p: PasskeyRecord) => ({
  id: p.credentialId,
  name: p.name,
  createdAt: p.createdAt,
  lastUsedAt: p.lastUsedAt,
});

/** Register the passkey routes. */
export function passkeyRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;
  const publicUrl = new URL(ctx.config.publicUrl);
  const rpID = publicUrl.hostname;
  const origin = publicUrl.origin;

  /** The challenge of a token of kind `t`, spent now; a bad, expired or spent one is a 401. */
  async function challengeOf<T extends 'passkey-reg' | 'passkey-auth'>(
    token: string,
    t: T,
  ): Promise<ChallengeByKind[T]> {
    let c;
    try {
      c = ctx.mfa.verifyChallenge(token, t, ctx.now());
    } catch (err) {
      if (err instanceof MfaSecretError) throw apiError('INVALID_MFA_TOKEN', err.message, err);
      throw err;
    }
    // [PK-1] a challenge answers one ceremony: a replayed assertion finds it spent.
    if (!(await ctx.spendChallenge(c.c))) throw apiError('INVALID_MFA_TOKEN', 'challenge used');
    return c;
  }

  /** Verify an assertion against its stored passkey; records the use. */
  async function verifyAssertion(
    response: AuthenticationResponseJSON,
    challenge: string,
  ): Promise<PasskeyRecord> {
    const pk = await store.getPasskey(response.id);
    if (!pk) throw apiError('PASSKEY_INVALID', 'this passkey is not registered');
    let result;
    try {
      result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: true,
        credential: {
          id: pk.credentialId,
          publicKey: new Uint8Array(pk.publicKey),
          counter: pk.counter,
          transports: pk.transports,
        },
      });
    } catch (err) {
      throw apiError('PASSKEY_INVALID', (err as Error).message, err);
    }
    if (!result.verified) throw apiError('PASSKEY_INVALID');
    await store.usePasskey(pk.credentialId, result.authenticationInfo.newCounter, ctx.now());
    return pk;
  }

  async function authOptions() {
    const options = await generateAuthenticationOptions({
      rpID,
      userVerification: 'required',
      timeout: PASSKEY_CHALLENGE_TTL_MS,
    });
    const challengeToken = ctx.mfa.signChallenge({
      t: 'passkey-auth',
      c: options.challenge,
      exp: ctx.now() + PASSKEY_CHALLENGE_TTL_MS,
    });
    return { options, challengeToken };
  }

  app.get(
    '/v1/me/passkeys',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['passkeys'],
        summary: "The caller's passkeys",
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['passkeys'],
            additionalProperties: false,
            properties: { passkeys: { type: 'array', items: passkeySchema } },
          },
          ...errors(401),
        },
      },
    },
    async (req) => ({ passkeys: (await store.listPasskeys(claims(req).sub)).map(view) }),
  );

  app.post(
    '/v1/me/passkeys/options',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['passkeys'],
        summary: 'Start registering a passkey (step-up): creation options and a challenge token',
        security: bearer,
        body: emptyBody,
        response: { 200: ceremonyResponse, ...errors(401, 403, 409) },
      },
    },
    async (req) => {
      const c = claims(req);
      ctx.requireRecentAuth(c);
      const existing = await store.listPasskeys(c.sub);
      if (existing.length >= MAX_PASSKEYS)
        throw apiError('VALIDATION_FAILED', `at most ${MAX_PASSKEYS} passkeys`);
      const options = await generateRegistrationOptions({
        rpName: 'Sotto',
        rpID,
        userName: c.sub,
        userID: new TextEncoder().encode(c.sub),
        attestationType: 'none',
        timeout: PASSKEY_CHALLENGE_TTL_MS,
        excludeCredentials: existing.map((p) => ({ id: p.credentialId })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      });
      const challengeToken = ctx.mfa.signChallenge({
        t: 'passkey-reg',
        u: c.sub,
        c: options.challenge,
        exp: ctx.now() + PASSKEY_CHALLENGE_TTL_MS,
      });
      return { options, challengeToken };
    },
  );

  app.post<{ Body: { challengeToken: string; response: RegistrationResponseJSON; name?: string } }>(
    '/v1/me/passkeys',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['passkeys'],
        summary: 'Finish registering a passkey (step-up) with the authenticator’s response',
        security: bearer,
        body: {
          type: 'object',
          required: ['challengeToken', 'response'],
          additionalProperties: false,
          properties: {
            challengeToken: { type: 'string', maxLength: 2048 },
            response: credentialJson,
            name: nameSchema,
          },
        },
        response: { 201: passkeySchema, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      const c = claims(req);
      ctx.requireRecentAuth(c);
      const ch = await challengeOf(req.body.challengeToken, 'passkey-reg');
      // [PK-2] a registration ceremony started by one account cannot finish on another.
      if (ch.u !== c.sub) throw apiError('INVALID_MFA_TOKEN', 'challenge is for another account');
      let result;
      try {
        result = await verifyRegistrationResponse({
          response: req.body.response,
          expectedChallenge: ch.c,
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
        });
      } catch (err) {
        throw apiError('PASSKEY_INVALID', (err as Error).message, err);
      }
      if (!result.verified) throw apiError('PASSKEY_INVALID');
      const cred = result.registrationInfo.credential;
      const count = (await store.listPasskeys(c.sub)).length;
      const record: PasskeyRecord = {
        credentialId: cred.id,
        username: c.sub,
        publicKey: new Uint8Array(cred.publicKey),
        counter: cred.counter,
        transports: cred.transports ?? [],
        name: req.body.name?.trim() ?? `Passkey ${count + 1}`,
        createdAt: ctx.now(),
        lastUsedAt: null,
      };
      if (!(await store.addPasskey(record)))
        throw apiError('VALIDATION_FAILED', 'this passkey is already registered');
      return reply.code(201).send(view(record));
    },
  );

  app.patch<{ Params: { id: string }; Body: { name: string } }>(
    '/v1/me/passkeys/:id',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['passkeys'],
        summary: 'Rename one of the caller’s passkeys',
        security: bearer,
        params: idParams,
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: nameSchema },
        },
        response: { 200: passkeySchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const c = claims(req);
      if (!(await store.renamePasskey(c.sub, req.params.id, req.body.name.trim())))
        throw apiError('NOT_FOUND', 'no such passkey');
      const p = await store.getPasskey(req.params.id);
      if (!p) throw apiError('NOT_FOUND', 'no such passkey');
      return view(p);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/me/passkeys/:id',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['passkeys'],
        summary: 'Remove one of the caller’s passkeys (step-up)',
        security: bearer,
        params: idParams,
        response: { 204: { type: 'null' }, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      const c = claims(req);
      ctx.requireRecentAuth(c);
      if (!(await store.removePasskey(c.sub, req.params.id)))
        throw apiError('NOT_FOUND', 'no such passkey');
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/passkeys/login/options',
    {
      config: ctx.rateLimit('login'),
      schema: {
        tags: ['passkeys'],
        summary: 'Start signing in with a passkey: request options and a challenge token',
        body: emptyBody,
        response: { 200: ceremonyResponse, ...errors(429) },
      },
    },
    async () => authOptions(),
  );

  app.post<{
    Body: {
      challengeToken: string;
      response: AuthenticationResponseJSON;
      deviceId?: string;
      deviceName?: string;
      platform?: DevicePlatform;
    };
  }>(
    '/v1/sessions/passkey',
    {
      config: ctx.rateLimit('login'),
      schema: {
        tags: ['sessions'],
        summary:
          'Log in with a passkey (discoverable, user verification required): no password, no second code',
        body: {
          type: 'object',
          required: ['challengeToken', 'response'],
          additionalProperties: false,
          properties: {
            challengeToken: { type: 'string', maxLength: 2048 },
            response: credentialJson,
            deviceId,
            deviceName: nameSchema,
            platform: { type: 'string', enum: ['web', 'cli'] },
          },
        },
        response: { 200: sessionResponse, ...errors(400, 401, 429) },
      },
    },
    async (req) => {
      const ch = await challengeOf(req.body.challengeToken, 'passkey-auth');
      const pk = await verifyAssertion(req.body.response, ch.c);
      const ua = req.headers['user-agent'] ?? '';
      const platform = loginPlatform(req.body.platform, ua);
      ctx.metrics.logins.inc({ result: 'ok_passkey' });
      return ctx.startSession(pk.username, {
        deviceId: req.body.deviceId ?? randomBytes(12).toString('base64url'),
        name: req.body.deviceName ?? defaultDeviceName(platform, ua),
        platform,
      });
    },
  );

  app.post<{
    Body: { mfaToken: string; challengeToken: string; response: AuthenticationResponseJSON };
  }>(
    '/v1/sessions/mfa/passkey',
    {
      config: ctx.rateLimit('login'),
      schema: {
        tags: ['sessions'],
        summary:
          'Second step of a login with a passkey: the mfaToken from POST /v1/sessions and an assertion (options from POST /v1/passkeys/login/options)',
        body: {
          type: 'object',
          required: ['mfaToken', 'challengeToken', 'response'],
          additionalProperties: false,
          properties: {
            mfaToken: { type: 'string', maxLength: 2048 },
            challengeToken: { type: 'string', maxLength: 2048 },
            response: credentialJson,
          },
        },
        response: { 200: sessionResponse, ...errors(400, 401, 429) },
      },
    },
    async (req) => {
      const login = verifyMfaToken(ctx, req.body.mfaToken);
      const ch = await challengeOf(req.body.challengeToken, 'passkey-auth');
      const pk = await verifyAssertion(req.body.response, ch.c);
      // [PK-4] the second factor is a passkey of the account whose password was checked.
      if (pk.username !== login.u)
        throw apiError('PASSKEY_INVALID', 'this passkey belongs to another account');
      ctx.metrics.logins.inc({ result: 'ok_passkey' });
      return ctx.startSession(login.u, { deviceId: login.d, name: login.n, platform: login.p });
    },
  );

  app.post(
    '/v1/sessions/step-up/passkey/options',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['sessions'],
        summary: 'Start a step-up with a passkey: request options and a challenge token',
        security: bearer,
        body: emptyBody,
        response: { 200: ceremonyResponse, ...errors(401) },
      },
    },
    async () => authOptions(),
  );

  app.post<{ Body: { challengeToken: string; response: AuthenticationResponseJSON } }>(
    '/v1/sessions/step-up/passkey',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['sessions'],
        summary: 'Step up with one of the caller’s passkeys: a new access token with auth_time now',
        security: bearer,
        body: {
          type: 'object',
          required: ['challengeToken', 'response'],
          additionalProperties: false,
          properties: {
            challengeToken: { type: 'string', maxLength: 2048 },
            response: credentialJson,
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['accessToken', 'expiresIn'],
            additionalProperties: false,
            properties: {
              accessToken: { type: 'string' },
              expiresIn: { type: 'integer' },
            },
          },
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      const ch = await challengeOf(req.body.challengeToken, 'passkey-auth');
      const pk = await verifyAssertion(req.body.response, ch.c);
      // [PK-3] only the caller's own passkey proves the caller.
      if (pk.username !== c.sub) throw apiError('PASSKEY_INVALID', 'not your passkey');
      return issueStepUpToken(ctx, c.sub, c.dev);
    },
  );
}
