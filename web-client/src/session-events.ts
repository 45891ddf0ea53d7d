/**
 * Listeners on the signed-in session that follow it: a component hears its session's events
 * (`history`, `live`) while it is on the page, from whichever session the context gives it now.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ChatSession } from './services/session.ts';

/** Session events a component can listen to. */
export type SessionEventName = 'history' | 'live';

/**
 * Keeps `listeners` on the host's current session: moved when the session changes (checked before
 * each update), removed when the host leaves the page, put back when it returns.
 *
 * @example
 * private readonly events = new SessionEvents(this, () => this.session, { live: this.onLive });
 */
export class SessionEvents implements ReactiveController {
  private bound: ChatSession | undefined;

  constructor(
    host: ReactiveControllerHost,
    private readonly session: () => ChatSession | undefined,
    private readonly listeners: Partial<Record<SessionEventName, (e: Event) => void>>,
    /** Called after the listeners moved to another session (or to the first one). */
    private readonly onChange?: (session: ChatSession | undefined) => void,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.follow();
  }

  hostUpdate(): void {
    this.follow();
  }

  hostDisconnected(): void {
    this.move(undefined);
  }

  private follow(): void {
    const s = this.session();
    if (s === this.bound) return;
    this.move(s);
    this.onChange?.(s);
  }

  private move(to: ChatSession | undefined): void {
    for (const [type, fn] of Object.entries(this.listeners)) {
      this.bound?.removeEventListener(type, fn);
      to?.addEventListener(type, fn);
    }
    this.bound = to;
  }
}
