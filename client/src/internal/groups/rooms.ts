/**
 * Rooms people join themselves (PROTOCOL.md §8.1 "Join policies and invites"): admins set the
 * join policy, make, list and revoke invites; anyone previews and joins an `open` room or, with
 * an invite's secret, an `invite` room, by appending a `join` record signed with their own
 * identity key. Every chain is verified here before it is trusted — the preview's member count
 * and name included — and the key server checks the same rules before accepting the record.
 * Members' clients learn of the join from the key server's control notice, verify the
 * extended chain and hand their sender keys to the joiner's devices with their next message.
 */
import {
  createChange,
  encodeMembershipRecord,
  fromBase64,
  inviteKeyPair,
  createInviteSecret,
  signInviteProof,
  toBase64,
  verifyMembershipChain,
  type GroupPolicy,
  type GroupState,
  type MembershipRecord,
} from '@sotto/crypto';
import { ClientError } from '../../errors.ts';
import { isApiError, type DirectoryRoom } from '../../http.ts';
import type { Ctx } from '../context.ts';
import type { GroupChain } from './chain.ts';

/** Default lifetime of an invite: 7 days. */
export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3_600_000;

/** An invite as the verified chain records it. */
export interface RoomInvite {
  /** base64url of the invite's public key (what {@link GroupRooms.revokeInvite} takes). */
  id: string;
  expiresAt: number;
  /** 0 = no limit. */
  maxUses: number;
  uses: number;
  revoked: boolean;
  createdBy: string;
}

/** A freshly made invite: its secret is shown once (put into the link) and never stored. */
export interface CreatedInvite extends RoomInvite {
  groupId: string;
  secret: Uint8Array;
}

/** What a would-be joiner sees before joining, from the chain verified on this device. */
export interface RoomPreview {
  groupId: string;
  name: string;
  topic: string;
  join: GroupPolicy['join'];
  announce: boolean;
  memberCount: number;
  /** We are already a member. */
  member: boolean;
}

const APPEND_ATTEMPTS = 5;

/** Join policies, invites, previews, joins and the room directory. */
export class GroupRooms {
  constructor(
    private readonly ctx: Ctx,
    private readonly chain: GroupChain,
  ) {}

  /** Our current, verified state of a group we administer (NOT_MEMBER, NOT_ADMIN, GROUP_FROZEN). */
  private async adminState(groupId: string): Promise<GroupState> {
    await this.chain.refresh(groupId);
    const state = this.chain.stateOf(await this.chain.requireGroup(groupId));
    this.chain.assertCurrent(state);
    if (!state.members.get(this.ctx.account().username)?.admin) {
      throw new ClientError('NOT_ADMIN', 'only admins can change how people join');
    }
    return state;
  }

  private async append(groupId: string, rec: MembershipRecord): Promise<void> {
    await this.ctx.http.appendGroupChange(groupId, toBase64(encodeMembershipRecord(rec)));
    await this.chain.refresh(groupId);
  }

  private actor() {
    const a = this.ctx.account();
    return { username: a.username, uik: a.uik };
  }

  /** Admin: change the policy (fields not given keep their value). */
  async setPolicy(groupId: string, patch: Partial<GroupPolicy>): Promise<GroupPolicy> {
    const state = await this.adminState(groupId);
    const policy = { ...state.policy, ...patch };
    const rec = createChange(state, {
      op: 'policy',
      actor: this.actor(),
      createdAt: this.ctx.now(),
      ...policy,
    });
    await this.append(groupId, rec);
    return policy;
  }

  /**
   * Admin: make an invite. A group whose policy is `admins-add` is switched to `invite` first
   * (an invite into it would admit nobody).
   */
  async createInvite(
    groupId: string,
    opts: { expiresInMs?: number; maxUses?: number } = {},
  ): Promise<CreatedInvite> {
    const ttl = opts.expiresInMs ?? DEFAULT_INVITE_TTL_MS;
    const maxUses = opts.maxUses ?? 0;
    if (!Number.isInteger(ttl) || ttl <= 0)
      throw new ClientError('BAD_INPUT', 'expiry must be > 0');
    if (!Number.isInteger(maxUses) || maxUses < 0 || maxUses > 0xffffffff) {
      throw new ClientError('BAD_INPUT', 'maxUses must be a whole number ≥ 0');
    }
    let state = await this.adminState(groupId);
    if (state.policy.join === 'admins-add') {
      await this.setPolicy(groupId, { join: 'invite' });
      state = await this.adminState(groupId);
    }
    const secret = createInviteSecret();
    const invite = inviteKeyPair(secret).publicKey;
    const now = this.ctx.now();
    const rec = createChange(state, {
      op: 'invite',
      actor: this.actor(),
      createdAt: now,
      invite,
      expiresAt: now + ttl,
      maxUses,
    });
    await this.append(groupId, rec);
    return {
      groupId,
      secret,
      id: toBase64(invite),
      expiresAt: now + ttl,
      maxUses,
      uses: 0,
      revoked: false,
      createdBy: this.ctx.account().username,
    };
  }

