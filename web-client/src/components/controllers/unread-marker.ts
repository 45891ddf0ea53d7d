/**
 * The unread divider and the "jump to latest" count of the open conversation, as Signal Desktop
 * and WhatsApp Web show them: when a conversation opens, the incoming messages that were unread
 * then (the divider goes above the first, "N unread messages", and stays while the conversation
 * stays open); while the reader is scrolled up, how many incoming messages are still unread (the
 * count on "Jump to latest"). Read receipts wait for {@link UnreadMarker.ready}: marking the
 * conversation read before the unread messages at opening were read would lose the divider.
 * Non-visual; `<message-list>` draws both.
 */
import type { ReactiveControllerHost } from 'lit';
import type { MessageRecord } from '../../services/engine-types.ts';
import { singleFlight } from '../../services/history.ts';
import type { ChatSession } from '../../services/session.ts';

/** Shortest gap between two recounts of the unread messages during a burst (ms). */
const RECOUNT_GAP_MS = 200;

/** Where the unread messages of the open conversation begin, and how many are below. */
export class UnreadMarker {
  /** Id of the first message that was unread when the conversation opened ('' for none). */
  first = '';
  /** How many incoming messages were unread when the conversation opened. */
  count = 0;
  /** Unread incoming messages now, while the reader is scrolled up (0 at the bottom). */
  below = 0;
  /**
   * The unread messages at opening are known and the list stands where it opens: read receipts
   * may go out (the list is "at the bottom" until it scrolled to the first unread message).
   */
  ready = false;
  /** Bumped per opening: an answer for a conversation opened before is dropped. */
  private opening = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: {
      session: () => ChatSession | undefined;
      conversationId: () => string;
      /** The reader is at the bottom of the list. */
      atBottom: () => boolean;
    },
  ) {}

  /**
   * Another conversation opened: read its unread incoming messages before anything marks them
   * read. Resolves with the first of them (where the list opens; none when nothing is unread)
   * and the opening to {@link settle}, or undefined when another conversation opened meanwhile.
   */
  async open(): Promise<{ first: MessageRecord | undefined; opening: number } | undefined> {
    const opening = ++this.opening;
    this.ready = false;
    this.first = '';
    this.count = 0;
    this.below = 0;
    const s = this.options.session();
    const unread =
      s === undefined ? [] : await s.history.unreadIncoming(this.options.conversationId());
    if (opening !== this.opening) return undefined;
    this.first = unread[0]?.id ?? '';
    this.count = unread.length;
    this.host.requestUpdate();
    return { first: unread[0], opening };
  }

  /** The list stands where `opening` opens it: read receipts may go out. */
  settle(opening: number): void {
    if (opening === this.opening) this.ready = true;
  }

  /** The history or the reader's position changed: count the unread messages below again. */
  readonly recount = singleFlight(() => this.countBelow(), RECOUNT_GAP_MS);

  private async countBelow(): Promise<void> {
    const s = this.options.session();
    const opening = this.opening;
    const below =
      s === undefined || this.options.atBottom()
        ? 0
        : (await s.history.unreadIncoming(this.options.conversationId())).length;
    if (opening !== this.opening || below === this.below) return;
    this.below = below;
    this.host.requestUpdate();
  }
}
