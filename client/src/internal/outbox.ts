/**
 * The outbox (docs/CLIENT.md "Reliability"): every acknowledged payload waits in the store,
 * per target device, until that device's `delivered` receipt removes it. Entries are re-sent on
 * every reconnect, on a timer, and to a peer that started a new session; pairwise entries are
 * re-encrypted on the current session, group entries once per message on the current chain.
 */
import { parseTopic, unpad } from '@sotto/crypto';
import { decodePayload } from '../payload.ts';
import type { StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import type { GroupSender } from './groups/send.ts';
import type { Pairwise } from './pairwise.ts';
import { PUBLISH_WINDOW } from './publish-window.ts';

/**
 * Publishes of a timer's re-send round handed to the transport at once: the next part waits
 * until these are acknowledged, so a live message made meanwhile waits behind one part (0.5 s at
 * the broker's 200 a second), not behind the whole round (5 s for 1,000 devices).
 */
const RESEND_PART = PUBLISH_WINDOW;

/** Re-sending of one engine's outbox. */
export class Outbox {
  constructor(
    private readonly ctx: Ctx,
    private readonly pairwise: Pairwise,
    private readonly groups: GroupSender,
  ) {}

  /** The timer's re-send still going out, if any. */
  private due: Promise<void> | null = null;

  /**
   * The timer's re-send of entries older than `olderThanMs`, one at a time: a round that is
   * still going out (its publishes not all acknowledged by the broker) makes the next tick a
   * no-op. Entries nobody acknowledges (devices that never come back) are otherwise re-sent
   * faster than the broker admits them once a round takes longer than the interval — a
   * 1,000-device fan-out at the broker's 200 publishes a second takes 5 s — and every tick
   * would add a round on top of those still waiting (issue 17).
   */
  resendDue(olderThanMs: number): Promise<void> {
    this.due ??= (async () => {
      try {
        await this.flushOutbox(olderThanMs, undefined, true);
        await this.ctx.published();
      } finally {
        this.due = null;
      }
    })();
    return this.due;
  }

  /**
   * Re-send outbox entries: all of them (`olderThanMs` 0, on reconnect) or
   * those whose last attempt is older. Pairwise entries are re-encrypted on the
   * current session; group entries re-encrypted once per message. `paced`: in parts of
   * {@link RESEND_PART} publishes, each after the one before is acknowledged.
   */
  async flushOutbox(
    olderThanMs = 0,
    only?: { user: string; device: string; groupOnly?: boolean },
    paced = false,
  ): Promise<number> {
    const now = this.ctx.now();
    const entries = (await this.ctx.store.listOutbox()).filter(
      (e) =>
        now - e.lastAttemptAt >= olderThanMs &&
        (!only ||
          (e.recipient === only.user &&
            e.recipientDevice === only.device &&
            (!only.groupOnly || parseTopic(e.topic)?.kind === 'group'))),
    );
    const groupDone = new Set<string>();
    const direct: { user: string; device: string; plaintext: Uint8Array; senderKey: boolean }[] =
      [];
    const touch: StoreOp[] = [];
    let published = 0;
    const partDone = async (n: number): Promise<void> => {
      const before = published;
      published += n;
      if (paced && Math.floor(published / RESEND_PART) > Math.floor(before / RESEND_PART))
        await this.ctx.published();
    };
    for (const e of entries) {
      touch.push({
        op: 'touchOutbox',
        messageId: e.messageId,
        recipient: e.recipient,
        recipientDevice: e.recipientDevice,
        at: now,
      });
      if (!e.plaintext) continue;
      const t = parseTopic(e.topic);
      const groupId = t?.kind === 'group' ? t.groupId : null;
      if (groupId) {
        if (groupDone.has(e.messageId)) continue;
        groupDone.add(e.messageId);
        try {
          await this.groups.resend(groupId, e.messageId, e.plaintext);
        } catch (err) {
          this.ctx.events.emit('error', err);
        }
        await partDone(1);
      } else {
        let senderKey = false;
        try {
          senderKey = decodePayload(unpad(e.plaintext)).kind === 'sender-key';
        } catch {
          // Our own encoding; cannot fail short of corruption — send as a normal message.
        }
        direct.push({
          user: e.recipient,
          device: e.recipientDevice,
          plaintext: e.plaintext,
          senderKey,
        });
      }
    }
    if (touch.length) await this.ctx.store.batch(touch);
    // In order, one call per run of entries of the same kind (paced: per part of a run): missing
    // sessions are set up together (batched claims), as for a first send.
    const runs: (typeof direct)[] = [];
    for (let i = 0; i < direct.length;) {
      let j = i + 1;
      const most = paced ? i + RESEND_PART : direct.length;
      while (j < direct.length && j < most && direct[j]!.senderKey === direct[i]!.senderKey) j++;
      runs.push(direct.slice(i, j));
      i = j;
    }
    if (!paced) {
      await this.ctx.lock.run(async () => {
        for (const run of runs) await this.pairwise.encryptAndPublish(run, run[0]!.senderKey);
      });
      return entries.length;
    }
    for (const run of runs) {
      await this.ctx.lock.run(() => this.pairwise.encryptAndPublish(run, run[0]!.senderKey));
      await partDone(run.length);
    }
    return entries.length;
  }

  /** The peer started a new session: re-send what it has not acknowledged, on the new session. */
  async resendTo(user: string, device: string, groupOnly = false): Promise<void> {
    try {
      await this.flushOutbox(0, { user, device, groupOnly });
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
  }
}