  /** The invites of a group we are in, newest first (after fetching the chain: uses move). */
  async listInvites(groupId: string): Promise<RoomInvite[]> {
    await this.chain.refresh(groupId);
    const state = this.chain.stateOf(await this.chain.requireGroup(groupId));
    return [...state.invites.values()]
      .sort((a, b) => b.seq - a.seq)
      .map((i) => ({
        id: toBase64(i.invite),
        expiresAt: i.expiresAt,
        maxUses: i.maxUses,
        uses: i.uses,
        revoked: i.revoked,
        createdBy: i.createdBy,
      }));
  }

  /** Admin: revoke an invite ({@link RoomInvite.id}). */
  async revokeInvite(groupId: string, id: string): Promise<void> {
    const state = await this.adminState(groupId);
    let invite: Uint8Array;
    try {
      invite = fromBase64(id);
    } catch (cause) {
      throw new ClientError('BAD_INPUT', 'not an invite id', { cause });
    }
    const rec = createChange(state, {
      op: 'revoke',
      actor: this.actor(),
      createdAt: this.ctx.now(),
      invite,
    });
    await this.append(groupId, rec);
  }

  /** Fetch and verify a room's chain as a non-member (with the invite's proof when given). */
  private async fetchPreview(groupId: string, secret?: Uint8Array): Promise<GroupState> {
    const a = this.ctx.account();
    const proof = secret
      ? signInviteProof(secret, groupId, { username: a.username, uik: a.uik.publicKey })
      : null;
    const r = await this.ctx.http.previewGroup(
      groupId,
      proof ? { invite: toBase64(proof.invite), proof: toBase64(proof.signature) } : undefined,
    );
    const state = verifyMembershipChain(r.records.map((x) => fromBase64(x)));
    if (state.groupId !== groupId) {
      throw new ClientError('BAD_INPUT', 'key server returned another group');
    }
    return state;
  }

  /** Name, topic and member count of a room, from its chain verified here. */
  async preview(groupId: string, secret?: Uint8Array): Promise<RoomPreview> {
    const state = await this.fetchPreview(groupId, secret);
    return {
      groupId,
      name: state.name,
      topic: state.policy.topic,
      join: state.policy.join,
      announce: state.policy.announce,
      memberCount: state.members.size,
      member: state.members.has(this.ctx.account().username),
    };
  }

  /**
   * Join an `open` room, or an `invite` room with the invite's secret: sign a `join` record
   * with our identity key, append it (retrying when someone else appended first), then adopt
   * the chain. The chain's rules are checked here before anything is sent, so a refused
   * invite fails locally with the same reason the key server would give.
   */
  async join(groupId: string, secret?: Uint8Array): Promise<void> {
    const a = this.ctx.account();
    for (let attempt = 0; ; attempt++) {
      const state = await this.fetchPreview(groupId, secret);
      if (state.members.has(a.username)) break;
      const proof = secret
        ? signInviteProof(secret, groupId, { username: a.username, uik: a.uik.publicKey })
        : null;
      const rec = createChange(state, {
        op: 'join',
        actor: this.actor(),
        createdAt: this.ctx.now(),
        proof,
      });
      try {
        await this.ctx.http.appendGroupChange(groupId, toBase64(encodeMembershipRecord(rec)));
        break;
      } catch (err) {
        if (!isApiError(err, 'CHAIN_BROKEN') || attempt >= APPEND_ATTEMPTS) throw err;
      }
    }
    await this.chain.refresh(groupId);
  }

  /** The key server's public room directory (unverified listing: joining verifies). */
  directory(query = '', limit?: number): Promise<DirectoryRoom[]> {
    return this.ctx.http.listRooms(query, limit);
  }
}
