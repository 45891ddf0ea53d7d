/**
 * Receiving on our inbox topic (PROTOCOL.md §6, §6.7, §12): envelopes that arrived together are
 * decrypted in order on the session states the ones before them left (trust-checked by
 * sessions.ts `decryptPairwise` against the directory), applied (apply/) and committed as one
 * store batch; a verified contact's messages under an unaccepted new key are held (held.ts)
 * until the user accepts it; senders whose envelopes keep failing are cut off for a while
 * (budget.ts).
 */
import { peekPairwiseEnvelope, unpad } from '@sotto/crypto';
import { isApiError } from '../../http.ts';
import { decodePayload, isCallKind, type Payload } from '../../payload.ts';
import type { ContactRecord, StoreOp } from '../../store/types.ts';
import type { Applier } from '../apply/index.ts';
import { newEffects, type Effects, type Origin } from '../apply/types.ts';
import { SenderBudget } from '../budget.ts';
import type { Ctx } from '../context.ts';
import { dmConversation } from '../conversation.ts';
import type { GroupReceiver } from '../groups/receive.ts';
import { clearHeldOp, heldMessages, heldRecord, hold, type HeldItem } from '../held.ts';
import { isAcked, isBatchable } from '../kinds.ts';
import type { Outbox } from '../outbox.ts';
import type { ReceiptBatcher } from '../receipts.ts';
import {
  decryptPairwise,
  heldSlot,
  previousSlot,
  SessionCache,
  UntrustedSenderError,
  type Decrypted,
} from '../sessions.ts';
import type { Directory } from '../trust.ts';
import { runEffects } from './effects.ts';
import { applyRun, type RunItem } from './run.ts';

/** The inbox receiver of one engine. */
export class InboxReceiver {
  /** Failure budgets of claimed senders (budget.ts). */
  readonly #budget: SenderBudget;

  constructor(
    private readonly ctx: Ctx,
    private readonly directory: Directory,
    private readonly applier: Applier,
    private readonly outbox: Outbox,
    private readonly receipts: ReceiptBatcher,
    /** Parked group envelopes are retried through it when a sender key arrives. */
    private readonly groups: GroupReceiver,
  ) {
    this.#budget = new SenderBudget(ctx.now);
  }

  /** Handle one envelope from our inbox topic. Never throws: bad input is reported and dropped. */
  handleInbox(bytes: Uint8Array): Promise<void> {
    return this.handleInboxBatch([bytes]);
  }

