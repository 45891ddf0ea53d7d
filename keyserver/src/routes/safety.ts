/**
 * What every user has against abuse (issue 17; docs/API.md "Blocking and reports"):
 * - `/v1/me/blocks`: the caller's block list. It lives on the key server because the brokers
 *   enforce it (a blocked user's DMs to the blocker are dropped, [ACL-12]), and so every device
 *   of the blocker reads the same list: a change is announced to the brokers (`blocks-changed`
 *   ACL event) and to the blocker's own devices (`blocks-changed` control notice).
 * - `POST /v1/reports`: files a report's metadata; the reported messages go to the operators'
 *   devices end-to-end encrypted (PROTOCOL.md "Reports"), never through here.
 * - `GET /v1/operators`: who the operators are, so a client knows whom to encrypt a report to.
 */
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { bearer, errors, groupId, username } from '../schemas.ts';

/** Most accounts one user may block (bounds the list every broker may hold). */
export const MAX_BLOCKED = 1000;

const blockList = {
  type: 'object',
  required: ['blocked'],
  additionalProperties: false,
  properties: { blocked: { type: 'array', items: username } },
} as const;

/** Register `/v1/me/blocks*`, `/v1/reports` and `/v1/operators`. */
export function safetyRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;
  const tags = ['safety'];

  app.get(
    '/v1/me/blocks',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: 'Accounts the caller blocks',
        security: bearer,
        response: { 200: blockList, ...errors(401) },
      },
    },
    async (req) => ({ blocked: await store.listBlocked(claims(req).sub) }),
  );

  const change = async (me: string, target: string, on: boolean) => {
    await store.setBlocked(me, target, on);
    await ctx.publishEvent({ type: 'blocks-changed', username: me });
    await ctx.notify([me], { type: 'blocks-changed' });
    return { blocked: await store.listBlocked(me) };
  };

  app.put<{ Params: { username: string } }>(
    '/v1/me/blocks/:username',
    {
      onRequest: ctx.authenticate,
      config: ctx.rateLimit('lookup'),
      schema: {
        tags,
        summary:
          'Block a user: the brokers drop their DMs to you without telling them, your devices drop their messages and invites',
        security: bearer,
        params: {
          type: 'object',
          required: ['username'],
          additionalProperties: false,
          properties: { username },
        },
        response: { 200: blockList, ...errors(400, 401, 404, 409, 429) },
      },
    },
    async (req) => {
      const me = claims(req).sub;
      const target = req.params.username;
      if (target === me) throw apiError('SELF_TARGET', 'you cannot block yourself');
      if (!(await store.userExists(target))) throw apiError('USER_NOT_FOUND');
      const current = await store.listBlocked(me);
      if (!current.includes(target) && current.length >= MAX_BLOCKED)
        throw apiError('VALIDATION_FAILED', `at most ${MAX_BLOCKED} blocked accounts`);
      return change(me, target, true);
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/v1/me/blocks/:username',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: 'Unblock a user',
        security: bearer,
        params: {
          type: 'object',
          required: ['username'],
          additionalProperties: false,
          properties: { username },
        },
        response: { 200: blockList, ...errors(400, 401) },
      },
    },
    async (req) => change(claims(req).sub, req.params.username, false),
  );

  app.post<{ Body: { id: string; reported: string; groupId?: string } }>(
    '/v1/reports',
    {
      onRequest: ctx.authenticate,
      config: ctx.rateLimit('signup'),
      schema: {
        tags,
        summary:
          'File a report (metadata only); the reported messages go end-to-end encrypted to the operators',
        security: bearer,
        body: {
          type: 'object',
          required: ['id', 'reported'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' },
            reported: username,
            groupId,
          },
        },
        response: {
          201: {
            type: 'object',
            required: ['id', 'operators'],
            additionalProperties: false,
            properties: {
              id: { type: 'string' },
              operators: { type: 'array', items: username },
            },
          },
          ...errors(400, 401, 404, 409, 429),
        },
      },
    },
    async (req, reply) => {
      const me = claims(req).sub;
      const { id, reported } = req.body;
      if (reported === me) throw apiError('SELF_TARGET', 'you cannot report yourself');
      if (!(await store.userExists(reported))) throw apiError('USER_NOT_FOUND');
      const gid = req.body.groupId ?? null;
      // Only a member reports a room (the server cannot check which messages were in it).
      if (gid !== null && !(await store.isGroupMember(gid, me))) throw apiError('GROUP_NOT_FOUND');
      if (!(await store.createReport({ id, reporter: me, reported, groupId: gid, at: ctx.now() })))
        throw apiError('REPORT_EXISTS');
      return reply.code(201).send({ id, operators: await store.listOperators() });
    },
  );

  app.get(
    '/v1/operators',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: 'The server operators (recipients of end-to-end encrypted reports)',
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['operators'],
            additionalProperties: false,
            properties: { operators: { type: 'array', items: username } },
          },
          ...errors(401),
        },
      },
    },
    async () => ({ operators: await store.listOperators() }),
  );
}
