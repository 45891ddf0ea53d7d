/**
 * Pinned messages and forwarded messages (PROTOCOL.md §12 "Pins" and "Forwarding"), defined once
 * here; payload.ts decodes the `pin` kind through {@link decodePinFields} and the `forwarded`
 * flag of `text` and `file` through {@link decodeForwarded}.
 *
 * A `pin` pins (`action: 'pin'`) or unpins (`'unpin'`) the message `target` of the conversation
 * it is sent in, for every member and every device of the sender. Who may pin is not the
 * payload's to say: receivers check it against what they hold (in a group, an admin by the
 * verified membership chain; in a DM, either side), and ignore a `target` that is not a message
 * of that conversation.
 *
 * `forwarded: true` marks a message whose content the sender copied from another message. It
 * names nobody: not the original sender, not the conversation it came from.
 */
import type { PayloadBase } from './payload-base.ts';

/** Most messages pinned in one conversation; a pin beyond it drops the oldest pin. */
export const MAX_PINS = 50;

/** What a `pin` payload does. */
export const PIN_ACTIONS = ['pin', 'unpin'] as const;

/** One of {@link PIN_ACTIONS}. */
export type PinAction = (typeof PIN_ACTIONS)[number];

/** Pin or unpin `target` in the conversation this payload is sent in. */
export interface PinPayload extends PayloadBase {
  kind: 'pin';
  /** The message id (a message of the same conversation). */
  target: string;
  action: PinAction;
}

/** A field problem: payload.ts turns it into `PayloadError('INVALID_FIELD')`. */
export class MarkFieldError extends Error {
  override readonly name = 'MarkFieldError';
}

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** The kind-specific fields of a `pin` payload; throws {@link MarkFieldError} when malformed. */
export function decodePinFields(o: Record<string, unknown>): Pick<PinPayload, 'target' | 'action'> {
  const { target, action } = o;
  if (typeof target !== 'string' || !ID_PATTERN.test(target))
    throw new MarkFieldError('payload field target must be a message id');
  if (!(PIN_ACTIONS as readonly unknown[]).includes(action))
    throw new MarkFieldError(`payload field action must be one of ${PIN_ACTIONS.join(', ')}`);
  return { target, action: action as PinAction };
}

/**
 * The `forwarded` field of a `text` or `file`: `{ forwarded: true }` when set, `{}` when absent;
 * any other value throws {@link MarkFieldError} (a flag that is there is `true`, so one encoding).
 */
export function decodeForwarded(value: unknown): { forwarded?: true } {
  if (value === undefined) return {};
  if (value !== true) throw new MarkFieldError('payload field forwarded must be true when present');
  return { forwarded: true };
}
