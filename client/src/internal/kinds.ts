/**
 * How the engine treats each payload kind (PROTOCOL.md §12): which are acknowledged and kept in
 * the outbox, which are shown as messages, and which may share a store batch on receive.
 */

/** Kinds that are acknowledged with a `delivered` receipt and kept in the outbox until then. */
const ACKED = new Set<string>([
  'text',
  'reply',
  'reaction',
  'edit',
  'delete',
  'file',
  'sender-key',
  'group-change',
  'profile',
  'sync',
  'report',
  'pin',
  'unknown',
]);
/** Kinds shown as messages in a conversation. */
const STORED = new Set<string>(['text', 'reply', 'file']);
/**
 * Kinds whose processing reads nothing that earlier messages of the same inbox batch may have
 * written (beyond the seen ids and sessions the batch tracks), so a run of them commits as one
 * store batch (receive/inbox.ts, and for group topics groups/receive.ts).
 */
const BATCHED = new Set<string>([
  'text',
  'reply',
  'file',
  'receipt',
  'typing',
  'unknown',
  // Call signalling reads only group records and its own call lines.
  'call-offer',
  'call-answer',
  'call-ice',
  'call-hangup',
  'call-busy',
]);

/** True when payloads of this kind are acknowledged and go through the outbox. */
export function isAcked(kind: string): boolean {
  return ACKED.has(kind);
}

/** True when payloads of this kind are stored as messages of a conversation. */
export function isStored(kind: string): boolean {
  return STORED.has(kind);
}

/** True when a payload of this kind may share a store batch with the ones around it. */
export function isBatchable(kind: string): boolean {
  return BATCHED.has(kind);
}
