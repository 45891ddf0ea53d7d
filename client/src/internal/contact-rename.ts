/**
 * A contact's guest rename, as this device follows it (PROTOCOL.md §3.3, docs/CLIENT.md
 * "Guests"). The key server shows the rename with the directory entry of either name; it is
 * followed only when the statement verifies under the identity key this device pinned for the
 * old name and both rename leaves are in the key log. Then the pin, the DM conversation (history
 * kept, with a "guest_x is now alice" line) and the messages still waiting for the old name move
 * to the new name, and the old name's sessions are dropped. Anything else — another key, no log
 * proof, a new name pinned to someone else — moves nothing and raises `FORGED_RENAME`.
 */
import {
  decodeRenameStatement,
  equalBytes,
  fromBase64,
  inboxTopic,
  renameLogLeaf,
  verifyRenameStatement,
} from '@sotto/crypto';
import { isApiError, type RenameEntry } from '../http.ts';
import type { ContactRecord, MessageRecord, StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import { dmConversation } from './conversation.ts';
import type { Transparency } from './transparency.ts';
import { noticeRecord } from './notice-record.ts';

/** Setting prefix: a rename of this old name was judged (moved, or refused) — a string. */
const FOLLOWED = 'rename.followed.';
/** Messages read per page while moving a conversation. */
const PAGE = 500;

/** Rewrite the old name to the new one where a message names a user. */
function moveMessage(m: MessageRecord, from: string, to: string): MessageRecord {
  const status: MessageRecord['status'] = {};
  for (const [k, v] of Object.entries(m.status))
    status[k.startsWith(`${from}:`) ? `${to}${k.slice(from.length)}` : k] = v;
  const reactions: MessageRecord['reactions'] = {};
  for (const [k, v] of Object.entries(m.reactions)) reactions[k === from ? to : k] = v;
  return {
    ...m,
    conversationId: dmConversation(to),
    sender: m.sender === from ? to : m.sender,
    status,
    reactions,
  };
}

/** Follows contacts' renames; one per engine. */
export class ContactRenames {
  constructor(
    private readonly ctx: Ctx,
    private readonly kt: Transparency | null,
  ) {}

  /**
   * Judge the rename a directory entry carries and, when it is sound and new to us, move the
   * contact. Returns true when the old name is now the new one on this device (moved now or
   * before). Network errors are thrown (the next lookup tries again); a rename that does not
   * verify is remembered as refused and reported once.
   */
  async follow(entry: RenameEntry): Promise<boolean> {
    const { store } = this.ctx;
    const me = this.ctx.account().username;
    if (entry.from === me || entry.to === me) return false;
    const judged = await store.getSetting<string>(FOLLOWED + entry.from);
    if (judged !== undefined) return judged === entry.to;
    const pin = await store.getContact(entry.from);
    // Never met under the old name: nothing to move, nothing to check it against.
    if (!pin?.uik) return false;
    const refusal = await this.check(entry, pin.uik);
    if (refusal !== null) {
      await this.refuse(entry, refusal);
      return false;
    }
    await this.move(entry, pin);
    return true;
  }

  /** Why the rename cannot be followed, or null. */
  private async check(entry: RenameEntry, pinned: Uint8Array): Promise<string | null> {
    let statement;
    try {
      statement = decodeRenameStatement(fromBase64(entry.statement));
      verifyRenameStatement(statement, { from: entry.from, to: entry.to, uik: pinned });
    } catch (err) {
      return `the rename is not signed by the key known for ${entry.from}: ${(err as Error).message}`;
    }
    try {
      await this.kt?.checkLeaf(
        renameLogLeaf(entry.to, statement),
        entry.arrivalIndex,
        `the rename to ${entry.to}`,
      );
      await this.kt?.checkLeaf(
        renameLogLeaf(entry.from, statement),
        entry.tombstoneIndex,
        `the rename of ${entry.from}`,
      );
    } catch (err) {
      if (isApiError(err, 'NETWORK')) throw err;
      return (err as Error).message;
    }
    const taken = await this.ctx.store.getContact(entry.to);
    if (taken?.uik && !equalBytes(taken.uik, pinned))
      return `${entry.to} is already known with another key`;
    return null;
  }

  private async refuse(entry: RenameEntry, why: string): Promise<void> {
    const at = this.ctx.now();
    await this.ctx.store.batch([
      { op: 'setSetting', key: FOLLOWED + entry.from, value: `refused:${entry.to}` },
    ]);
    this.ctx.events.emit('securityNotice', {
      code: 'FORGED_RENAME',
      user: entry.from,
      device: null,
      conversationId: dmConversation(entry.from),
      message: `the key server says ${entry.from} is now ${entry.to}, but ${why}`,
      at,
    });
  }

  /** Move pin, conversation, queued messages and sessions from `from` to `to`, in one batch. */
  private async move(entry: RenameEntry, pin: ContactRecord): Promise<void> {
    const { store } = this.ctx;
    const { from, to } = entry;
    const now = this.ctx.now();
    const ops: StoreOp[] = [
      { op: 'putContact', contact: { ...pin, username: to, updatedAt: now } },
      { op: 'setSetting', key: FOLLOWED + from, value: to },
    ];
    for (let offset = 0; ; offset += PAGE) {
      const page = await store.listMessages(dmConversation(from), {
        from: 'oldest',
        offset,
        limit: PAGE,
      });
      for (const m of page) ops.push({ op: 'putMessage', message: moveMessage(m, from, to) });
      if (page.length < PAGE) break;
    }
    const last = ops.at(-1);
    const at = last?.op === 'putMessage' ? Math.min(now, last.message.timestamp + 1) : now;
    // After the moved history; the id (`rename-` and the old name) is no payload id.
    const line = noticeRecord(dmConversation(to), `rename-${from}`, to, at, now, {
      notice: 'rename',
      from,
      to,
    });
    ops.push({ op: 'putMessage', message: line });
    for (const device of await store.listSessionDevices(from))
      ops.push({ op: 'deleteSession', user: from, device });
    for (const e of await store.listOutbox()) {
      if (e.recipient !== from) continue;
      const { messageId, recipientDevice } = e;
      ops.push({ op: 'removeOutbox', messageId, recipient: from, recipientDevice });
      // A pairwise message goes again to the same device under its new name (re-encrypted from
      // its plaintext over a new session); a group message rides the group topic as it was.
      const topic = e.envelope ? e.topic : inboxTopic(to, recipientDevice);
      ops.push({ op: 'putOutbox', entries: [{ ...e, recipient: to, topic }] });
    }
    await store.batch(ops);
    this.ctx.events.emit('message', line);
  }
}
