/**
 * Pins and forwarding for `<conversation-view>` (issue 22): the open conversation's pins and
 * whether this account may pin there (re-read with the conversation's history), the `pin`
 * action of a bubble or of the pinned bar, and the forward picker it opens for a bubble's
 * `forward`. Errors go to the host's toast.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { MessageRecord } from '../../services/engine-types.ts';
import type { PinInfo } from '../../services/pins-forward.ts';
import type { ChatSession } from '../../services/session.ts';
import type { ForwardPicker } from '../forward-picker.ts';
import type { PinDetail } from '../message-actions.ts';

/** What the controller needs from its host. */
export interface MessageToolsHost {
  session(): ChatSession | undefined;
  conversationId(): string;
  picker(): ForwardPicker | null;
  toast(err: unknown): void;
}

/** The open conversation's pins and the forward action. */
export class MessageTools implements ReactiveController {
  /** The pins, oldest first. */
  pins: readonly PinInfo[] = [];
  /** The ids of {@link pins}, for the bubbles. */
  pinnedIds: ReadonlySet<string> = new Set();
  canPin = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly of: MessageToolsHost,
  ) {
    host.addController(this);
  }

  hostConnected(): void {}

  /**
   * Read the pins of the open conversation, and with `rights` whether this account may pin
   * there (that verifies the group's membership chain: on opening and on group changes only,
   * not on every message).
   */
  async reload(rights = true): Promise<void> {
    const s = this.of.session();
    const id = this.of.conversationId();
    if (s === undefined || id === '') return;
    const [pins, canPin] = await Promise.all([
      s.messenger.pins.list(id),
      rights ? s.messenger.pins.canPin(id) : this.canPin,
    ]);
    if (id !== this.of.conversationId()) return;
    this.pins = pins;
    this.pinnedIds = new Set(pins.map((p) => p.messageId));
    this.canPin = canPin;
    this.host.requestUpdate();
  }

  /** A conversation was opened: nothing of the last one's pins shows meanwhile. */
  opened(): void {
    this.pins = [];
    this.pinnedIds = new Set();
    this.canPin = false;
    void this.reload();
  }

  /** A bubble's or the bar's `pin` event. */
  readonly onPin = (e: CustomEvent<PinDetail | { messageId: string; pinned: boolean }>): void => {
    const s = this.of.session();
    if (s === undefined) return;
    const id = 'message' in e.detail ? e.detail.message.id : e.detail.messageId;
    const conversation = this.of.conversationId();
    void s.messenger.pins
      .setPinned(conversation, id, e.detail.pinned)
      .then(() => this.reload(false))
      .catch((err: unknown) => this.of.toast(err));
  };

  /** A bubble's `forward` event: open the picker. */
  readonly onForward = (e: CustomEvent<MessageRecord>): void => {
    void this.of.picker()?.open(e.detail);
  };
}
