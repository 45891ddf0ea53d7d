/**
 * Call signalling (PROTOCOL.md §12.1): `call-offer`, `call-answer`, `call-ice`, `call-hangup`,
 * `call-busy`. By the time a payload gets here the acceptance rules (§6.7) have vouched for its
 * sender device like for any message; this handler adds the call rules: signalling comes
 * pairwise only, never from our own account, and a group call's offer only from a current member
 * of a group we are in. Nothing is stored or acknowledged, except that an offer too old to ring
 * leaves a missed-call line. The media side (WebRTC) is the application's: it gets `call` events.
 */
import { CALL_RING_MS, type CallPayload } from '../../payload.ts';
import type { MessageRecord } from '../../store/types.ts';
import { ClientError } from '../../errors.ts';
import { dmConversation } from '../conversation.ts';
import type { Applying } from './types.ts';

export { CALL_RING_MS };

/**
 * An offer older than this (by the sender's clock) does not ring: it arrived late, e.g. queued
 * while this device was offline. The ringing time plus slack for clock skew.
 */
export const CALL_STALE_MS = CALL_RING_MS + 15_000;

/** What a call's timeline line says (kind `notice`, `body.notice: 'call'`). */
export interface CallNote {
  callId: string;
  /** `missed`: rang here unanswered (or arrived too late); `ended`: the call took place. */
  event: 'missed' | 'ended' | 'declined' | 'unanswered';
  media: 'audio' | 'video';
  /** We placed the call. */
  outgoing: boolean;
  /** Who called (incoming) or whom we called. */
  peer: string;
  /** How long the call lasted once connected (`ended`), ms. */
  durationMs?: number;
  /** The caller's device (incoming), when known. */
  peerDevice?: string;
}

/**
 * The timeline line of a call: one per call and conversation (id `call-{callId}`), so every
 * offer of a group call or a re-sent one leaves one line.
 */
export function callNotice(
  conversationId: string,
  note: CallNote,
  at: number,
  self: { username: string; deviceId: string },
): MessageRecord {
  return {
    conversationId,
    id: `call-${note.callId}`,
    sender: note.outgoing ? self.username : note.peer,
    // A device id in every record, so a linked device's history import takes the line too.
    senderDevice: note.outgoing ? self.deviceId : (note.peerDevice ?? 'call'),
    timestamp: at,
    receivedAt: at,
    kind: 'notice',
    body: { notice: 'call', ...note },
    outgoing: note.outgoing,
    unread: !note.outgoing && note.event === 'missed',
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  };
}

/** Check a call payload against the call rules and hand it to the application. */
export async function applyCall(p: CallPayload, at: Applying): Promise<void> {
  const { origin, ctx } = at;
  // Signalling goes device to device; a copy on a group topic or from our own account is not
  // part of any call this device takes part in.
  if (origin.group !== undefined || at.fromSelf) return;
  let conversationId = dmConversation(origin.user);
  if (p.kind === 'call-offer' && p.conversation !== undefined) {
    const groupId = p.conversation.slice('group:'.length);
    const g = await ctx.store.getGroup(groupId);
    const me = ctx.account().username;
    if (!g || g.frozen || !g.members.includes(me) || !g.members.includes(origin.user)) {
      ctx.events.emit(
        'error',
        new ClientError(
          'CALL_REFUSED',
          `a group call offer for ${p.conversation} from ${origin.user} was dropped: not both members of that group`,
        ),
      );
      return;
    }
    conversationId = p.conversation;
  }
  const stale = p.kind === 'call-offer' && at.now - p.ts > CALL_STALE_MS;
  if (stale) {
    const note: CallNote = {
      callId: p.callId,
      event: 'missed',
      media: p.media,
      outgoing: false,
      peer: origin.user,
      peerDevice: origin.device,
    };
    const existing = await ctx.store.getMessage(`call-${p.callId}`);
    if (!existing) {
      const line = callNotice(conversationId, note, p.ts, ctx.account());
      at.ops.push({ op: 'putMessage', message: line });
      at.fx.after.push(() => ctx.events.emit('message', line));
    }
  }
  at.fx.after.push(() =>
    ctx.events.emit('call', {
      conversationId,
      user: origin.user,
      device: origin.device,
      payload: p,
      stale,
    }),
  );
}
