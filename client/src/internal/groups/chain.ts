/**
 * Group membership chains (DESIGN.md §3, PROTOCOL.md §8): the chain is fetched from the key
 * server and verified here before anything is trusted, adopted only when it extends the chain
 * we hold (§8.7; a fork or rollback freezes the group), and each adoption's store ops and
 * events (topic subscription, dropped sender keys, `groupChange`) are computed in one place.
 * The lowest of the group modules: sending (send.ts), administration (admin.ts), receiving
 * (receive.ts) and the `group-change` / `sender-key` apply handlers build on it.
 */
import {
  DEFAULT_GROUP_POLICY,
  applyMembershipRecord,
  decodeMembershipRecord,
  equalBytes,
  fromBase64,
  groupTopic,
  verifyMembershipChain,
  type GroupState,
} from '@sotto/crypto';
import { ClientError } from '../../errors.ts';
import type { GroupFrozen, GroupRecord, StoreOp } from '../../store/types.ts';
import type { Ctx } from '../context.ts';
import { groupConversation } from '../conversation.ts';
import { groupNotices } from './timeline.ts';

/** A change to a stored group: the record after it, its store ops, and what to do once committed. */
export interface Step {
  group: GroupRecord;
  ops: StoreOp[];
  after: () => void;
}

/** How a chain offered to us relates to the one we hold ({@link compareChains}). */
export type ChainRelation = 'same' | 'extends' | 'behind' | 'forked';

/**
 * The prefix rule of PROTOCOL.md §8.7, the one place it is decided: `extends` when `held` is a
 * proper prefix of `offered`, `behind` when `offered` is a proper prefix of `held` (from the key
 * server: a rollback), `forked` when they differ at a position both have.
 */
export function compareChains(
  held: readonly Uint8Array[],
  offered: readonly Uint8Array[],
): ChainRelation {
  const n = Math.min(held.length, offered.length);
  for (let i = 0; i < n; i++) if (!equalBytes(held[i]!, offered[i]!)) return 'forked';
  if (held.length === offered.length) return 'same';
  return held.length < offered.length ? 'extends' : 'behind';
}

/** The verified membership chains of one engine's groups (PROTOCOL.md §8.7). */
export class GroupChain {
  constructor(private readonly ctx: Ctx) {}

  /** The verified state of a stored group. */
  stateOf(group: GroupRecord): GroupState {
    return verifyMembershipChain(group.chain);
  }

  /** A stored group we are a member of and may act in: NOT_MEMBER, or GROUP_FROZEN (§8.7). */
  async requireGroup(groupId: string): Promise<GroupRecord> {
    let group = await this.ctx.store.getGroup(groupId);
    // Not heard of it yet (the notice may still be on its way): ask the key server.
    if (!group) group = await this.refresh(groupId).catch(() => null);
    if (!group || !group.members.includes(this.ctx.account().username)) {
      throw new ClientError('NOT_MEMBER', `not a member of group ${groupId}`);
    }
    assertNotFrozen(group);
    return group;
  }

  /** True when `user` is a member of the stored group. */
  async isMember(groupId: string, user: string): Promise<boolean> {
    const g = await this.ctx.store.getGroup(groupId);
    return !!g && g.members.includes(user);
  }

  /**
   * A key server's `group-changed` notice up to record `seq` (PROTOCOL.md §7). With the record
   * and our chain at `seq - 1`, the record is verified against our chain and adopted as the
   * `group-change` payload's would be: no fetch. Otherwise the chain is fetched — unless our own
   * chain already holds record `seq` and no longer has us as a member: the removal (or our
   * leave) reached us already, and the key server answers a non-member's fetch with 404. A
   * re-add is a later record, so it is still fetched.
   */
  async noticed(groupId: string, seq: number, record?: string): Promise<void> {
    const { store } = this.ctx;
    if (record !== undefined && (await this.adoptNoticed(groupId, seq, record))) return;
    const held = await store.getGroup(groupId);
    const gone = held !== null && !held.members.includes(this.ctx.account().username);
    if (gone && held.chain.length > seq) return;
    await this.refresh(groupId);
  }

  /**
   * Adopt the record at `seq` a notice carried, if it is the next record of our chain and
   * verifies against it (an admin's signature, the hash link); false when it does not apply,
   * and the caller fetches the chain instead (which is verified in full).
   */
  private async adoptNoticed(groupId: string, seq: number, record: string): Promise<boolean> {
    const { store } = this.ctx;
    const step = await this.ctx.lock.run(async (): Promise<Step | null> => {
      const held = await store.getGroup(groupId);
      if (!held || held.frozen || held.chain.length !== seq) return null;
      let raw: Uint8Array;
      let next: GroupState;
      try {
        raw = fromBase64(record);
        const rec = decodeMembershipRecord(raw);
        if (rec.groupId !== groupId || rec.seq !== seq) return null;
        next = applyMembershipRecord(this.stateOf(held), rec);
      } catch {
        return null;
      }
      const step = this.transition(groupId, held, [...held.chain, raw], next);
      if (step.ops.length) await store.batch(step.ops);
      return step;
    });
    step?.after();
    return step !== null;
  }

