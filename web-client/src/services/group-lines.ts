/**
 * The sentences of a group's timeline lines (issue 17): the engine writes one line per verified
 * membership-chain record it adopts (`kind: 'notice'`, `body.notice: 'group'`, see the client's
 * `internal/groups/timeline.ts`); this turns its body into words ("alice removed carol",
 * "bob joined with an invite link", "alice made the room announcement-only…").
 */
import type { MessageRecord } from './engine-types.ts';
import { uiText, type UiStringKey } from './ui-strings.ts';

const SUBJECT_OPS = {
  add: 'group.add',
  remove: 'group.remove',
  promote: 'group.promote',
  demote: 'group.demote',
} as const satisfies Record<string, UiStringKey>;

const JOIN_POLICY = {
  'admins-add': 'group.joinPolicy.admins-add',
  invite: 'group.joinPolicy.invite',
  open: 'group.joinPolicy.open',
} as const satisfies Record<string, UiStringKey>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** What a `policy` record changed, one sentence per field, joined. */
function policyText(actor: string, changed: unknown): string {
  const c = (typeof changed === 'object' && changed !== null ? changed : {}) as Record<
    string,
    unknown
  >;
  const parts: string[] = [];
  const join = str(c.join);
  if (join in JOIN_POLICY)
    parts.push(uiText(JOIN_POLICY[join as keyof typeof JOIN_POLICY], { actor }));
  if (typeof c.announce === 'boolean')
    parts.push(uiText(c.announce ? 'group.announceOn' : 'group.announceOff', { actor }));
  if (typeof c.listed === 'boolean')
    parts.push(uiText(c.listed ? 'group.listedOn' : 'group.listedOff', { actor }));
  if (typeof c.topic === 'string') parts.push(uiText('group.topic', { actor, topic: c.topic }));
  return parts.join(' · ');
}

/** The sentence of a group line; the actor is "You" on lines of one's own changes. */
export function groupLineText(m: MessageRecord): string {
  const b = m.body;
  const actor = m.outgoing ? uiText('group.you') : str(b.actor);
  const op = str(b.op);
  if (op in SUBJECT_OPS)
    return uiText(SUBJECT_OPS[op as keyof typeof SUBJECT_OPS], { actor, subject: str(b.subject) });
  switch (op) {
    case 'create':
      return uiText('group.create', { actor, name: str(b.name) });
    case 'leave':
      return uiText('group.leave', { actor });
    case 'join':
      return uiText(b.viaInvite === true ? 'group.joinInvite' : 'group.join', { actor });
    case 'invite':
      return uiText('group.invite', { actor });
    case 'revoke':
      return uiText('group.revoke', { actor });
    case 'rename':
      // Named by both usernames even on one's own line: "You is now …" would say less.
      return uiText('group.rename', { from: str(b.actor), to: str(b.to) });
    case 'policy':
      return policyText(actor, b.changed);
    default:
      return uiText('notice.security');
  }
}
