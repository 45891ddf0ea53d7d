/**
 * The devices page's routes (issue 19; docs/API.md "Devices"): the caller's signed-in devices
 * with name, kind, creation and last activity, the current one marked; rename; remove (step-up),
 * which tells the device, revokes its tokens, drops its keys and forgets it.
 */
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { DEVICE_NAME_MAX } from '../device-names.ts';
import { bearer, deviceId, errors } from '../schemas.ts';
import type { DeviceRecord } from '@sotto/server-core/store';

const deviceSchema = {
  type: 'object',
  required: ['deviceId', 'name', 'kind', 'createdAt', 'lastActiveAt', 'current'],
  additionalProperties: false,
  properties: {
    deviceId,
    name: { type: 'string' },
    kind: {
      type: 'string',
      enum: ['web', 'cli', 'bot', 'bridge'],
      description:
        'bot and bridge from the device certificate, else the platform it signed in with',
    },
    createdAt: { type: 'integer', description: 'ms since the epoch' },
    lastActiveAt: { type: 'integer', description: 'ms since the epoch (login or token refresh)' },
    current: { type: 'boolean', description: 'the device of the calling token' },
  },
} as const;

const params = {
  type: 'object',
  required: ['deviceId'],
  additionalProperties: false,
  properties: { deviceId },
} as const;

/** The devices page's view of a device. */
function view(d: DeviceRecord, current: string) {
  const kind = d.kind === 'bot' || d.kind === 'bridge' ? d.kind : (d.platform ?? 'web');
  return {
    deviceId: d.deviceId,
    name: d.name ?? (kind === 'cli' ? 'sotto CLI' : d.deviceId),
    kind,
    createdAt: d.createdAt,
    lastActiveAt: d.lastActiveAt,
    current: d.deviceId === current,
  };
}

/** Register `GET /v1/me/devices`, `PATCH` and `DELETE /v1/me/devices/:deviceId`. */
export function deviceRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;

  app.get(
    '/v1/me/devices',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['devices'],
        summary: "The caller's signed-in devices, most recently active first",
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['devices'],
            additionalProperties: false,
            properties: { devices: { type: 'array', items: deviceSchema } },
          },
          ...errors(401),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      const devices = (await store.listDevices(c.sub))
        .filter((d) => d.active)
        .sort((a, b) => b.lastActiveAt - a.lastActiveAt || a.deviceId.localeCompare(b.deviceId))
        .map((d) => view(d, c.dev));
      return { devices };
    },
  );

  app.patch<{ Params: { deviceId: string }; Body: { name: string } }>(
    '/v1/me/devices/:deviceId',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['devices'],
        summary: 'Rename one of the caller’s devices',
        security: bearer,
        params,
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: DEVICE_NAME_MAX, pattern: '\\S' },
          },
        },
        response: { 200: deviceSchema, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const c = claims(req);
      const name = req.body.name.trim();
      const d = await store.getDevice(c.sub, req.params.deviceId);
      // [DEV-1] only the caller's own active devices: another user's id is simply not found.
      if (!d?.active || !(await store.setDeviceName(c.sub, d.deviceId, name)))
        throw apiError('DEVICE_NOT_FOUND', 'no such device');
      return view({ ...d, name }, c.dev);
    },
  );

  app.delete<{ Params: { deviceId: string } }>(
    '/v1/me/devices/:deviceId',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['devices'],
        summary:
          'Remove another of the caller’s devices (step-up): it is told, signed out, its tokens revoked and its keys unpublished',
        security: bearer,
        params,
        response: { 204: { type: 'null' }, ...errors(401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const c = claims(req);
      const target = req.params.deviceId;
      if (target === c.dev) throw apiError('CURRENT_DEVICE');
      // [DEV-2] removing a device needs the password or a passkey within 5 minutes.
      ctx.requireRecentAuth(c);
      const d = await store.getDevice(c.sub, target);
      if (!d?.active) throw apiError('DEVICE_NOT_FOUND', 'no such device');
      // Told first, while its tokens still let it hear the notice.
      await ctx.notifyDevices([{ username: c.sub, deviceId: target }], {
        type: 'device-removed',
        reason: 'removed',
      });
      await ctx.revokeDevice(c.sub, target);
      await store.removeDevice(c.sub, target);
      req.log.info({ username: c.sub, deviceId: target }, 'device removed by its user');
      return reply.code(204).send();
    },
  );
}
