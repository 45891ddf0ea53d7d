/**
 * What every apply handler receives (apply/index.ts): the decrypted payload's origin, the store
 * ops it adds to (committed by the receiver together with the new session or chain state) and
 * the effects to run once that commit succeeded.
 */
import type { StoredDeviceKind, StoreOp } from '../../store/types.ts';
import type { Ctx } from '../context.ts';
import type { Directory } from '../trust.ts';
import type { GroupChain } from '../groups/chain.ts';
import type { Outbox } from '../outbox.ts';
import type { Pairwise } from '../pairwise.ts';

/** Who sent a payload and where it belongs. */
export interface Origin {
  conversationId: string;
  user: string;
  device: string;
  kind: StoredDeviceKind;
  /** Arrived on a group topic. */
  group?: string;
}

/** Side effects to run after the store batch committed (receive/effects.ts). */
export interface Effects {
  /** Events and follow-ups, in order. */
  after: (() => void)[];
  /** `delivered` receipts owed. */
  acks: { user: string; device: string; id: string }[];
  /** Groups whose sender key arrived: their parked envelopes are tried again. */
  senderKeys: string[];
}

/** Empty {@link Effects}. */
export function newEffects(): Effects {
  return { after: [], acks: [], senderKeys: [] };
}

/** The lower layers the apply handlers use, handed to {@link Applier} once. */
export interface ApplyDeps {
  ctx: Ctx;
  directory: Directory;
  pairwise: Pairwise;
  chain: GroupChain;
  outbox: Outbox;
  /** Whether we block `user` (the block list synced through the key server, internal/safety.ts). */
  isBlocked(user: string): boolean;
}

/** One payload being applied: what a handler gets besides the payload itself. */
export interface Applying extends ApplyDeps {
  origin: Origin;
  /** Store ops, committed by the caller. */
  ops: StoreOp[];
  fx: Effects;
  /** The time of this receive. */
  now: number;
  /** Sent by one of our own devices. */
  fromSelf: boolean;
}

/** Emit `messageUpdate` with the message as stored now (after an edit, delete or reaction). */
export async function emitUpdate(ctx: Ctx, id: string): Promise<void> {
  const m = await ctx.store.getMessage(id);
  if (m) ctx.events.emit('messageUpdate', m);
}