  /**
   * Handle envelopes from our inbox topic that arrived together, in order, committing a run of
   * ordinary messages as one store batch (issue 6: one IndexedDB transaction for many messages,
   * not one each). Each envelope is decrypted on the session state the ones before it left
   * (held in memory until the commit); ids seen earlier in the batch count as seen. PREKEY
   * envelopes and payloads that read what earlier ones wrote (edits, reactions, sender keys,
   * group changes, profiles, syncs) commit what came before and then go alone, as
   * {@link handleInbox} always did. Events and receipts follow the commit. Never throws: bad
   * input is reported and dropped; a failed commit is reported (and, as before, its messages
   * are dropped — their senders re-send until a `delivered` receipt comes). `arrived`: when
   * each envelope's PUBLISH came (`performance.now()`), for the trace (trace.ts).
   */
  async handleInboxBatch(
    envelopes: readonly Uint8Array[],
    arrived: readonly (number | undefined)[] = [],
  ): Promise<void> {
    const { store, trace } = this.ctx;
    const done: Effects[] = [];
    /** Traced payload ids not committed yet, and the committed ones (only with a tracer). */
    const uncommitted: string[] = [];
    const committed: string[] = [];
    /** When this batch began, and when it got the lock (for the trace). */
    const began = trace ? performance.now() : 0;
    let locked = 0;
    // The batch's sessions, deserialised once (sessions.ts); wiped when the batch ends.
    const cache = new SessionCache();
    try {
      await this.ctx.lock.run(async () => {
        if (trace) locked = performance.now();
        // Session states and seen ids written by this batch but not committed yet; session
        // slots and contacts read by it (a slot or a contact changes only through this batch's
        // ops while it holds the lock — sessions are staged here, contacts dropped at a commit —
        // and through the directory's first sight of a user, which pins the contact before the
        // check that first reads it: so a contact is not read ahead of that check).
        const sessions = new Map<string, Uint8Array | null>();
        const contacts = new Map<string, Promise<ContactRecord | null>>();
        const seen = new Set<string>();
        const staged: StoreOp[] = [];
        const pending: Effects[] = [];
        /** Decrypted ordinary payloads, applied together before the next commit (run.ts). */
        const run: RunItem[] = [];
        const stagedStore = new Proxy(store, {
          get: (target, prop, receiver) => {
            if (prop === 'getSession') {
              return async (user: string, device: string) => {
                const key = `${user}|${device}`;
                if (!sessions.has(key)) sessions.set(key, await target.getSession(user, device));
                return sessions.get(key) ?? null;
              };
            }
            if (prop === 'getContact') {
              return (user: string) => {
                let contact = contacts.get(user);
                if (contact === undefined) {
                  contact = target.getContact(user);
                  contacts.set(user, contact);
                }
                return contact;
              };
            }
            return Reflect.get(target, prop, receiver) as unknown;
          },
        });
        const stagedCtx: Ctx = { ...this.ctx, store: stagedStore };
        const stage = (ops: StoreOp[]): void => {
          for (const op of ops) {
            if (op.op === 'putSession') sessions.set(`${op.user}|${op.device}`, op.state);
            else if (op.op === 'deleteSession') sessions.set(`${op.user}|${op.device}`, null);
            else if (op.op === 'markSeen') for (const id of op.ids) seen.add(id);
            else if (op.op === 'putContact') contacts.delete(op.contact.username);
          }
        };
        const flushRun = async (): Promise<void> => {
          const items = run.splice(0);
          await applyRun(this.ctx, this.applier, items, seen);
          for (const item of items) {
            staged.push(...item.ops);
            pending.push(item.fx);
          }
        };
        const commit = async (): Promise<void> => {
          await flushRun();
          const ops = staged.splice(0);
          const fxs = pending.splice(0);
          // Contacts may change outside this batch between its commits (a key accepted).
          contacts.clear();
          cache.forgetVouches();
          try {
            if (ops.length) await store.batch(ops);
            done.push(...fxs);
            if (trace) {
              const at = performance.now();
              for (const id of uncommitted) trace('committed', id, at);
              committed.push(...uncommitted);
            }
          } catch (err) {
            // Read the states again from the store: the ones staged were not kept.
            sessions.clear();
            cache.clear();
            seen.clear();
            this.ctx.events.emit('error', err);
          } finally {
            uncommitted.length = 0;
          }
        };
        for (const [index, bytes] of envelopes.entries()) {
          const fx: Effects = newEffects();
          let sender: string | null = null;
          try {
            const info = peekPairwiseEnvelope(bytes);
            sender = `${info.sender.username}|${info.sender.deviceId}`;
            // A sender whose envelopes kept failing is not tried again this window (budget.ts).
            if (!this.#budget.allows(sender)) continue;
            // Decrypted on the staged sessions, with the batch — a PREKEY envelope too, when a
            // session it already began decrypts it (a new contact's burst is all PREKEY
            // envelopes until we answer: one store transaction each made a returning page
            // take such a queue in at ~60 msg/s). Only an envelope that starts a session goes
            // alone, on the committed store (it reads prekeys and consumes a one-time one).
            let dec = await decryptPairwise(stagedCtx, this.directory, bytes, {
              handshake: false,
              cache,
              info,
            });
            const alone = dec === null;
            if (dec === null) {
              await commit();
              dec = await decryptPairwise(this.ctx, this.directory, bytes);
            }
            if (dec.held) {
              // A verified contact under a new, unaccepted key: into the held queue, not shown.
              await commit();
              await this.holdDecrypted(dec);
              continue;
            }
            const ops = dec.ops;
            let payload: Payload | null = null;
            try {
              payload = decodePayload(unpad(dec.plaintext));
            } catch (err) {
              // The ratchet advanced: keep the new state, drop the garbage.
              this.ctx.events.emit('error', err);
            }
            if (trace && payload) {
              trace('received', payload.id, arrived[index]);
              trace('batched', payload.id, began);
              trace('locked', payload.id, locked);
              trace('decrypted', payload.id);
            }
            const simple = payload === null || isBatchable(payload.kind);
            if (!alone && !simple) await commit();
            if (trace && payload) uncommitted.push(payload.id);
            if (dec.newSession) {
              // A device we had no session with may be new (e.g. just linked, PROTOCOL.md §13):
              // refetch the sender's device list before the next send so it is included.
              this.directory.invalidate(dec.user);
              fx.after.push(() => void this.outbox.resendTo(dec.user, dec.device));
            }
            // The session advance is staged now: the next envelope decrypts on it.
            stage(ops);
            const origin: Origin = {
              conversationId: dmConversation(dec.user),
              user: dec.user,
              device: dec.device,
              kind: dec.certificate.kind,
            };
            if (simple && !alone) {
              // Applied with the rest of the run, after one read of which ids were seen (a
              // payload that did not decode joins it too: its ops keep their place in order).
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
            stage(ops);
            pending.push(fx);
            if (alone || !simple) await commit();
          } catch (err) {
            this.reportRefused(err, sender);
          }
        }
        await commit();
      });
    } catch (err) {
      this.ctx.events.emit('error', err);
    } finally {
      cache.clear();
    }
    for (const fx of done) this.runEffects(fx);
    if (trace) {
      const at = performance.now();
      for (const id of committed) trace('event', id, at);
    }
  }

  /**
   * An inbox envelope was refused: a sender the directory does not vouch for becomes a
   * `securityNotice` (never a message); any failure spends the claimed sender's budget.
   */
  private reportRefused(err: unknown, sender: string | null): void {
    const unreachable = isApiError(err, 'NETWORK');
    if (sender && !unreachable && this.#budget.charge(sender)) {
      const [user = '', device = ''] = sender.split('|');
      this.ctx.events.emit('securityNotice', {
        code: 'SENDER_FLOOD',
        user,
        device,
        conversationId: dmConversation(user),
        message: `too many envelopes that do not decrypt claimed to come from ${user}; dropping the rest for a minute`,
        at: this.ctx.now(),
      });
    }
    if (err instanceof UntrustedSenderError) {
      this.ctx.events.emit('securityNotice', {
        code: err.own ? 'FOREIGN_OWN_DEVICE' : 'UNLISTED_DEVICE',
        user: err.user,
        device: err.device,
        conversationId: err.own ? null : dmConversation(err.user),
        message: err.own
          ? `a message claiming to come from your own device ${err.device} was dropped: that device is not certified by your identity key in the key directory`
          : `a message claiming to be from ${err.user} was dropped: it came from a device that is not in ${err.user}'s key directory`,
        at: this.ctx.now(),
      });
      return;
    }
    this.ctx.events.emit('error', err);
  }

  /** Put a held envelope's payload in its sender's held queue (caller holds the lock). */
  private async holdDecrypted(dec: Decrypted): Promise<void> {
    let item: HeldItem | null = null;
    try {
      const plaintext = unpad(dec.plaintext);
      const payload = decodePayload(plaintext);
      // Receipts and typing mean nothing later; everything else waits for the user's decision.
      // A message seen before (re-sent under the new key) is not held again.
      // Of call signalling only the offer is kept: released later, it is a missed call.
      if (
        payload.kind !== 'receipt' &&
        payload.kind !== 'typing' &&
        (!isCallKind(payload.kind) || payload.kind === 'call-offer') &&
        !(await this.ctx.store.hasSeen(payload.id))
      ) {
        item = {
          id: payload.id,
          device: dec.device,
          kind: dec.certificate.kind,
          payloadKind: payload.kind,
          plaintext,
          at: this.ctx.now(),
        };
      }
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
    const record = await heldRecord(this.ctx.store, dec.user);
    const before = heldMessages(record);
    const ops = [...dec.ops];
    ops.push(hold(record, dec.user, dec.device, item));
    await this.ctx.store.batch(ops);
    const count = heldMessages(record);
    if (count > before) {
      this.ctx.events.emit('securityNotice', {
        code: 'HELD_KEY_CHANGE',
        user: dec.user,
        device: dec.device,
        conversationId: dmConversation(dec.user),
        count,
        message: `${count} message(s) from ${dec.user} are held because ${dec.user}'s safety number changed; review it before reading them`,
        at: this.ctx.now(),
      });
    }
  }

  /** How many messages from `user` are held (their key change is not accepted yet). */
  async heldCount(user: string): Promise<number> {
    return heldMessages(await heldRecord(this.ctx.store, user));
  }

  /**
   * The user accepted `user`'s new key: the held sessions become the devices' sessions and the
   * held messages are processed in arrival order, as if they arrived now (stored, shown,
   * acknowledged).
   */
  async releaseHeld(user: string): Promise<number> {
    const fxs: Effects[] = [];
    let released = 0;
    await this.ctx.lock.run(async () => {
      const { store } = this.ctx;
      const record = await heldRecord(store, user);
      const ops: StoreOp[] = [clearHeldOp(user)];
      for (const device of record.devices) {
        const state = await store.getSession(user, heldSlot(device));
        if (!state) continue;
        const current = await store.getSession(user, device);
        if (current)
          ops.push({ op: 'putSession', user, device: previousSlot(device), state: current });
        ops.push({ op: 'putSession', user, device, state });
        ops.push({ op: 'deleteSession', user, device: heldSlot(device) });
      }
      // Processed one at a time on the store as it will be, so edits and reactions among the
      // held items find the messages before them.
      await store.batch(ops);
      for (const item of record.items) {
        const fx: Effects = newEffects();
        const itemOps: StoreOp[] = [];
        try {
          const payload = decodePayload(item.plaintext);
          await this.applier.apply(
            payload,
            { conversationId: dmConversation(user), user, device: item.device, kind: item.kind },
            itemOps,
            fx,
          );
          await store.batch(itemOps);
          fxs.push(fx);
          released += 1;
        } catch (err) {
          this.ctx.events.emit('error', err);
        }
      }
    });
    for (const fx of fxs) this.runEffects(fx);
    return released;
  }

  /** Run post-commit effects: events, parked group envelopes, receipts. */
  private runEffects(fx: Effects): void {
    runEffects(this.ctx, this.receipts, fx, (groupId) => this.groups.retryPending(groupId));
  }
}
