/**
 * Invite links as the group settings see them (issue 17; PROTOCOL.md §8.1 "Join policies and
 * invites"): admins make, list and revoke them through the engine's `groups` API, which signs
 * each change into the membership chain. A link's secret exists only in the link made here: the
 * chain holds the invite's public key, so a listed invite can be revoked but not copied again.
 */
import { inviteLink, type SottoClient } from '@sotto/client';

/** An invite as the verified chain records it. */
export interface InviteInfo {
  /** The invite's public key (base64url): what {@link InvitePort.revoke} takes. */
  id: string;
  expiresAt: number;
  /** 0 = no limit. */
  maxUses: number;
  uses: number;
  revoked: boolean;
  createdBy: string;
}

/** What the views can do with invites. */
export interface InvitePort {
  /**
   * Admin: make an invite valid for `expiresInMs` and `maxUses` joins (0 = no limit); resolves
   * with the link to share (its only copy). An `admins-add` group switches to `invite` first.
   */
  create(
    groupId: string,
    options: { expiresInMs: number; maxUses: number },
  ): Promise<{ link: string; invite: InviteInfo }>;
  /** The group's invites from its verified chain, newest first. */
  list(groupId: string): Promise<InviteInfo[]>;
  /** Admin: revoke an invite (a signed `revoke` record). */
  revoke(groupId: string, id: string): Promise<void>;
}

/** The port over an engine (read each call); links point at `origin` (the page's). */
export function createInvitePort(engine: () => SottoClient, origin: () => string): InvitePort {
  return {
    async create(groupId, options) {
      const c = await engine().groups.createInvite(groupId, options);
      const { secret, groupId: _g, ...invite } = c;
      return { link: inviteLink(origin(), groupId, secret), invite };
    },
    list: (groupId) => engine().groups.listInvites(groupId),
    revoke: (groupId, id) => engine().groups.revokeInvite(groupId, id),
  };
}
