/**
 * Pinned messages (PROTOCOL.md §12 "Pins"): who may pin in a conversation, what a conversation
 * has pinned, and the store ops of one `pin` payload — used alike when we send one
 * (pairwise.ts `localEffect`) and when one arrives (apply/pin.ts), so every device of every
 * member computes the same list from the same payloads.
 *
 * A conversation's pins are kept in the setting `pins:{conversationId}`, oldest first, at most
 * {@link MAX_PINS}: a pin beyond that drops the oldest pin (by the pinner's clock), as in the
 * messengers people know; nothing is refused. Each pin or unpin also leaves a timeline line
 * (`kind: 'notice'`, `body.notice: 'pin'`): "alice pinned a message".
 */
import { verifyMembershipChain } from '@sotto/crypto';
import { parseConversation } from '@sotto/crypto/wire';
import { MAX_PINS, type PinPayload } from '../payload.ts';
import type { MessageRecord, StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import { isStored } from './kinds.ts';

export { MAX_PINS };

import type { PinnedMessage } from './event-shapes.ts';

export type { PinnedMessage };

/** The body of a pin's timeline line (`kind: 'notice'`). */
export interface PinNoticeBody {
  notice: 'pin';
  action: PinPayload['action'];
  /** The pinned or unpinned message. */
  target: string;
}

/** The id of the timeline line of pin payload `id` (the same on every device). */
export function pinLineId(id: string): string {
  return `pin-${id}`;
}

/** The setting that holds a conversation's pins. */
export function pinsSetting(conversationId: string): string {
  return `pins:${conversationId}`;
}

/** A conversation's pins, oldest first. */
export async function listPins(
  ctx: Pick<Ctx, 'store'>,
  conversationId: string,
): Promise<PinnedMessage[]> {
  return (await ctx.store.getSetting<PinnedMessage[]>(pinsSetting(conversationId))) ?? [];
}

/**
 * Whether `user` may pin in `conversationId`: in a DM either side; in a group an admin by the
 * verified membership chain this device holds ([PIN-ADMIN]), never in a frozen group.
 */
export async function mayPin(
  ctx: Pick<Ctx, 'store'>,
  conversationId: string,
  user: string,
): Promise<boolean> {
  const c = parseConversation(conversationId);
  if (c.type === 'dm') return true;
  const group = await ctx.store.getGroup(c.groupId);
  if (!group || group.frozen) return false;
  return verifyMembershipChain(group.chain).members.get(user)?.admin === true;
}

/**
 * The message `target` if it can be pinned in `conversationId` ([PIN-TARGET]): a stored message
 * (text, reply or file, not deleted) of that very conversation. Anything else — an unknown id, a
 * message of another conversation, a timeline line — is null.
 */
export async function pinTarget(
  ctx: Pick<Ctx, 'store'>,
  conversationId: string,
  target: string,
): Promise<MessageRecord | null> {
  const m = await ctx.store.getMessage(target);
  if (!m || m.conversationId !== conversationId || !isStored(m.kind) || m.deleted) return null;
  return m;
}

/** The pins after `action` on `messageId` by `by` at `at` (oldest dropped beyond the limit). */
export function pinnedAfter(
  pins: readonly PinnedMessage[],
  action: PinPayload['action'],
  messageId: string,
  by: string,
  at: number,
): PinnedMessage[] {
  const rest = pins.filter((p) => p.messageId !== messageId);
  if (action === 'unpin') return rest;
  const next = [...rest, { messageId, by, at }].sort((a, b) => a.at - b.at);
  return next.slice(Math.max(0, next.length - MAX_PINS));
}

/**
 * The store ops of an accepted pin payload `p` (its rules already checked) by `sender` in
 * `conversationId`: the new list and the timeline line.
 */
export async function pinOps(
  ctx: Pick<Ctx, 'store' | 'now'>,
  conversationId: string,
  p: PinPayload,
  sender: { user: string; device: string; outgoing: boolean },
): Promise<{ ops: StoreOp[]; line: MessageRecord; pins: PinnedMessage[] }> {
  const pins = pinnedAfter(
    await listPins(ctx, conversationId),
    p.action,
    p.target,
    sender.user,
    p.ts,
  );
  const body: PinNoticeBody = { notice: 'pin', action: p.action, target: p.target };
  const line: MessageRecord = {
    conversationId,
    id: pinLineId(p.id),
    sender: sender.user,
    senderDevice: sender.device,
    timestamp: p.ts,
    receivedAt: ctx.now(),
    kind: 'notice',
    body: { ...body },
    outgoing: sender.outgoing,
    unread: false,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  };
  return {
    ops: [
      { op: 'setSetting', key: pinsSetting(conversationId), value: pins },
      { op: 'putMessage', message: line },
    ],
    line,
    pins,
  };
}

/** The engine's `pins` API (api.ts {@link PinsApi}). */
export interface PinsApi {
  /**
   * Pin `messageId` (a message of `conversationId`) for every member and every device of ours.
   * NOT_ADMIN in a group where we are not an admin; UNKNOWN_MESSAGE for a message that is not
   * one of that conversation. Pinning the {@link MAX_PINS}+1st drops the oldest pin.
   */
  pin(conversationId: string, messageId: string): Promise<void>;
  /** Unpin `messageId`, with the same rules as {@link pin}. */
  unpin(conversationId: string, messageId: string): Promise<void>;
  /** The conversation's pins, oldest first. */
  list(conversationId: string): Promise<PinnedMessage[]>;
  /** Whether this account may pin in `conversationId` (a DM, or a group where it is an admin). */
  canPin(conversationId: string): Promise<boolean>;
}

/** Build the pins API over the engine's layers. */
export function createPinsApi(deps: {
  ctx: Pick<Ctx, 'store' | 'account' | 'events'>;
  send(
    to: string,
    input: { kind: 'pin'; target: string; action: PinPayload['action'] },
  ): Promise<{ id: string }>;
}): PinsApi {
  const { ctx } = deps;
  const canPin = (conversationId: string): Promise<boolean> =>
    mayPin(ctx, conversationId, ctx.account().username);
  const change = async (
    conversationId: string,
    target: string,
    action: PinPayload['action'],
  ): Promise<void> => {
    // NOT_ADMIN and UNKNOWN_MESSAGE come from pairwise.ts `localEffect`, before anything is sent.
    const sent = await deps.send(conversationId, { kind: 'pin', target, action });
    // pairwise.ts `localEffect` stored the list and the line with the send.
    ctx.events.emit('pins', { conversationId, pins: await listPins(ctx, conversationId) });
    const line = await ctx.store.getMessage(pinLineId(sent.id));
    if (line) ctx.events.emit('message', line);
  };
  return {
    pin: (c, id) => change(c, id, 'pin'),
    unpin: (c, id) => change(c, id, 'unpin'),
    list: (c) => listPins(ctx, c),
    canPin,
  };
}
