/**
 * Groups (DESIGN.md §3 "Group membership is signed", §4.1): the key server
 * stores each group's signed, hash-chained membership records, verifies every
 * record with @sotto/crypto before accepting it, derives the member list the
 * broker's ACL uses, and tells affected devices on their control topic.
 */
import type { FastifyInstance } from 'fastify';
import {
  applyMembershipRecord,
  decodeMembershipRecord,
  equalBytes,
  fromBase64,
  isCryptoError,
  JoinRefusedError,
  toBase64,
  verifyMembershipChain,
  type GroupState,
  type MembershipRecord,
  type RenameRecord,
} from '@sotto/crypto';
import { claims, type Ctx } from '../context.ts';
import { apiError } from '../errors.ts';
import { b64, bearer, errors, groupId } from '../schemas.ts';
import type { GroupInfo, GroupMember } from '@sotto/server-core/store';
import { refuseGuest } from '../guests.ts';

const MAX_RECORD_CHARS = 200_000;

const groupResponse = {
  type: 'object',
  required: ['groupId', 'seq', 'members'],
  additionalProperties: false,
  properties: {
    groupId,
    seq: { type: 'integer' },
    members: {
      type: 'array',
      items: {
        type: 'object',
        required: ['username', 'admin'],
        additionalProperties: false,
        properties: { username: { type: 'string' }, admin: { type: 'boolean' } },
      },
    },
  },
} as const;

const recordBody = {
  type: 'object',
  required: ['record'],
  additionalProperties: false,
  properties: { record: b64(MAX_RECORD_CHARS, 'base64url membership record') },
} as const;

function membersOf(state: GroupState): GroupMember[] {
  return [...state.members.entries()]
    .map(([username, m]) => ({ username, admin: m.admin }))
    .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
}

/** The name and policy the store keeps for the directory and the broker (announce). */
export function groupInfoOf(state: GroupState): GroupInfo {
  return { name: state.name, ...state.policy };
}

/** API error of each join rule (PROTOCOL.md §8.1 "Join policies and invites"). */
const JOIN_ERRORS = {
  POLICY: 'JOIN_NOT_ALLOWED',
  NO_INVITE: 'INVITE_REQUIRED',
  INVITE_UNKNOWN: 'INVITE_INVALID',
  BAD_PROOF: 'INVITE_INVALID',
  INVITE_EXPIRED: 'INVITE_EXPIRED',
  INVITE_REVOKED: 'INVITE_REVOKED',
  INVITE_USED_UP: 'INVITE_USED_UP',
} as const;

/** Map a crypto rejection of a record to the API error. */
export function rejectRecord(err: unknown): never {
  if (err instanceof JoinRefusedError) throw apiError(JOIN_ERRORS[err.reason], err.message, err);
  if (isCryptoError(err)) {
    switch (err.code) {
      case 'NOT_AUTHORIZED':
        throw apiError('NOT_AUTHORIZED', err.message, err);
      case 'CHAIN_BROKEN':
        throw apiError('CHAIN_BROKEN', err.message, err);
      case 'FORK':
        throw apiError('FORK', err.message, err);
      case 'BAD_SIGNATURE':
        throw apiError('BAD_SIGNATURE', err.message, err);
      default:
        throw apiError('MALFORMED_KEY', `membership record: ${err.message}`, err);
    }
  }
  throw err;
}

function decodeRecord(text: string): { rec: MembershipRecord; bytes: Uint8Array } {
  try {
    const bytes = fromBase64(text);
    return { rec: decodeMembershipRecord(bytes), bytes };
  } catch (err) {
    return rejectRecord(err);
  }
}

