/**
 * Joining rooms (PROTOCOL.md §8.1 "Join policies and invites", API.md "Rooms"):
 * the public directory of `open` rooms their admins chose to list, and the
 * preview a would-be joiner fetches before signing a `join` record — the room's
 * name, member count and signed chain, given to members, to anyone for an
 * `open` room, and to the holder of a valid invite (proved without the secret,
 * by the same invite signature the `join` record carries).
 */
import type { FastifyInstance } from 'fastify';
import {
  fromBase64,
  toBase64,
  toHex,
  verifyInviteProof,
  verifyMembershipChain,
  type GroupState,
} from '@sotto/crypto';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { b64, bearer, errors, groupId } from '../schemas.ts';
import { rejectRecord } from './groups.ts';

/** Most rooms one directory answer lists. */
export const MAX_DIRECTORY_LIMIT = 100;

const joinPolicy = { type: 'string', enum: ['admins-add', 'invite', 'open'] } as const;

const previewResponse = {
  type: 'object',
  required: ['groupId', 'name', 'topic', 'join', 'announce', 'memberCount', 'seq', 'records'],
  additionalProperties: false,
  properties: {
    groupId,
    name: { type: 'string' },
    topic: { type: 'string' },
    join: joinPolicy,
    announce: { type: 'boolean' },
    memberCount: { type: 'integer' },
    seq: { type: 'integer' },
    records: {
      type: 'array',
      items: { type: 'string' },
      description: 'base64url records, genesis first',
    },
  },
} as const;

/** Register `/v1/rooms` and `/v1/groups/{groupId}/preview`. */
export function roomRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;

  /**
   * May `username` see the room? Members and anyone for `open`; for `invite`, the holder of
   * a live invite. A wrong proof is answered like a missing group (ids do not leak); a real
   * invite that no longer works gets its own error, since its holder knew the secret.
   */
  async function checkPreview(
    state: GroupState,
    username: string,
    invite: { invite: string; proof: string } | null,
  ): Promise<void> {
    if (state.members.has(username) || state.policy.join === 'open') return;
    if (state.policy.join !== 'invite' || invite === null) throw apiError('GROUP_NOT_FOUND');
    const user = await store.getUser(username);
    const key = fromBase64(invite.invite);
    const signature = fromBase64(invite.proof);
    if (
      !user?.uik ||
      !verifyInviteProof(state.groupId, { username, uik: user.uik }, { invite: key, signature })
    ) {
      throw apiError('GROUP_NOT_FOUND');
    }
    const inv = state.invites.get(toHex(key));
    if (!inv) throw apiError('GROUP_NOT_FOUND');
    if (inv.revoked) throw apiError('INVITE_REVOKED');
    if (inv.maxUses !== 0 && inv.uses >= inv.maxUses) throw apiError('INVITE_USED_UP');
    if (Date.now() > inv.expiresAt) throw apiError('INVITE_EXPIRED');
  }

  app.post<{ Params: { groupId: string }; Body: { invite?: string; proof?: string } }>(
    '/v1/groups/:groupId/preview',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['groups'],
        summary: 'Name, member count and signed chain of a room the caller may join',
        description:
          'For members, for anyone when the policy is `open`, and under `invite` for the caller holding a live invite: `invite` is its public key and `proof` the invite signature over the caller (the proof a join record carries; both or neither). Anything else is 404 GROUP_NOT_FOUND.',
        security: bearer,
        params: {
          type: 'object',
          required: ['groupId'],
          additionalProperties: false,
          properties: { groupId },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            invite: { ...b64(43, 'base64url invite public key (32 bytes)'), minLength: 43 },
            proof: { ...b64(86, 'base64url invite proof signature (64 bytes)'), minLength: 86 },
          },
        },
        response: { 200: previewResponse, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const c = claims(req);
      const gid = req.params.groupId;
      const chain = await store.getGroupChain(gid);
      if (!chain) throw apiError('GROUP_NOT_FOUND');
      let state: GroupState;
      try {
        state = verifyMembershipChain(chain);
      } catch (err) {
        return rejectRecord(err);
      }
      const { invite, proof } = req.body;
      if ((invite === undefined) !== (proof === undefined)) {
        throw apiError('VALIDATION_FAILED', 'send both invite and proof, or neither');
      }
      await checkPreview(
        state,
        c.sub,
        invite !== undefined && proof !== undefined ? { invite, proof } : null,
      );
      return {
        groupId: gid,
        name: state.name,
        topic: state.policy.topic,
        join: state.policy.join,
        announce: state.policy.announce,
        memberCount: state.members.size,
        seq: state.seq,
        records: chain.map(toBase64),
      };
    },
  );

  app.get<{ Querystring: { q?: string; limit?: number } }>(
    '/v1/rooms',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['groups'],
        summary: 'The public room directory',
        description:
          'Rooms with join policy `open` whose admins listed them (their name and topic are public by that choice), most members first; `q` matches name or topic, case-insensitive.',
        security: bearer,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_DIRECTORY_LIMIT, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['rooms'],
            additionalProperties: false,
            properties: {
              rooms: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['groupId', 'name', 'topic', 'memberCount'],
                  additionalProperties: false,
                  properties: {
                    groupId,
                    name: { type: 'string' },
                    topic: { type: 'string' },
                    memberCount: { type: 'integer' },
                  },
                },
              },
            },
          },
          ...errors(400, 401),
        },
      },
    },
    async (req) => {
      const rooms = await store.listDirectory(req.query.q?.trim() ?? '', req.query.limit ?? 50);
      return { rooms };
    },
  );
}
