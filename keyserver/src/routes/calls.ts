/**
 * TURN credentials for calls (docs/API.md "Calls", docs/OPERATIONS.md "Calls"): the REST scheme
 * coturn implements with `use-auth-secret` — username `{expiry}:{user}`, password the base64
 * HMAC-SHA1 of that username under a secret the key server and the TURN server share. The TURN
 * server checks the HMAC and the expiry itself; nothing is stored, and a credential is useless
 * after `turnTtl` seconds. Only signed-in users get one, so the relay is not open to anyone.
 * The call signalling itself never touches the servers in the clear (PROTOCOL.md §12.1).
 */
import { createHmac } from 'node:crypto';
import type { TurnCredentials } from '@sotto/crypto/wire';
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { bearer, errors } from '../schemas.ts';

const turnResponse = {
  type: 'object',
  required: ['urls', 'username', 'credential', 'ttl'],
  additionalProperties: false,
  properties: {
    urls: { type: 'array', items: { type: 'string' } },
    username: { type: 'string', description: '{expiry unix seconds}:{username}' },
    credential: { type: 'string', description: 'base64 HMAC-SHA1 of username (shared secret)' },
    ttl: { type: 'integer', description: 'seconds the credentials stay valid' },
  },
} as const;

/** coturn's shared-secret credentials for `user`, valid `ttl` seconds from `nowMs`. */
export function turnCredentials(
  secret: string,
  urls: string[],
  user: string,
  ttl: number,
  nowMs: number,
): TurnCredentials {
  const username = `${Math.floor(nowMs / 1000) + ttl}:${user}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { urls, username, credential, ttl };
}

/** Register `POST /v1/calls/turn`. */
export function callRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { config } = ctx;
  app.post(
    '/v1/calls/turn',
    {
      onRequest: ctx.authenticate,
      config: ctx.rateLimit('lookup'),
      schema: {
        tags: ['calls'],
        summary: 'Time-limited TURN credentials for a call (coturn use-auth-secret)',
        security: bearer,
        response: { 200: turnResponse, ...errors(401, 404, 429) },
      },
    },
    async (req, reply) => {
      if (config.turnSecret === null) throw apiError('TURN_NOT_CONFIGURED');
      const creds = turnCredentials(
        config.turnSecret,
        config.turnUrls,
        claims(req).sub,
        config.turnTtl,
        Date.now(),
      );
      return reply.header('cache-control', 'no-store').send(creds);
    },
  );
}
