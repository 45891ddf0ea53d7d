/**
 * One user action at a time, with its failure shown: the `busy` flag that disables a form's
 * buttons while the engine works and the `error` line after a refusal. The group settings and
 * their invite links share it instead of each keeping the same try/catch/finally.
 */
import type { ReactiveControllerHost } from 'lit';

/** The words of a failure (an Error's message, or the thrown value as text). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Busy flag and error line of a host element's actions. */
export class BusyAction {
  /** An action is running: the host disables its buttons. */
  busy = false;
  /** Why the last action (or load) failed; empty when it did not. */
  error = '';

  constructor(private readonly host: ReactiveControllerHost) {}

  /** Run `action`; a failure becomes {@link error}. Resolves true when it succeeded. */
  async run(action: () => Promise<void>): Promise<boolean> {
    this.busy = true;
    this.error = '';
    this.host.requestUpdate();
    try {
      await action();
      return true;
    } catch (err) {
      this.error = errorText(err);
      return false;
    } finally {
      this.busy = false;
      this.host.requestUpdate();
    }
  }

  /** Show a failure that happened outside {@link run} (loading what the host shows). */
  fail(err: unknown): void {
    this.error = errorText(err);
    this.host.requestUpdate();
  }
}
