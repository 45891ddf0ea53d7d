/**
 * Timeline lines of a group's membership changes (issue 17; PROTOCOL.md §8.1): "alice removed
 * carol", "bob joined with an invite link", "the room is now announcement-only". Each line is
 * built from one record of a chain that {@link GroupChain.transition} is adopting — so only
 * from records already verified against the chain this device holds (signatures, admin rights,
 * hash links). Nothing the key server says outside the chain becomes a line. A line's id is the
 * group and the record's position, so adopting the same record twice writes one line.
 */
import {
  DEFAULT_GROUP_POLICY,
  decodeMembershipRecord,
  type GroupPolicy,
  type MembershipRecord,
} from '@sotto/crypto';
import type { MessageRecord } from '../../store/types.ts';
import { groupConversation } from '../conversation.ts';

/** The `body` of a group line (`kind: 'notice'`, `notice: 'group'`). */
export interface GroupNoticeBody {
  notice: 'group';
  /** The record's operation. */
  op: MembershipRecord['op'];
  /** Who signed the record. */
  actor: string;
  /** The member an add/remove/promote/demote names. */
  subject?: string;
  /** Group name (`create`). */
  name?: string;
  /** A `join` carried an invite's proof. */
  viaInvite?: boolean;
  /** What a `policy` record changed (only the fields that differ from the policy before it). */
  changed?: Partial<GroupPolicy>;
  /** The member's new name (`rename`; `actor` is its old one). */
  to?: string;
  /** An invite's expiry and use limit (`invite`). */
  expiresAt?: number;
  maxUses?: number;
}

/** The id of the line for record `seq` of `groupId` (the same on every device). */
export function groupNoticeId(groupId: string, seq: number): string {
  return `group-${groupId}-${seq}`;
}

/** Whether `rec` makes `me` a member (a genesis naming us, an add of us, our own join). */
function admits(rec: MembershipRecord, me: string): boolean {
  if (rec.op === 'create') return rec.members.some((m) => m.username === me);
  if (rec.op === 'add') return rec.subject.username === me;
  return rec.op === 'join' && rec.actor.username === me;
}

/** The line's body for one record, `policy` the group's policy before it. */
function noticeBody(rec: MembershipRecord, policy: GroupPolicy): GroupNoticeBody {
  const base = { notice: 'group' as const, op: rec.op, actor: rec.actor.username };
  switch (rec.op) {
    case 'create':
      return { ...base, name: rec.name };
    case 'add':
    case 'remove':
    case 'promote':
    case 'demote':
      return { ...base, subject: rec.subject.username };
    case 'join':
      return { ...base, viaInvite: rec.proof !== null };
    case 'invite':
      return { ...base, expiresAt: rec.expiresAt, maxUses: rec.maxUses };
    case 'policy': {
      const changed: Partial<GroupPolicy> = {};
      if (rec.join !== policy.join) changed.join = rec.join;
      if (rec.announce !== policy.announce) changed.announce = rec.announce;
      if (rec.listed !== policy.listed) changed.listed = rec.listed;
      if (rec.topic !== policy.topic) changed.topic = rec.topic;
      return { ...base, changed };
    }
    case 'rename':
      return { ...base, to: rec.to };
    case 'leave':
    case 'revoke':
      return base;
  }
}

/**
 * The lines for the records of verified `chain` from position `from` on. `from` null: the
 * group is new on this device, and the lines start at the record that (last) let `me` in —
 * a joiner of a long-lived room does not get its whole past. `policy` is the group's policy
 * before record `from` (ignored when `from` is null: it is read off the chain).
 */
export function groupNotices(
  groupId: string,
  chain: readonly Uint8Array[],
  from: number | null,
  policy: Readonly<GroupPolicy>,
  self: { username: string },
  receivedAt: number,
): MessageRecord[] {
  let records: MembershipRecord[];
  let current: GroupPolicy = { ...policy };
  if (from === null) {
    const all = chain.map((r) => decodeMembershipRecord(r));
    let start = all.length;
    for (let i = all.length - 1; i >= 0; i--) {
      if (admits(all[i]!, self.username)) {
        start = i;
        break;
      }
    }
    current = policyBefore(all, start);
    records = all.slice(start);
  } else {
    records = chain.slice(from).map((r) => decodeMembershipRecord(r));
  }
  const lines: MessageRecord[] = [];
  for (const rec of records) {
    const body = noticeBody(rec, current);
    if (rec.op === 'policy') {
      current = { join: rec.join, announce: rec.announce, listed: rec.listed, topic: rec.topic };
      // A policy record that changes nothing (re-saved settings) says nothing.
      if (Object.keys(body.changed ?? {}).length === 0) continue;
    }
    // A rename's actor is the old name: the line is our own when we are its new name.
    const own =
      rec.actor.username === self.username || (rec.op === 'rename' && rec.to === self.username);
    lines.push({
      conversationId: groupConversation(groupId),
      id: groupNoticeId(groupId, rec.seq),
      sender: rec.actor.username,
      // A device id in every record, so a linked device's history import takes the line too.
      senderDevice: 'group',
      // The actor's clock, like any message's timestamp: the line sits where the change happened.
      timestamp: rec.createdAt,
      receivedAt,
      kind: 'notice',
      body: { ...body },
      outgoing: own,
      unread: false,
      status: {},
      edited: false,
      deleted: false,
      reactions: {},
    });
  }
  return lines;
}

/** The policy in force before position `end` of decoded `records`. */
function policyBefore(records: readonly MembershipRecord[], end: number): GroupPolicy {
  for (let i = end - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.op === 'policy')
      return { join: r.join, announce: r.announce, listed: r.listed, topic: r.topic };
  }
  return { ...DEFAULT_GROUP_POLICY };
}
