/**
 * A run of batchable payloads (kinds.ts `isBatchable`: messages, receipts, typing) decrypted in
 * one receive batch and applied together, shared by the inbox and group receivers: which of
 * their ids were seen before is one store read for the run ({@link ClientStore.seenAmong}),
 * not one per message — in a browser every read is an IndexedDB round trip to another process,
 * and a burst of thousands waited on those, not on the CPU.
 *
 * The items are applied in arrival order, each after the ones before it: an id applied earlier
 * in the same receive batch (`seen`) is a copy, acknowledged again and not stored.
 */
import type { Payload } from '../../payload.ts';
import type { StoreOp } from '../../store/types.ts';
import type { Applier } from '../apply/index.ts';
import { newEffects, type Effects, type Origin } from '../apply/types.ts';
import type { Ctx } from '../context.ts';
import { isAcked } from '../kinds.ts';

/**
 * A decrypted payload waiting in a run; `ops` already holds its session or chain advance. A
 * payload that did not decode is `null`: only its advance is kept.
 */
export interface RunItem {
  payload: Payload | null;
  origin: Origin;
  ops: StoreOp[];
  fx: Effects;
}

/**
 * Apply `items` in order (one that fails is reported and dropped, its advance kept); their ops (with the ones the applier adds) and effects are then the
 * caller's to stage. `seen` holds the ids applied earlier in this receive batch and gains the
 * ones applied now.
 */
export async function applyRun(
  ctx: Ctx,
  applier: Applier,
  items: readonly RunItem[],
  seen: Set<string>,
): Promise<void> {
  if (items.length === 0) return;
  const ids = items.flatMap((i) => (i.payload && !seen.has(i.payload.id) ? [i.payload.id] : []));
  const before = ids.length > 0 ? await ctx.store.seenAmong(ids) : new Set<string>();
  for (const { payload, origin, ops, fx } of items) {
    if (payload === null) continue;
    if (seen.has(payload.id)) {
      // A copy of a message earlier in this batch: acknowledged again, not stored.
      if (isAcked(payload.kind))
        fx.acks.push({ user: origin.user, device: origin.device, id: payload.id });
      continue;
    }
    const advance = ops.length;
    try {
      await applier.apply(payload, origin, ops, fx, before.has(payload.id));
    } catch (err) {
      // As for a payload that does not decode: the advance is kept, the payload dropped.
      ops.length = advance;
      Object.assign(fx, newEffects());
      ctx.events.emit('error', err);
      continue;
    }
    for (const op of ops) if (op.op === 'markSeen') for (const id of op.ids) seen.add(id);
  }
}
