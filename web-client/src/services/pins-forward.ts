/**
 * Pinned messages and forwarding as the conversation view sees them (issue 22; PROTOCOL.md §12
 * "Pins" and "Forwarding"), over the engine's `pins` API and `forward`. The rules are the
 * engine's: in a group only admins pin (NOT_ADMIN otherwise), a pin names a message of the same
 * conversation; a forward sends the content again as a new message marked "Forwarded", its
 * attachment uploaded again under a new key for each conversation.
 */
import type { SottoClient } from '@sotto/client';

/** One pinned message. */
export interface PinInfo {
  messageId: string;
  /** Who pinned it. */
  by: string;
  /** When (the pinner's clock, ms). */
  at: number;
}

/** What the views can do with pins and forwards. */
export interface PinsPort {
  /** The conversation's pins, oldest first. */
  list(conversationId: string): Promise<PinInfo[]>;
  /** Whether this account may pin here (a DM, or a group where it is an admin). */
  canPin(conversationId: string): Promise<boolean>;
  /** Pin (`pinned` true) or unpin a message of the conversation. */
  setPinned(conversationId: string, messageId: string, pinned: boolean): Promise<void>;
  /**
   * Forward a message to each of `to`; resolves with the conversations it could not reach
   * (empty when all went), so the view can say which failed.
   */
  forward(messageId: string, to: readonly string[]): Promise<string[]>;
}

/** The port over an engine (read on each call). */
export function createPinsPort(engine: () => SottoClient): PinsPort {
  return {
    list: (c) => engine().pins.list(c),
    canPin: (c) => engine().pins.canPin(c),
    setPinned: (c, id, pinned) => (pinned ? engine().pins.pin(c, id) : engine().pins.unpin(c, id)),
    async forward(messageId, to) {
      const results = await engine().forward(messageId, to);
      return results.filter((r) => !r.ok).map((r) => r.conversationId);
    },
  };
}
