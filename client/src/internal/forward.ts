/**
 * Forwarding (PROTOCOL.md §12 "Forwarding"): a stored message's content sent again, as a new
 * message of each chosen conversation, marked `forwarded: true`. Nothing of the original travels
 * but its content: no original sender, no source conversation, no mentions (they named members
 * of the source), no quote. An attachment is downloaded, checked against its digest and uploaded
 * again under a fresh key for each conversation (files.ts `sendFile`): a blob key is never shared
 * between conversations, so the members of one cannot fetch and open what another was sent, and
 * deleting the original's blob leaves the copies. Timeline lines (call lines, pins, group
 * changes) and deleted messages are not forwarded.
 */
import { ClientError } from '../errors.ts';
import type { HttpClient } from '../http.ts';
import type { FileThumbnail, Payload, PayloadInput, VoiceNote } from '../payload.ts';
import type { MessageRecord } from '../store/types.ts';
import type { Ctx } from './context.ts';
import { downloadFile, sendFile } from './files.ts';

/** Most conversations one forward goes to. */
export const MAX_FORWARD_TARGETS = 20;

/** What became of a forward to one conversation. */
export type ForwardResult =
  | { conversationId: string; ok: true; message: MessageRecord }
  | { conversationId: string; ok: false; error: unknown };

/** What {@link forwardMessage} needs from the engine. */
export interface ForwardDeps {
  ctx: Pick<Ctx, 'store'>;
  http: HttpClient;
  /** Send a payload to a conversation id (the engine's `send`). */
  send(to: string, input: PayloadInput): Promise<Payload>;
}

/** The forwardable message `messageId`, or UNKNOWN_MESSAGE. */
async function forwardable(deps: ForwardDeps, messageId: string): Promise<MessageRecord> {
  const m = await deps.ctx.store.getMessage(messageId);
  if (!m || m.deleted || (m.kind !== 'text' && m.kind !== 'reply' && m.kind !== 'file'))
    throw new ClientError('UNKNOWN_MESSAGE', `no message ${messageId} that can be forwarded`);
  return m;
}

/**
 * Forward message `messageId` to each of `to` (conversation ids), one after another; one
 * conversation failing does not stop the others. BAD_INPUT for no target, too many, or a
 * repeated one; UNKNOWN_MESSAGE for a message that cannot be forwarded.
 */
export async function forwardMessage(
  deps: ForwardDeps,
  messageId: string,
  to: readonly string[],
): Promise<ForwardResult[]> {
  if (to.length === 0 || to.length > MAX_FORWARD_TARGETS || new Set(to).size !== to.length)
    throw new ClientError(
      'BAD_INPUT',
      `forward to 1 to ${MAX_FORWARD_TARGETS} different conversations, not ${to.length}`,
    );
  const m = await forwardable(deps, messageId);
  const text = typeof m.body.text === 'string' ? m.body.text : '';
  // The file's bytes once, verified against the digest its message names.
  const data = m.kind === 'file' ? await downloadFile(deps.http, m) : null;
  const results: ForwardResult[] = [];
  for (const conversationId of to) {
    try {
      const send = (input: PayloadInput): Promise<Payload> =>
        deps.send(conversationId, { ...input, forwarded: true } as PayloadInput);
      const sent =
        data === null
          ? await send({ kind: 'text', text })
          : await sendFile(deps.http, data, fileMeta(m), send);
      const message = await deps.ctx.store.getMessage(sent.id);
      if (!message)
        throw new ClientError('UNKNOWN_MESSAGE', `forwarded copy ${sent.id} not stored`);
      results.push({ conversationId, ok: true, message });
    } catch (error) {
      results.push({ conversationId, ok: false, error });
    }
  }
  return results;
}

/** The announced fields of a stored file message, for its copy. */
function fileMeta(m: MessageRecord): Parameters<typeof sendFile>[2] {
  const b = m.body;
  return {
    name: String(b.name),
    mime: String(b.mime),
    ...(typeof b.caption === 'string' ? { caption: b.caption } : {}),
    ...(b.thumbnail !== undefined ? { thumbnail: b.thumbnail as FileThumbnail } : {}),
    ...(b.voice !== undefined ? { voice: b.voice as VoiceNote } : {}),
  };
}
