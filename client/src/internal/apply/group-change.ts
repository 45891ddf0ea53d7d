/**
 * `group-change` (PROTOCOL.md §8.7): a member's notice that the chain moved.
 */
import {
  applyMembershipRecord,
  decodeMembershipRecord,
  equalBytes,
  fromBase64,
  verifyMembershipChain,
  type GroupState,
  type MembershipRecord,
} from '@sotto/crypto';
import type { Payload } from '../../payload.ts';
import type { GroupRecord } from '../../store/types.ts';
import { groupConversation } from '../conversation.ts';
import type { GroupChain, Step } from '../groups/chain.ts';
import type { Applying } from './types.ts';

/**
 * A `group-change` notice from `origin` (PROTOCOL.md §8.7), with the caller holding the lock:
 * its record, verified against the chain we hold, is applied at once (store ops into `ops`,
 * events into `fx`), so a key server that keeps serving the old chain cannot hide a removal.
 * A record that does not verify is dropped (`FORGED_GROUP_CHANGE`); an admin-signed one that
 * differs from ours at a position we hold freezes the group. Without a record, or when we are
 * more than one record behind, the chain is fetched after the commit.
 */
export async function applyGroupChange(
  p: Extract<Payload, { kind: 'group-change' }>,
  at: Applying,
): Promise<void> {
  const { ctx, origin, ops, fx, chain } = at;
  const fetchLater = (): void => {
    fx.after.push(
      () => void chain.refresh(p.groupId).catch((err: unknown) => ctx.events.emit('error', err)),
    );
  };
  const held = await ctx.store.getGroup(p.groupId);
  if (held?.frozen) return;
  if (!p.record || !held) return fetchLater();
  const heldState = chain.stateOf(held);
  // Only a member (per the chain we hold) can vouch for a change; anyone else's notice is a hint.
  if (!heldState.members.has(origin.user)) return fetchLater();
  const forged = (): void => {
    fx.after.push(() =>
      ctx.events.emit('securityNotice', {
        code: 'FORGED_GROUP_CHANGE',
        user: origin.user,
        device: origin.device,
        conversationId: groupConversation(p.groupId),
        groupId: p.groupId,
        message:
          "a change to this group that does not verify against the group's history was dropped",
        at: ctx.now(),
      }),
    );
  };
  let raw: Uint8Array;
  let rec: MembershipRecord;
  try {
    raw = fromBase64(p.record);
    rec = decodeMembershipRecord(raw);
  } catch {
    return forged();
  }
  if (rec.groupId !== p.groupId) return forged();
  if (rec.seq > heldState.seq + 1) return fetchLater();
  const step = checkNoticeRecord(chain, held, heldState, rec, raw);
  if (step === 'forged') return forged();
  if (step) {
    ops.push(...step.ops);
    fx.after.push(step.after);
  }
}

/**
 * A record at or just after our head: the next step (it extends our chain), a freeze (an admin
 * of our chain at that position signed something else there: a fork), null (we have it), or
 * 'forged' (it does not verify against our chain, or competes with ours without an admin's
 * signature).
 */
function checkNoticeRecord(
  chain: GroupChain,
  held: GroupRecord,
  heldState: GroupState,
  rec: MembershipRecord,
  raw: Uint8Array,
): Step | 'forged' | null {
  if (rec.seq === heldState.seq + 1) {
    try {
      const next = applyMembershipRecord(heldState, rec);
      return chain.transition(held.groupId, held, [...held.chain, raw], next);
    } catch {
      return 'forged';
    }
  }
  const ours = held.chain[rec.seq]!;
  if (equalBytes(ours, raw)) return null;
  try {
    if (rec.seq === 0) {
      // Anyone can sign a genesis for any id; only our creator's second one is a fork.
      const genesis = decodeMembershipRecord(ours);
      if (
        genesis.actor.username !== rec.actor.username ||
        !equalBytes(genesis.actor.uik, rec.actor.uik)
      )
        return 'forged';
      applyMembershipRecord(null, rec);
    } else {
      // Only an admin's competing record proves a fork: any member can sign a valid `leave`
      // for any position, and must not be able to freeze the group for everyone with it.
      const prefix = verifyMembershipChain(held.chain.slice(0, rec.seq));
      const actor = prefix.members.get(rec.actor.username);
      if (!actor?.admin || !equalBytes(actor.uik, rec.actor.uik)) return 'forged';
      applyMembershipRecord(prefix, rec);
    }
  } catch {
    return 'forged';
  }
  return chain.freeze(held, 'forked');
}