  /**
   * Fetch the chain from the key server, verify it, and adopt it only if it extends the chain we
   * hold (PROTOCOL.md §8.7): a fork or a rollback freezes the group instead. Updates the store,
   * topic subscription and sender keys; emits `groupChange` when membership moved.
   */
  async refresh(groupId: string): Promise<GroupRecord | null> {
    return this.fetchAndAdopt(groupId, false);
  }

  /**
   * The one path by which a chain from the key server is adopted ({@link refresh}, and
   * {@link refreshUnlocked} for callers already holding the lock). `heldBefore` is how much of
   * the chain we held when the request went out: an answer shorter than our chain now but not
   * shorter than that is merely stale (a record reached us end to end while it was on its way),
   * not a rollback.
   */
  private async fetchAndAdopt(groupId: string, locked: boolean): Promise<GroupRecord | null> {
    const { store, http } = this.ctx;
    const account = this.ctx.account();
    const run = <T>(f: () => Promise<T>): Promise<T> => (locked ? f() : this.ctx.lock.run(f));
    const held = await store.getGroup(groupId);
    // Frozen: the key server rewrote this group's history once; nothing it says is adopted.
    if (held?.frozen) return held;
    const heldBefore = held?.chain.length ?? 0;
    let chain: Uint8Array[];
    try {
      chain = (await http.getGroup(groupId)).records.map((r) => fromBase64(r));
    } catch (err) {
      // 403/404: the key server no longer counts us as a member (removed, or the
      // group is gone). Stop using the group; the chain we hold stays for history. When our
      // chain already says we are out (our own leave, adopted from its notice while the
      // leave's own refresh was on its way), both agree: nothing to do.
      const status = (err as { status?: number }).status;
      if (!locked && held && (status === 403 || status === 404)) {
        return held.members.includes(account.username) ? this.leaveLocally(held, []) : held;
      }
      throw err;
    }
    const state = verifyMembershipChain(chain);
    if (state.groupId !== groupId)
      throw new ClientError('BAD_INPUT', 'key server returned another group');
    const step = await run(async () => {
      const old = await store.getGroup(groupId);
      const next = this.adoption(groupId, old, chain, state, heldBefore);
      if (next.ops.length) await store.batch(next.ops);
      return next;
    });
    // Under the caller's lock the events wait until the caller is done with the store.
    if (locked) queueMicrotask(step.after);
    else step.after();
    return step.group;
  }

  /**
   * What adopting `chain` (verified, `state`) from the key server means for the stored `old`:
   * nothing (same chain, or a stale answer), a membership step, or a freeze (fork, rollback).
   */
  private adoption(
    groupId: string,
    old: GroupRecord | null,
    chain: Uint8Array[],
    state: GroupState,
    heldBefore: number,
  ): Step {
    if (!old) return this.transition(groupId, null, chain, state);
    if (old.frozen) return { group: old, ops: [], after: () => undefined };
    const account = this.ctx.account();
    switch (compareChains(old.chain, chain)) {
      case 'forked':
        return this.freeze(old, 'forked');
      case 'behind':
        return chain.length < heldBefore
          ? this.freeze(old, 'rolled-back')
          : { group: old, ops: [], after: () => undefined };
      case 'same':
        // Nothing to do, unless a concurrent refresh that met a 403 mid re-key marked us as
        // gone while the chain has us in again.
        if (old.members.includes(account.username) === state.members.has(account.username))
          return { group: old, ops: [], after: () => undefined };
        return this.transition(groupId, old, chain, state);
      case 'extends':
        return this.transition(groupId, old, chain, state);
    }
  }

