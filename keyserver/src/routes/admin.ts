/**
 * `/v1/admin/*`: the operators' API (issue 17; docs/API.md "Administration"). Every route needs
 * an access token of an account with the operator role (`OPERATOR_REQUIRED` otherwise); every
 * change goes through `moderation.ts`, which enforces it on the brokers and logs it.
 */
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import type { Moderation } from '../moderation.ts';
import { bearer, errors, groupId, username } from '../schemas.ts';

const reason = { type: 'string', maxLength: 500, default: '' } as const;
const at = { type: 'integer', description: 'ms since the epoch' } as const;

const banSchema = {
  type: 'object',
  required: ['username', 'by', 'at', 'reason'],
  additionalProperties: false,
  properties: { username, by: username, at, reason: { type: 'string' } },
} as const;

const reportSchema = {
  type: 'object',
  required: ['id', 'reporter', 'reported', 'groupId', 'at', 'status', 'handledBy'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    reporter: username,
    reported: username,
    groupId: { ...groupId, nullable: true },
    at,
    status: { type: 'string', enum: ['open', 'dismissed', 'actioned'] },
    handledBy: { type: 'string', nullable: true },
  },
} as const;

const logEntrySchema = {
  type: 'object',
  required: ['seq', 'at', 'actor', 'action', 'target', 'detail'],
  additionalProperties: false,
  properties: {
    seq: { type: 'integer' },
    at,
    actor: { type: 'string' },
    action: {
      type: 'string',
      enum: [
        'operator-granted',
        'operator-revoked',
        'ban',
        'unban',
        'close-room',
        'reopen-room',
        'report-dismissed',
        'report-actioned',
      ],
    },
    target: { type: 'string' },
    detail: { type: 'string' },
  },
} as const;

const userParams = {
  type: 'object',
  required: ['username'],
  additionalProperties: false,
  properties: { username },
} as const;
const groupParams = {
  type: 'object',
  required: ['groupId'],
  additionalProperties: false,
  properties: { groupId },
} as const;
const reasonBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason },
  nullable: true,
} as const;

