/**
 * Drafts per conversation, kept across conversation switches and reloads: what the composer
 * holds is written (debounced) to the engine's store as the setting `draft:{conversationId}`,
 * so it is as protected as the messages (sealed with the app lock when that is on) and never
 * leaves the device. Written at once when the user leaves the conversation or the page.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ChatSession } from '../../services/session.ts';

/** Quiet time after the last key before a draft is written (ms). */
export const DRAFT_SAVE_MS = 400;

/** The setting a conversation's draft is kept under. */
export function draftKey(conversationId: string): string {
  return `draft:${conversationId}`;
}

/** Keeps the drafts of one conversation view. */
export class Drafts implements ReactiveController {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: { session: ChatSession; id: string; text: string } | undefined;
  /** What each account's store holds per conversation, as this view read or wrote it. */
  private readonly stored = new WeakMap<ChatSession, Map<string, string>>();

  private storedIn(session: ChatSession): Map<string, string> {
    let m = this.stored.get(session);
    if (m === undefined) this.stored.set(session, (m = new Map<string, string>()));
    return m;
  }
  private readonly onHide = (): void => void this.flush();

  constructor(host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {
    window.addEventListener('pagehide', this.onHide);
  }

  hostDisconnected(): void {
    window.removeEventListener('pagehide', this.onHide);
    void this.flush();
  }

  /** The composer of conversation `id` now holds `text`. */
  changed(session: ChatSession, id: string, text: string): void {
    if (this.pending !== undefined && this.pending.id !== id) void this.flush();
    this.pending = { session, id, text };
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), DRAFT_SAVE_MS);
  }

  /** Write the pending draft now (leaving the conversation, hiding the page). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    const p = this.pending;
    this.pending = undefined;
    // Unchanged (a message sent from an empty draft): no write.
    if (p === undefined || this.storedIn(p.session).get(p.id) === p.text) return;
    await p.session.history.setSetting(draftKey(p.id), p.text);
    this.storedIn(p.session).set(p.id, p.text);
  }

  /** The saved draft of conversation `id` ('' when none); a pending one is written first. */
  async load(session: ChatSession, id: string): Promise<string> {
    await this.flush();
    const text = await session.history.setting(draftKey(id), '');
    this.storedIn(session).set(id, text);
    return text;
  }
}
