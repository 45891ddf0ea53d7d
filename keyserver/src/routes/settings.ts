/**
 * `/v1/me/settings`: per-user settings the servers act on (today: whether the
 * brokers publish the user's presence). A change is stored, then announced on
 * the ACL event bus so every broker applies it at once (docs/API.md,
 * docs/PROTOCOL.md "Presence").
 */
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { bearer, errors } from '../schemas.ts';
import type { UserSettings } from '@sotto/server-core/store';

const presenceVisible = {
  type: 'boolean',
  description:
    'brokers publish online / last-seen presence for this user; false: none is published and the retained presence is cleared',
} as const;

const settingsResponse = {
  type: 'object',
  required: ['presenceVisible'],
  additionalProperties: false,
  properties: { presenceVisible },
} as const;

/** Register `GET` and `PUT /v1/me/settings`. */
export function settingsRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;

  app.get(
    '/v1/me/settings',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['accounts'],
        summary: "The caller's settings",
        security: bearer,
        response: { 200: settingsResponse, ...errors(401, 404) },
      },
    },
    async (req) => {
      const settings = await store.getUserSettings(claims(req).sub);
      if (!settings) throw apiError('USER_NOT_FOUND');
      return settings;
    },
  );

  app.put<{ Body: Partial<UserSettings> }>(
    '/v1/me/settings',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'Change some of the caller’s settings; returns all of them',
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { presenceVisible },
        },
        response: { 200: settingsResponse, ...errors(400, 401, 404) },
      },
    },
    async (req) => {
      const username = claims(req).sub;
      const settings = await store.updateUserSettings(username, req.body);
      if (!settings) throw apiError('USER_NOT_FOUND');
      if (req.body.presenceVisible !== undefined) {
        // Announced even when unchanged: a broker that missed an earlier event catches up.
        await ctx.publishEvent({
          type: 'presence-visibility',
          username,
          visible: settings.presenceVisible,
        });
      }
      return settings;
    },
  );
}
