/**
 * Which conversation a view shows: calls `opened` once per conversation the host is given
 * (its `conversationId`, as soon as there is a session), before the host renders it, so the
 * host can drop what it held for the previous one.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ChatSession } from '../../services/session.ts';

/** Follows the host's conversation. */
export class OpenConversation implements ReactiveController {
  private bound = '';

  constructor(
    host: ReactiveControllerHost,
    private readonly current: () => { session: ChatSession | undefined; conversationId: string },
    private readonly opened: (session: ChatSession, conversationId: string) => void,
  ) {
    host.addController(this);
  }

  /** The conversation opened last ('' before the first). */
  get id(): string {
    return this.bound;
  }

  hostUpdate(): void {
    const { session, conversationId } = this.current();
    if (session === undefined || conversationId === this.bound) return;
    this.bound = conversationId;
    this.opened(session, conversationId);
  }
}
