/**
 * Receiving on group topics (PROTOCOL.md §8.4): envelopes that arrived together are decrypted in
 * order on the receiving chain states the ones before them left, applied (apply/) and committed
 * as one store batch together with the advanced states; an envelope whose sender key has not
 * arrived yet is parked (persisted, bounded) and retried when the key comes.
 */
import {
  deserializeReceiverState,
  groupDecrypt,
  peekGroupEnvelope,
  serializeReceiverState,
  unpad,
} from '@sotto/crypto';
import { decodePayload, type Payload } from '../../payload.ts';
import type { GroupRecord, SenderKeyRecord, StoreOp } from '../../store/types.ts';
import { newEffects, type Effects, type Origin } from '../apply/types.ts';
import type { Applier } from '../apply/index.ts';
import { ClientError } from '../../errors.ts';
import type { Ctx } from '../context.ts';
import { groupConversation } from '../conversation.ts';
import { isAcked, isBatchable } from '../kinds.ts';
import type { ReceiptBatcher } from '../receipts.ts';
import { runEffects } from '../receive/effects.ts';
import { applyRun, type RunItem } from '../receive/run.ts';
import type { Directory } from '../trust.ts';

const PENDING = 'groups.pending';
/** Group envelopes kept while their sender key has not arrived (bounded). */
const MAX_PENDING = 2000;

interface PendingEnvelope {
  groupId: string;
  envelope: Uint8Array;
  at: number;
}

/** Receiving on group topics of one engine. */
export class GroupReceiver {
  constructor(
    private readonly ctx: Ctx,
    private readonly directory: Directory,
    private readonly applier: Applier,
    private readonly receipts: ReceiptBatcher,
  ) {}

  /**
   * Handle an envelope from a group topic. Never throws. False when its sender key has not
   * arrived yet (the envelope is then parked, unless it came from the parked ones).
   */
  async handleGroupEnvelope(
    groupId: string,
    envelope: Uint8Array,
    fromPending = false,
  ): Promise<boolean> {
    const [handled] = await this.handleGroupBatch([{ groupId, envelope }], fromPending);
    return handled ?? true;
  }