/** Register `/v1/admin/*`. */
export function adminRoutes(app: FastifyInstance, ctx: Ctx, moderation: Moderation): void {
  const { store } = ctx;
  const operatorOnly: onRequestAsyncHookHandler = async (req) => {
    if (!(await store.isOperator(claims(req).sub))) throw apiError('OPERATOR_REQUIRED');
  };
  const onRequest = [ctx.authenticate, operatorOnly];
  const tags = ['admin'];
  const notFound = (r: string, code: 'USER_NOT_FOUND' | 'GROUP_NOT_FOUND' | 'REPORT_NOT_FOUND') => {
    if (r === 'not-found') throw apiError(code);
  };

  app.get(
    '/v1/admin/operators',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Accounts with the operator role',
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['operators'],
            additionalProperties: false,
            properties: { operators: { type: 'array', items: username } },
          },
          ...errors(401, 403),
        },
      },
    },
    async () => ({ operators: await store.listOperators() }),
  );

  app.put<{ Params: { username: string } }>(
    '/v1/admin/operators/:username',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Grant the operator role (step-up: a password or passkey in the last 5 minutes)',
        security: bearer,
        params: userParams,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      ctx.requireRecentAuth(claims(req));
      notFound(
        await moderation.grantOperator(claims(req).sub, req.params.username, true),
        'USER_NOT_FOUND',
      );
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/v1/admin/operators/:username',
    {
      onRequest,
      schema: {
        tags,
        summary:
          'Take the operator role (not from yourself: the server keeps an operator; step-up as for granting)',
        security: bearer,
        params: userParams,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      ctx.requireRecentAuth(claims(req));
      const actor = claims(req).sub;
      if (req.params.username === actor) throw apiError('SELF_TARGET');
      notFound(await moderation.grantOperator(actor, req.params.username, false), 'USER_NOT_FOUND');
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/admin/bans',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Banned accounts, newest first',
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['bans'],
            additionalProperties: false,
            properties: { bans: { type: 'array', items: banSchema } },
          },
          ...errors(401, 403),
        },
      },
    },
    async () => ({ bans: await store.listBans() }),
  );

  app.put<{ Params: { username: string }; Body: { reason?: string } | null }>(
    '/v1/admin/bans/:username',
    {
      onRequest,
      schema: {
        tags,
        summary:
          'Ban an account: login refused, every token revoked, every device disconnected by every broker',
        security: bearer,
        params: userParams,
        body: reasonBody,
        response: { 200: banSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const actor = claims(req).sub;
      const target = req.params.username;
      if (target === actor) throw apiError('SELF_TARGET');
      notFound(await moderation.ban(actor, target, req.body?.reason ?? ''), 'USER_NOT_FOUND');
      const ban = await store.getBan(target);
      if (!ban) throw apiError('USER_NOT_FOUND');
      return ban;
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/v1/admin/bans/:username',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Lift a ban (the user logs in again)',
        security: bearer,
        params: userParams,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      notFound(await moderation.unban(claims(req).sub, req.params.username), 'USER_NOT_FOUND');
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/admin/rooms/closed',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Groups closed by an operator',
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['groups'],
            additionalProperties: false,
            properties: { groups: { type: 'array', items: groupId } },
          },
          ...errors(401, 403),
        },
      },
    },
    async () => ({ groups: await store.listClosedGroups() }),
  );

  app.put<{ Params: { groupId: string }; Body: { reason?: string } | null }>(
    '/v1/admin/rooms/:groupId/closed',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Close a room: every broker drops its subscriptions and refuses its topic',
        security: bearer,
        params: groupParams,
        body: reasonBody,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      notFound(
        await moderation.closeRoom(
          claims(req).sub,
          req.params.groupId,
          true,
          req.body?.reason ?? '',
        ),
        'GROUP_NOT_FOUND',
      );
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { groupId: string } }>(
    '/v1/admin/rooms/:groupId/closed',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Reopen a closed room',
        security: bearer,
        params: groupParams,
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      notFound(
        await moderation.closeRoom(claims(req).sub, req.params.groupId, false, ''),
        'GROUP_NOT_FOUND',
      );
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { status?: 'open' | 'dismissed' | 'actioned'; limit: number } }>(
    '/v1/admin/reports',
    {
      onRequest,
      schema: {
        tags,
        summary:
          'Reports (who reported whom, where, when), newest first; the reported messages reach operators end-to-end encrypted',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['open', 'dismissed', 'actioned'] },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['reports'],
            additionalProperties: false,
            properties: { reports: { type: 'array', items: reportSchema } },
          },
          ...errors(400, 401, 403),
        },
      },
    },
    async (req) => ({
      reports: await store.listReports({
        limit: req.query.limit,
        ...(req.query.status ? { status: req.query.status } : {}),
      }),
    }),
  );

  app.put<{
    Params: { id: string };
    Body: { status: 'dismissed' | 'actioned'; note?: string };
  }>(
    '/v1/admin/reports/:id/status',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Dismiss an open report or mark it acted on',
        security: bearer,
        params: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' } },
        },
        body: {
          type: 'object',
          required: ['status'],
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['dismissed', 'actioned'] },
            note: reason,
          },
        },
        response: { 204: { type: 'null' }, ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      notFound(
        await moderation.closeReport(
          claims(req).sub,
          req.params.id,
          req.body.status,
          req.body.note ?? '',
        ),
        'REPORT_NOT_FOUND',
      );
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { limit: number; before?: number } }>(
    '/v1/admin/log',
    {
      onRequest,
      schema: {
        tags,
        summary: 'The moderation log: who did what, when (newest first, paged by `before`)',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            before: { type: 'integer', minimum: 1 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['entries'],
            additionalProperties: false,
            properties: { entries: { type: 'array', items: logEntrySchema } },
          },
          ...errors(400, 401, 403),
        },
      },
    },
    async (req) => ({
      entries: await store.listModerationLog({
        limit: req.query.limit,
        ...(req.query.before === undefined ? {} : { before: req.query.before }),
      }),
    }),
  );
}