/** Register `/v1/groups*`. */
export function groupRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store } = ctx;

  /**
   * The account a `rename` record may come from: its `to`, when the key server renamed its
   * `from` to it (a record renaming anyone else comes from no caller: FORBIDDEN).
   */
  async function renamedCaller(rec: RenameRecord, sub: string): Promise<string | null> {
    const done = await store.getRename(sub);
    return done?.from === rec.actor.username && done.to === rec.to ? sub : null;
  }

  /** A member named with a UIK must exist and currently hold that UIK. */
  async function checkMember(name: string, uik: Uint8Array): Promise<void> {
    const u = await store.getUser(name);
    if (!u) throw apiError('UNKNOWN_MEMBER', `no such user: ${name}`);
    if (!u.uik || !equalBytes(u.uik, uik)) {
      throw apiError('IDENTITY_MISMATCH', `record names ${name} with a key that is not theirs`);
    }
  }

  app.post<{ Body: { record: string } }>(
    '/v1/groups',
    {
      onRequest: ctx.authenticate,
      bodyLimit: MAX_RECORD_CHARS + 1024,
      schema: {
        tags: ['groups'],
        summary: 'Create a group from a signed genesis record',
        description:
          "The record's actor must be the caller, signed with the caller's current UIK; every member must exist with the UIK the record names.",
        security: bearer,
        body: recordBody,
        response: { 201: groupResponse, ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      const c = claims(req);
      refuseGuest(c, 'create rooms');
      const { rec, bytes } = decodeRecord(req.body.record);
      let state: GroupState;
      try {
        state = applyMembershipRecord(null, rec);
      } catch (err) {
        return rejectRecord(err);
      }
      if (rec.actor.username !== c.sub)
        throw apiError('FORBIDDEN', 'the genesis must be signed by the caller');
      for (const [name, m] of state.members) await checkMember(name, m.uik);
      const members = membersOf(state);
      if (!(await store.createGroup(state.groupId, bytes, members))) throw apiError('GROUP_EXISTS');
      await store.setGroupInfo(state.groupId, groupInfoOf(state));
      await ctx.publishEvent({
        type: 'group-changed',
        groupId: state.groupId,
        removed: [],
        added: members.map((m) => m.username),
      });
      await ctx.notify(
        members.map((m) => m.username),
        { type: 'group-changed', groupId: state.groupId, seq: state.seq },
      );
      return reply.code(201).send({ groupId: state.groupId, seq: state.seq, members });
    },
  );

  app.get<{ Params: { groupId: string } }>(
    '/v1/groups/:groupId',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['groups'],
        summary: 'The signed membership chain (members only)',
        security: bearer,
        params: {
          type: 'object',
          required: ['groupId'],
          additionalProperties: false,
          properties: { groupId },
        },
        response: {
          200: {
            ...groupResponse,
            required: [...groupResponse.required, 'records'],
            properties: {
              ...groupResponse.properties,
              records: {
                type: 'array',
                items: { type: 'string' },
                description: 'base64url records, genesis first',
              },
            },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      // Non-members get the same 404 as a missing group: ids do not leak. A renamed guest
      // reads the chains it is in under its old name, to append its rename record to them.
      const gid = req.params.groupId;
      if (!(await store.isGroupMember(gid, c.sub))) {
        const renamed = await store.getRename(c.sub);
        if (renamed?.to !== c.sub || !(await store.isGroupMember(gid, renamed.from)))
          throw apiError('GROUP_NOT_FOUND');
      }
      const [g, chain] = await Promise.all([
        store.getGroup(req.params.groupId),
        store.getGroupChain(req.params.groupId),
      ]);
      if (!g || !chain) throw apiError('GROUP_NOT_FOUND');
      return { groupId: g.groupId, seq: g.seq, members: g.members, records: chain.map(toBase64) };
    },
  );

  app.post<{ Params: { groupId: string }; Body: { record: string } }>(
    '/v1/groups/:groupId/changes',
    {
      onRequest: ctx.authenticate,
      bodyLimit: MAX_RECORD_CHARS + 1024,
      schema: {
        tags: ['groups'],
        summary:
          'Append a signed change (add, remove, promote, demote, leave, policy, invite, revoke, join, rename)',
        description:
          'Signed by a current admin (leave: by the leaver; join: by the joiner, who need not be a member yet and must sign with their registered UIK — allowed only by the policy, with a valid, unexpired, unrevoked, not used-up invite under `invite`); the caller must be the actor; must extend the current head. A stale record gets 409 CHAIN_BROKEN.',
        security: bearer,
        params: {
          type: 'object',
          required: ['groupId'],
          additionalProperties: false,
          properties: { groupId },
        },
        body: recordBody,
        response: { 200: groupResponse, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const c = claims(req);
      const gid = req.params.groupId;
      const { rec, bytes } = decodeRecord(req.body.record);
      if (rec.groupId !== gid) throw apiError('VALIDATION_FAILED', 'record is for another group');
      // A rename is signed under the member's old name and sent by the account under its new
      // one, which the key server moved there (PROTOCOL.md §3.3).
      const caller = rec.op === 'rename' ? await renamedCaller(rec, c.sub) : rec.actor.username;
      if (caller !== c.sub) throw apiError('FORBIDDEN', 'the record must be signed by the caller');
      const chain = await store.getGroupChain(gid);
      // A joiner is not a member yet, nor a renamed member under its new name; everyone else
      // must be (same 404 as a missing group).
      const outsider = rec.op === 'join' || rec.op === 'rename';
      if (!chain || (!outsider && !(await store.isGroupMember(gid, c.sub)))) {
        throw apiError('GROUP_NOT_FOUND');
      }
      let before: GroupState;
      let after: GroupState;
      try {
        before = verifyMembershipChain(chain);
        // The server's clock decides whether an invite is still valid now (a joiner could
        // back-date the record's own time).
        after = applyMembershipRecord(before, rec, { now: Date.now() });
      } catch (err) {
        return rejectRecord(err);
      }
      if (rec.op === 'add') await checkMember(rec.subject.username, rec.subject.uik);
      // The joiner must sign with the UIK the directory holds for them; so must a renamed member.
      if (rec.op === 'join') await checkMember(rec.actor.username, rec.actor.uik);
      if (rec.op === 'rename') await checkMember(rec.to, rec.actor.uik);
      const members = membersOf(after);
      if (!(await store.appendGroupRecord(gid, after.seq, bytes, members))) {
        throw apiError(
          'CHAIN_BROKEN',
          'another change was appended first; fetch the chain and retry',
        );
      }
      await store.setGroupInfo(gid, groupInfoOf(after));
      const removed = [...before.members.keys()].filter((u) => !after.members.has(u));
      const added = [...after.members.keys()].filter((u) => !before.members.has(u));
      await ctx.publishEvent({ type: 'group-changed', groupId: gid, removed, added });
      // The record rides along: a device holding the chain up to here adopts it without a
      // fetch (a removed member could not fetch it any more: the route answers members only).
      await ctx.notify(new Set([...before.members.keys(), ...after.members.keys()]), {
        type: 'group-changed',
        groupId: gid,
        seq: after.seq,
        record: toBase64(bytes),
      });
      return { groupId: gid, seq: after.seq, members };
    },
  );
}