  /**
   * Handle envelopes from group topics that arrived together, in order, committing a run of
   * ordinary messages as one store batch (issue 6), as receive/inbox.ts does
   * for the inbox. Each envelope is decrypted on the receiving chain state the ones before it
   * left (held in memory until the commit), and the advanced states go into the same store
   * batch as the messages they decrypted, so neither is ever stored without the other; ids seen
   * earlier in the batch count as seen. Payloads that read what earlier ones wrote (edits,
   * deletes, reactions, group changes) commit what came before and then go alone. An envelope
   * that fails to decrypt is reported and dropped, leaving the staged state as it was. Events and
   * receipts follow the commit. Returns, per envelope, false when its sender key has not arrived
   * (parked unless `fromPending`). Never throws; a failed commit is reported and its messages
   * are dropped (their senders re-send until a `delivered` receipt comes).
   */
  async handleGroupBatch(
    items: readonly { groupId: string; envelope: Uint8Array }[],
    fromPending = false,
  ): Promise<boolean[]> {
    const { store } = this.ctx;
    const account = this.ctx.account();
    const handled = items.map(() => true);
    const done: Effects[] = [];
    try {
      await this.ctx.lock.run(async () => {
        // Receiving chain states, seen ids and group records of this batch, not committed yet.
        const keys = new Map<string, SenderKeyRecord>();
        const groups = new Map<string, GroupRecord | null>();
        const seen = new Set<string>();
        const staged: StoreOp[] = [];
        const pending: Effects[] = [];
        /** Decrypted ordinary payloads, applied together before the next commit (run.ts). */
        const run: RunItem[] = [];
        const commit = async (): Promise<void> => {
          const items = run.splice(0);
          await applyRun(this.ctx, this.applier, items, seen);
          for (const item of items) {
            staged.push(...item.ops);
            pending.push(item.fx);
          }
          const ops = staged.splice(0);
          const fxs = pending.splice(0);
          groups.clear();
          try {
            if (ops.length) await store.batch(ops);
            done.push(...fxs);
          } catch (err) {
            // Read the states again from the store: the ones staged were not kept.
            keys.clear();
            seen.clear();
            this.ctx.events.emit('error', err);
          }
        };
        for (const [i, { groupId, envelope }] of items.entries()) {
          try {
            const header = peekGroupEnvelope(envelope);
            // MQTT 3.1.1 has no no-local: our own publishes come back.
            if (header.username === account.username && header.deviceId === account.deviceId)
              continue;
            const slot = `${groupId}|${header.username}|${header.deviceId}|${header.keyId}`;
            const rec =
              keys.get(slot) ??
              (await store.getSenderKey(groupId, header.username, header.deviceId, header.keyId));
            if (!rec) {
              handled[i] = false;
              if (!fromPending) await this.park(groupId, envelope);
              continue;
            }
            if (!groups.has(groupId)) groups.set(groupId, await store.getGroup(groupId));
            if (!groups.get(groupId)?.members.includes(header.username)) continue;
            const state = deserializeReceiverState(rec.state);
            const plain = groupDecrypt(state, envelope, groupId);
            const record: SenderKeyRecord = { ...rec, state: serializeReceiverState(state) };
            const ops: StoreOp[] = [{ op: 'putSenderKey', record }];
            let payload: Payload | null = null;
            try {
              payload = decodePayload(unpad(plain));
            } catch (err) {
              // The chain advanced: keep the new state, drop the garbage.
              this.ctx.events.emit('error', err);
            }
            // Sender keys and syncs come pairwise only; on a group topic they are ignored.
            if (payload?.kind === 'sender-key' || payload?.kind === 'sync') payload = null;
            // Announcement-only (PROTOCOL.md §8.1 `policy`): the broker refuses other members'
            // publishes; should one get through anyway, it is decrypted (the chain advances) and
            // dropped.
            const g = groups.get(groupId);
            if (payload && g?.policy?.announce && !g.admins.includes(header.username)) {
              this.ctx.events.emit(
                'error',
                new ClientError(
                  'NOT_ADMIN',
                  `${header.username} posted in announcement-only group ${groupId}`,
                ),
              );
              payload = null;
            }
            const simple = payload === null || isBatchable(payload.kind);
            if (!simple) await commit();
            const fx: Effects = newEffects();
            const { devices } = payload
              ? await this.directory.devices(header.username)
              : { devices: [] };
            const origin: Origin = {
              conversationId: groupConversation(groupId),
              user: header.username,
              device: header.deviceId,
              kind: devices.find((d) => d.deviceId === header.deviceId)?.kind ?? 'user',
              group: groupId,
            };
            if (simple) {
              // Applied with the rest of the run, after one read of which ids were seen (a
              // payload that did not decode joins it too: its chain advance keeps its place).
              keys.set(slot, record);
              run.push({ payload, origin, ops, fx });
              continue;
            }
            if (payload) {
              if (seen.has(payload.id)) {
                // A copy of a message earlier in this batch: acknowledged again, not stored.
                if (isAcked(payload.kind))
                  fx.acks.push({ user: origin.user, device: origin.device, id: payload.id });
              } else await this.applier.apply(payload, origin, ops, fx);
            }
            staged.push(...ops);
            keys.set(slot, record);
            for (const op of ops) if (op.op === 'markSeen') for (const id of op.ids) seen.add(id);
            pending.push(fx);
            if (!simple) await commit();
          } catch (err) {
            this.ctx.events.emit('error', err);
          }
        }
        await commit();
      });
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
    for (const fx of done)
      runEffects(this.ctx, this.receipts, fx, (groupId) => this.retryPending(groupId));
    return handled;
  }

  /** Keep a group envelope whose sender key has not arrived yet (persisted, bounded). */
  private async park(groupId: string, envelope: Uint8Array): Promise<void> {
    const list = (await this.ctx.store.getSetting<PendingEnvelope[]>(PENDING)) ?? [];
    list.push({ groupId, envelope, at: this.ctx.now() });
    await this.ctx.store.setSetting(PENDING, list.slice(-MAX_PENDING));
  }

  /** A sender key arrived for `groupId`: retry the parked envelopes of that group. */
  async retryPending(groupId: string): Promise<void> {
    const list = (await this.ctx.store.getSetting<PendingEnvelope[]>(PENDING)) ?? [];
    const mine = list.filter((p) => p.groupId === groupId);
    if (!mine.length) return;
    const keep: PendingEnvelope[] = list.filter((p) => p.groupId !== groupId);
    const handled = await this.handleGroupBatch(mine, true);
    mine.forEach((p, i) => {
      if (!handled[i]) keep.push(p);
    });
    await this.ctx.store.setSetting(PENDING, keep);
  }
}
