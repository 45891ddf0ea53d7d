/**
 * Blocking and reporting (issue 17; docs/CLIENT.md "Blocking and reports").
 *
 * The block list lives on the key server (`/v1/me/blocks`), not in an encrypted sync message:
 * the brokers must know it anyway to drop a blocked user's DMs ([ACL-12]), so keeping it from
 * the server would hide nothing, and one list read by every device cannot diverge. Each device
 * loads it at start and again on the `blocks-changed` control notice the key server sends to all
 * of the user's devices after a change.
 *
 * A report files its metadata with the key server (`POST /v1/reports`, which answers with the
 * operators) and sends the reported messages, as this device shows them, end-to-end encrypted
 * to every device of every operator (payload `report`).
 */
import { dmConversation, parseConversation } from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import { MAX_REPORTED_MESSAGES, type ReportedMessage } from '../payload.ts';
import type { MessageRecord } from '../store/types.ts';
import { newMessageId } from '../payload.ts';
import type { Ctx } from './context.ts';
import type { Pairwise } from './pairwise.ts';
import { REPORTS_SETTING, type ReceivedReport } from './reports.ts';

/** What a report shares, as {@link Safety.report} sent it. */
export interface SentReport {
  reportId: string;
  reported: string;
  conversationId: string;
  /** The operators it was sent to (end-to-end encrypted to each of their devices). */
  operators: string[];
  messages: ReportedMessage[];
}

/** The text a report shows for a stored message. */
function shownText(m: MessageRecord): string {
  const b = m.body;
  if (m.deleted) return '(deleted)';
  if (typeof b.text === 'string') return b.text;
  const name = typeof b.name === 'string' ? b.name : 'file';
  return typeof b.caption === 'string' ? `[file ${name}] ${b.caption}` : `[file ${name}]`;
}

/** The device's copy of the block list, and the report sender. */
export class Safety {
  #blocked = new Set<string>();

  constructor(
    private readonly ctx: Ctx,
    private readonly pairwise: Pairwise,
  ) {}

  /** Whether we block `user` (as of the last load). */
  isBlocked(user: string): boolean {
    return this.#blocked.has(user);
  }

  /** The block list as last loaded, sorted. */
  blocked(): string[] {
    return [...this.#blocked].sort();
  }

  /** Read the list from the key server; emits `blocksChanged` when it differs. */
  async load(): Promise<string[]> {
    const r = await this.ctx.http.call<{ blocked: string[] }>('GET', '/v1/me/blocks', {
      auth: true,
    });
    this.#adopt(r.blocked);
    return this.blocked();
  }

  /** Block or unblock `user` (every device of ours follows through the control notice). */
  async setBlocked(user: string, on: boolean): Promise<string[]> {
    const path = `/v1/me/blocks/${encodeURIComponent(user)}`;
    const r = await this.ctx.http.call<{ blocked: string[] }>(on ? 'PUT' : 'DELETE', path, {
      auth: true,
    });
    this.#adopt(r.blocked);
    return this.blocked();
  }

  #adopt(list: string[]): void {
    const next = new Set(list);
    const same = next.size === this.#blocked.size && list.every((u) => this.#blocked.has(u));
    this.#blocked = next;
    if (!same) this.ctx.events.emit('blocksChanged', this.blocked());
  }

  /**
   * Report `messageIds` of `conversationId` (all sent by one other user): files the report and
   * sends the messages as stored on this device, with their sender and timestamps, end-to-end
   * encrypted to the operators. Throws `BAD_INPUT` for no, too many, unknown or own messages.
   */
  async report(conversationId: string, messageIds: string[], note = ''): Promise<SentReport> {
    if (messageIds.length === 0 || messageIds.length > MAX_REPORTED_MESSAGES)
      throw new ClientError('BAD_INPUT', `report 1 to ${MAX_REPORTED_MESSAGES} messages`);
    const me = this.ctx.account().username;
    const records: MessageRecord[] = [];
    for (const id of new Set(messageIds)) {
      const m = await this.ctx.store.getMessage(id);
      if (!m || m.conversationId !== conversationId)
        throw new ClientError('BAD_INPUT', `no message ${id} in ${conversationId}`);
      records.push(m);
    }
    const senders = new Set(records.map((m) => m.sender));
    const reported = records[0]!.sender;
    if (senders.size !== 1 || reported === me)
      throw new ClientError('BAD_INPUT', 'a report is about the messages of one other user');
    records.sort((a, b) => a.timestamp - b.timestamp);
    const c = parseConversation(conversationId);
    const reportId = newMessageId();
    const filed = await this.ctx.http.call<{ id: string; operators: string[] }>(
      'POST',
      '/v1/reports',
      {
        auth: true,
        body:
          c.type === 'group'
            ? { id: reportId, reported, groupId: c.groupId }
            : { id: reportId, reported },
      },
    );
    const messages: ReportedMessage[] = records.map((m) => ({
      id: m.id,
      sender: m.sender,
      ts: m.timestamp,
      text: shownText(m).slice(0, 4000),
    }));
    const operators = filed.operators.filter((o) => o !== me);
    if (operators.length > 0)
      await this.pairwise.sendToUsers(operators, {
        kind: 'report',
        reportId,
        reported,
        conversation: c.type === 'group' ? conversationId : dmConversation(c.user),
        note: note.slice(0, 2000),
        messages,
      });
    return { reportId, reported, conversationId, operators, messages };
  }

  /** Reports this device received as an operator, newest first. */
  async received(): Promise<ReceivedReport[]> {
    return (await this.ctx.store.getSetting<ReceivedReport[]>(REPORTS_SETTING)) ?? [];
  }
}
