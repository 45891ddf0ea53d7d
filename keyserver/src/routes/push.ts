/**
 * Web Push subscriptions (docs/API.md "Push subscriptions"): a device registers the
 * subscription its service worker got from the browser, with the VAPID public key of
 * `GET /v1/push/key`, and the key server wakes it with a content-free push when a message is
 * queued for it while it is offline (`push.ts`, docs/PROTOCOL.md §7 "Wake-up pushes").
 */
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { checkPushEndpoint, PushEndpointError, type PushSender } from '../push.ts';
import { b64, bearer, deviceId, errors } from '../schemas.ts';

/** Uncompressed P-256 point (RFC 8291 `ua_public`). */
const P256_POINT_BYTES = 65;
/** RFC 8291 authentication secret. */
const AUTH_SECRET_BYTES = 16;

const deviceParams = {
  type: 'object',
  required: ['deviceId'],
  additionalProperties: false,
  properties: { deviceId },
} as const;

interface SubscriptionBody {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  expirationTime?: number | null;
}

/** Register `GET /v1/push/key`, `PUT` and `DELETE /v1/devices/{deviceId}/push`. */
export function pushRoutes(app: FastifyInstance, ctx: Ctx, push: PushSender): void {
  const { store, config } = ctx;

  app.get(
    '/v1/push/key',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['push'],
        summary: "The server's VAPID public key (PushManager.subscribe's applicationServerKey)",
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['publicKey'],
            additionalProperties: false,
            properties: { publicKey: b64(100, 'uncompressed P-256 point, base64url') },
          },
          ...errors(401),
        },
      },
    },
    (_req, reply) => reply.send({ publicKey: push.publicKey }),
  );

  app.put<{ Params: { deviceId: string }; Body: SubscriptionBody }>(
    '/v1/devices/:deviceId/push',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['push'],
        summary: "Set this device's push subscription (PushSubscription.toJSON())",
        security: bearer,
        params: deviceParams,
        body: {
          type: 'object',
          required: ['endpoint', 'keys'],
          additionalProperties: false,
          properties: {
            endpoint: { type: 'string', minLength: 1, maxLength: 2048 },
            keys: {
              type: 'object',
              required: ['p256dh', 'auth'],
              additionalProperties: false,
              properties: { p256dh: b64(100), auth: b64(40) },
            },
            expirationTime: { type: ['number', 'null'] },
          },
        },
        response: { 204: { type: 'null' }, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => {
      const c = claims(req);
      // Only the device itself: nobody points another device's wake-ups somewhere else.
      if (req.params.deviceId !== c.dev) throw apiError('FORBIDDEN');
      const { endpoint, keys } = req.body;
      try {
        checkPushEndpoint(endpoint, config.pushAllowPrivateEndpoints);
      } catch (err) {
        if (err instanceof PushEndpointError)
          throw apiError('PUSH_ENDPOINT_REFUSED', `push endpoint refused: ${err.message}`, err);
        throw err;
      }
      const point = Buffer.from(keys.p256dh, 'base64url');
      if (point.length !== P256_POINT_BYTES || point[0] !== 0x04)
        throw apiError('MALFORMED_KEY', 'keys.p256dh must be an uncompressed P-256 point');
      if (Buffer.from(keys.auth, 'base64url').length !== AUTH_SECRET_BYTES)
        throw apiError('MALFORMED_KEY', `keys.auth must be ${AUTH_SECRET_BYTES} bytes`);
      await store.setPushSubscription(c.sub, c.dev, {
        endpoint,
        p256dh: keys.p256dh,
        auth: keys.auth,
        createdAt: ctx.now(),
      });
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { deviceId: string } }>(
    '/v1/devices/:deviceId/push',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['push'],
        summary: "Forget this device's push subscription (no more wake-ups)",
        security: bearer,
        params: deviceParams,
        response: { 204: { type: 'null' }, ...errors(401, 403) },
      },
    },
    async (req, reply) => {
      const c = claims(req);
      if (req.params.deviceId !== c.dev) throw apiError('FORBIDDEN');
      await store.deletePushSubscription(c.sub, c.dev);
      return reply.code(204).send();
    },
  );
}
