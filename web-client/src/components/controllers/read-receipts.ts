/**
 * Read receipts of the open conversation: incoming messages count as read while the page is
 * visible and the reader is at the bottom of the list; the engine then sends the receipts.
 * Non-visual; re-checked when the tab becomes visible again.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { singleFlight } from '../../services/history.ts';
import type { ChatSession } from '../../services/session.ts';

/** Shortest gap between two reads of the unread messages (ms): the engine re-reads them too. */
const MARK_READ_GAP_MS = 500;

/** Marks the open conversation read when the reader can see its end. */
export class ReadReceipts implements ReactiveController {
  constructor(
    host: ReactiveControllerHost,
    private readonly options: {
      session: () => ChatSession | undefined;
      conversationId: () => string;
      /** The reader is at the bottom of the list. */
      atBottom: () => boolean;
    },
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    document.addEventListener('visibilitychange', this.onVisible);
  }

  hostDisconnected(): void {
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  private readonly onVisible = (): void => {
    if (document.visibilityState === 'visible') this.mark();
  };

  /** Mark what the reader sees as read (at most one call per {@link MARK_READ_GAP_MS}). */
  readonly mark = singleFlight(() => this.send(), MARK_READ_GAP_MS);

  private async send(): Promise<void> {
    const s = this.options.session();
    if (s === undefined || typeof document === 'undefined') return;
    if (document.visibilityState !== 'visible' || !this.options.atBottom()) return;
    const id = this.options.conversationId();
    const unread = await s.history.unreadIncoming(id);
    if (unread.length === 0) return;
    s.messenger.markRead(
      id,
      unread.map((m) => ({ id: m.id, sender: m.sender })),
    );
  }
}
