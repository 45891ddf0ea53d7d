/**
 * The key directory (DESIGN.md §4.1): a user's identity key and the
 * certificates of their active devices.
 */
import type { FastifyInstance } from 'fastify';
import { toBase64 } from '@sotto/crypto';
import type { Ctx } from '../../context.ts';
import { apiError } from '../../errors.ts';
import { bearer, deviceId, errors, username } from '../../schemas.ts';

/** Register `GET /v1/users/:username`. */
export function directoryRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;

  app.get<{ Params: { username: string } }>(
    '/v1/users/:username',
    {
      onRequest: ctx.authenticate,
      // Per calling account: a token does not buy unlimited directory enumeration.
      config: ctx.rateLimit('lookup'),
      schema: {
        tags: ['keys'],
        summary: "A user's identity key and device certificates",
        description:
          'A user without published keys answers 200 with `uik: null, devices: []`; 404 only for no such user. A name a guest upgraded from or to carries `rename` (docs/API.md "Guests"): under the old name `uik: null, devices: []` and the rename says where the account went.',
        security: bearer,
        params: {
          type: 'object',
          required: ['username'],
          additionalProperties: false,
          properties: { username },
        },
        response: {
          200: {
            type: 'object',
            required: ['username', 'uik', 'devices'],
            additionalProperties: false,
            properties: {
              username,
              uik: { type: ['string', 'null'], description: 'base64url Ed25519 UIK' },
              guest: {
                type: 'boolean',
                description: 'present (true) for an active guest account (docs/API.md "Guests")',
              },
              rename: {
                type: 'object',
                required: ['from', 'to', 'statement', 'arrivalIndex', 'tombstoneIndex'],
                additionalProperties: false,
                description:
                  'the guest rename this name is the old (`from`) or new (`to`) name of: the statement signed by the identity key and the log indexes of its two leaves (PROTOCOL.md §3.3)',
                properties: {
                  from: username,
                  to: username,
                  statement: { type: 'string', description: 'base64url rename statement' },
                  arrivalIndex: { type: 'integer', description: 'its leaf under `to`' },
                  tombstoneIndex: { type: 'integer', description: 'its leaf under `from`' },
                },
              },
              devices: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['deviceId', 'kind', 'certificate', 'logIndex'],
                  additionalProperties: false,
                  properties: {
                    deviceId,
                    kind: { type: 'string', enum: ['user', 'bot', 'bridge'] },
                    certificate: { type: 'string', description: 'base64url device certificate' },
                    logIndex: { type: ['integer', 'null'] },
                  },
                },
              },
            },
          },
          ...errors(400, 401, 404, 429),
        },
      },
    },
    async (req) => {
      const [user, guest, rename] = await Promise.all([
        store.getUser(req.params.username),
        store.guestState(req.params.username),
        store.getRename(req.params.username),
      ]);
      if (!user) throw apiError('USER_NOT_FOUND');
      const devices = (await store.listDevices(user.username))
        .filter((d) => d.active && d.certificate)
        .map((d) => ({
          deviceId: d.deviceId,
          kind: d.kind,
          certificate: toBase64(d.certificate ?? new Uint8Array()),
          logIndex: d.logIndex,
        }));
      return {
        username: user.username,
        uik: user.uik ? toBase64(user.uik) : null,
        ...(guest === 'active' ? { guest: true } : {}),
        ...(rename
          ? {
              rename: {
                from: rename.from,
                to: rename.to,
                statement: toBase64(rename.statement),
                arrivalIndex: rename.arrivalIndex,
                tombstoneIndex: rename.tombstoneIndex,
              },
            }
          : {}),
        devices,
      };
    },
  );
}
