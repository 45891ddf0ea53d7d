/**
 * The apply layer (docs/CLIENT.md "Architecture"): a decrypted payload becomes store ops and
 * effects, one handler file per payload kind, the way Aedes keeps one file per MQTT packet in
 * `lib/handlers/`. Shared by the pairwise inbox (receive/inbox.ts), group topics
 * (groups/receive.ts) and released held messages. Handlers get the lower layers they use as
 * arguments ({@link ApplyDeps}); none of them imports a receiver.
 */
import { isCallKind, type CallPayload, type Payload } from '../../payload.ts';
import type { StoreOp } from '../../store/types.ts';
import { isAcked } from '../kinds.ts';
import { applyCall } from './call.ts';
import { applyEdit } from './edit.ts';
import { applyGroupChange } from './group-change.ts';
import { applyMessage } from './message.ts';
import { applyPin } from './pin.ts';
import { applyProfile } from './profile.ts';
import { applyReaction } from './reaction.ts';
import { applyReceipt } from './receipt.ts';
import { applyReport } from './report.ts';
import { applySenderKey } from './sender-key.ts';
import { applySync } from './sync.ts';
import { applyTyping } from './typing.ts';
import type { ApplyDeps, Applying, Effects, Origin } from './types.ts';
import { applyUnknown } from './unknown.ts';

/** Kinds dropped when they come from a user we block. */
const BLOCKABLE: ReadonlySet<string> = new Set([
  'text',
  'reply',
  'file',
  'reaction',
  'edit',
  'delete',
  'typing',
  'profile',
  'group-change',
  'report',
  'pin',
  'unknown',
]);

/** Applies decrypted payloads of one engine. */
export class Applier {
  constructor(private readonly deps: ApplyDeps) {}

  /**
   * Apply a decrypted payload: store ops go into `ops` (committed by the caller together with
   * the new session state), events and receipts into `fx`. Receipts, typing and call signalling are applied each
   * time; everything else is acknowledged exactly once per delivery and applied at most once
   * (by message id). `seenBefore` is whether the id was seen, when the caller read it already
   * for a whole run of payloads (receive/run.ts); otherwise the store is asked.
   */
  async apply(
    payload: Payload,
    origin: Origin,
    ops: StoreOp[],
    fx: Effects,
    seenBefore?: boolean,
  ): Promise<void> {
    const { ctx } = this.deps;
    const now = ctx.now();
    const at: Applying = {
      ...this.deps,
      origin,
      ops,
      fx,
      now,
      fromSelf: origin.user === ctx.account().username,
    };
    if (payload.kind === 'receipt') return applyReceipt(payload, at);
    // A blocked user's messages, reactions, typing, profile and group notices are dropped on
    // every device of ours (issue 17); their receipts and sender keys still apply, and what is
    // acknowledged is acknowledged, so the sender cannot tell.
    const blocked = !at.fromSelf && this.deps.isBlocked(origin.user) && BLOCKABLE.has(payload.kind);
    if (blocked && payload.kind === 'typing') return;
    if (payload.kind === 'typing') return applyTyping(payload, at);
    // Call signalling is transient like typing: never acknowledged, never marked seen (a
    // replayed envelope does not decrypt twice anyway).
    if (isCallKind(payload.kind)) return applyCall(payload as CallPayload, at);
    if (isAcked(payload.kind))
      fx.acks.push({ user: origin.user, device: origin.device, id: payload.id });
    if (seenBefore ?? (await ctx.store.hasSeen(payload.id))) return;
    ops.push({ op: 'markSeen', ids: [payload.id], at: now });
    if (blocked) return;
    switch (payload.kind) {
      case 'text':
      case 'reply':
      case 'file':
        return applyMessage(payload, at);
      case 'edit':
      case 'delete':
        return applyEdit(payload, at);
      case 'reaction':
        return applyReaction(payload, at);
      case 'sender-key':
        return applySenderKey(payload, at);
      case 'group-change':
        return applyGroupChange(payload, at);
      case 'profile':
        return applyProfile(payload, at);
      case 'sync':
        return applySync(payload, at, (p, o, innerOps, innerFx) =>
          this.apply(p, o, innerOps, innerFx),
        );
      case 'report':
        return applyReport(payload, at);
      case 'pin':
        return applyPin(payload, at);
      case 'unknown':
        return applyUnknown(payload, at);
    }
  }
}