  /**
   * The store ops and events of moving a group from `old` to the verified `chain`: removed and
   * re-keyed members' sender keys dropped and our own rotated (§8.6), or, when we are no longer
   * in it, every sender key dropped and the topic left.
   */
  transition(
    groupId: string,
    old: GroupRecord | null,
    chain: Uint8Array[],
    state: GroupState,
  ): Step {
    const account = this.ctx.account();
    const members = [...state.members.keys()].sort();
    const group: GroupRecord = {
      groupId,
      name: state.name,
      chain,
      members,
      admins: members.filter((m) => state.members.get(m)!.admin),
      updatedAt: this.ctx.now(),
      policy: { ...state.policy },
    };
    const before = old?.members ?? [];
    const removed = before.filter((m) => !members.includes(m));
    const added = members.filter((m) => !before.includes(m));
    // Re-keyed (removed and re-added with another UIK): their old devices are out, like removed ones.
    const prior = old && old.chain.length < chain.length ? this.stateOf(old) : null;
    const rekeyed = prior
      ? members.filter((m) => {
          const was = prior.members.get(m);
          return !!was && !equalBytes(was.uik, state.members.get(m)!.uik);
        })
      : [];
    // The timeline lines of the records this step adopts (verified by every caller: §8.7).
    const lines = groupNotices(
      groupId,
      chain,
      old ? old.chain.length : null,
      old?.policy ?? DEFAULT_GROUP_POLICY,
      account,
      this.ctx.now(),
    );
    const ops: StoreOp[] = [{ op: 'putGroup', group }];
    // No `message` event for them: the `groupChange` this step emits tells views to re-read.
    for (const line of lines) ops.push({ op: 'putMessage', message: line });
    for (const m of [...removed, ...rekeyed])
      ops.push({ op: 'deleteSenderKeys', groupId, user: m });
    // Rotation on removal: the next message starts a new chain for the remaining members only.
    if (removed.length || rekeyed.length) ops.push({ op: 'deleteOwnSenderKey', groupId });
    if (!members.includes(account.username)) {
      ops.push({ op: 'deleteOwnSenderKey', groupId }, { op: 'deleteSenderKeys', groupId });
      return {
        group,
        ops,
        after: () => {
          this.ctx.unsubscribe(groupTopic(groupId));
          // A group we never were in (a stray notice) is stored but not announced.
          if (!before.includes(account.username)) return;
          this.ctx.events.emit('groupChange', {
            groupId,
            name: group.name,
            members,
            removed: [...new Set([...removed, account.username])],
            added: [],
          });
        },
      };
    }
    return {
      group,
      ops,
      after: () => {
        this.ctx.subscribe(groupTopic(groupId));
        this.ctx.events.emit('groupChange', { groupId, name: group.name, members, removed, added });
      },
    };
  }

  /**
   * Freeze `old` (PROTOCOL.md §8.7): marked, kept as it is, reported once as a `securityNotice`.
   */
  freeze(old: GroupRecord, reason: GroupFrozen['reason']): Step {
    const at = this.ctx.now();
    const group: GroupRecord = { ...old, frozen: { reason, at } };
    return {
      group,
      ops: [{ op: 'putGroup', group }],
      after: () =>
        this.ctx.events.emit('securityNotice', {
          code: 'GROUP_FORKED',
          user: this.ctx.account().username,
          device: null,
          conversationId: groupConversation(old.groupId),
          groupId: old.groupId,
          message: "this group's history was rewritten by the server",
          at,
        }),
    };
  }

  private async leaveLocally(group: GroupRecord, removed: string[]): Promise<GroupRecord> {
    const account = this.ctx.account();
    const g = { ...group, members: group.members.filter((m) => m !== account.username) };
    await this.ctx.lock.run(() =>
      this.ctx.store.batch([
        { op: 'putGroup', group: g },
        { op: 'deleteOwnSenderKey', groupId: g.groupId },
        { op: 'deleteSenderKeys', groupId: g.groupId },
      ]),
    );
    this.ctx.unsubscribe(groupTopic(g.groupId));
    this.ctx.events.emit('groupChange', {
      groupId: g.groupId,
      name: g.name,
      members: g.members,
      removed: [...new Set([...removed, account.username])],
      added: [],
    });
    return g;
  }

  /** {@link refresh} while the lock is already held (first sender key of an unknown group). */
  refreshUnlocked(groupId: string): Promise<GroupRecord | null> {
    return this.fetchAndAdopt(groupId, true);
  }

  /** REKEY_PENDING when the chain records another UIK for us than ours (our identity was reset). */
  assertCurrent(state: GroupState): void {
    const account = this.ctx.account();
    const me = state.members.get(account.username);
    if (me && !equalBytes(me.uik, account.uik.publicKey)) {
      throw new ClientError(
        'REKEY_PENDING',
        `group ${state.groupId} still records the identity key this account had before its reset: waiting for an admin to re-add it`,
      );
    }
  }

  /** Decode the stored chain records (for UIs that show history). */
  static records(group: GroupRecord): ReturnType<typeof decodeMembershipRecord>[] {
    return group.chain.map((r) => decodeMembershipRecord(r));
  }
}

/** GROUP_FROZEN when the key server rewrote the group's history on this device (§8.7). */
export function assertNotFrozen(group: GroupRecord): void {
  if (group.frozen) {
    throw new ClientError(
      'GROUP_FROZEN',
      `group ${group.groupId} is frozen: the key server served its history ${group.frozen.reason === 'forked' ? 'rewritten' : 'rolled back'}`,
    );
  }
}
