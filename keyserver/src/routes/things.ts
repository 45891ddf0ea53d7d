/**
 * IoT things (DESIGN.md §4.1, §5.4): a user registers a thing and receives
 * MQTT credentials for the client id `thing:{owner}:{thing}`, scoped by the
 * broker to `iot/{owner}/{thing}/#`. The secret is shown once and stored only
 * as a hash; revocation is an ACL event every broker acts on.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { thingClientId, thingTopic } from '@sotto/crypto';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { hashThingSecret } from '@sotto/server-core/store';
import { bearer, errors, thingName } from '../schemas.ts';
import { refuseGuest } from '../guests.ts';

/** Register `/v1/things*`. */
export function thingRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;

  app.post<{ Body: { name: string } }>(
    '/v1/things',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['things'],
        summary: 'Register an IoT thing; returns its MQTT credentials (shown once)',
        security: bearer,
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: thingName },
        },
        response: {
          201: {
            type: 'object',
            required: ['clientId', 'username', 'password', 'topic'],
            additionalProperties: false,
            properties: {
              clientId: { type: 'string' },
              username: { type: 'string', description: 'MQTT username (equals clientId)' },
              password: { type: 'string', description: 'MQTT password (random secret)' },
              topic: { type: 'string', description: 'topic filter the thing may use' },
            },
          },
          ...errors(400, 401, 403, 409),
        },
      },
    },
    async (req, reply) => {
      refuseGuest(claims(req), 'register things');
      const owner = claims(req).sub;
      const name = req.body.name;
      const secret = randomBytes(32).toString('base64url');
      const created = await store.createThing({
        owner,
        thing: name,
        secretHash: hashThingSecret(secret),
        createdAt: ctx.now(),
      });
      if (!created) throw apiError('THING_EXISTS');
      const clientId = thingClientId(owner, name);
      return reply.code(201).send({
        clientId,
        username: clientId,
        password: secret,
        topic: `${thingTopic(owner, name)}/#`,
      });
    },
  );

  app.get(
    '/v1/things',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['things'],
        summary: "The caller's things",
        security: bearer,
        response: {
          200: {
            type: 'object',
            required: ['things'],
            additionalProperties: false,
            properties: {
              things: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['name', 'clientId', 'topic', 'active', 'createdAt'],
                  additionalProperties: false,
                  properties: {
                    name: thingName,
                    clientId: { type: 'string' },
                    topic: { type: 'string' },
                    active: { type: 'boolean' },
                    createdAt: { type: 'integer' },
                  },
                },
              },
            },
          },
          ...errors(401),
        },
      },
    },
    async (req) => {
      const owner = claims(req).sub;
      const things = await store.listThings(owner);
      return {
        things: things.map((t) => ({
          name: t.thing,
          clientId: thingClientId(owner, t.thing),
          topic: `${thingTopic(owner, t.thing)}/#`,
          active: t.active,
          createdAt: t.createdAt,
        })),
      };
    },
  );

  app.delete<{ Params: { thing: string } }>(
    '/v1/things/:thing',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['things'],
        summary: 'Revoke a thing: its credential stops working and brokers disconnect it',
        security: bearer,
        params: {
          type: 'object',
          required: ['thing'],
          additionalProperties: false,
          properties: { thing: thingName },
        },
        response: { 204: { type: 'null' }, ...errors(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const owner = claims(req).sub;
      if (!(await store.revokeThing(owner, req.params.thing))) throw apiError('THING_NOT_FOUND');
      await ctx.publishEvent({ type: 'thing-revoked', owner, thing: req.params.thing });
      return reply.code(204).send();
    },
  );
}
