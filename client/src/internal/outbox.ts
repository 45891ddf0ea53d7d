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

/** Re-sending of one engine's outbox. */
export class Outbox {
  constructor(
    private readonly ctx: Ctx,
    private readonly pairwise: Pairwise,
    private readonly groups: GroupSender,
  ) {}

  /**
   * Re-send outbox entries: all of them (`olderThanMs` 0, on reconnect) or
   * those whose last attempt is older. Pairwise entries are re-encrypted on the
   * current session; group entries re-encrypted once per message.
   */
  async flushOutbox(
    olderThanMs = 0,
    only?: { user: string; device: string; groupOnly?: boolean },
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
    // In order, one call per run of entries of the same kind: missing sessions are set up
    // together (batched claims), as for a first send.
    await this.ctx.lock.run(async () => {
      for (let i = 0; i < direct.length;) {
        let j = i + 1;
        while (j < direct.length && direct[j]!.senderKey === direct[i]!.senderKey) j++;
        await this.pairwise.encryptAndPublish(direct.slice(i, j), direct[i]!.senderKey);
        i = j;
      }
    });
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
