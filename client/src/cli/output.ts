/**
 * What the CLI prints on stdout: one JSON object (or text) per line.
 */
import type { MessageRecord } from '../store/types.ts';

/** One line on stdout: a string as is, anything else as JSON. */
export function print(obj: unknown): void {
  process.stdout.write(`${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n`);
}

/** A received message as a `listen` line. */
export function messageLine(m: MessageRecord): Record<string, unknown> {
  return {
    type: 'message',
    conversation: m.conversationId,
    id: m.id,
    from: m.sender,
    device: m.senderDevice,
    ...(m.senderKind ? { fromKind: m.senderKind } : {}),
    kind: m.kind,
    timestamp: m.timestamp,
    ...m.body,
  };
}
