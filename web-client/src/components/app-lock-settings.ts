/**
 * `<app-lock-settings>`: Settings → App lock (issue 15). Turn the lock on with a passphrase
 * (typed twice), choose the idle time, lock now, or turn it off with the passphrase. The
 * passphrase wraps the key of this browser's database (docs/WEB.md "App lock"); it cannot be
 * recovered.
 *
 * @fires app-lock-changed - the lock was turned on or off or its idle time changed.
 * @fires lock-now - the user asked to lock the app now.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { consume } from '@lit/context';
import { messengerContext } from '../context.ts';
import type { AppLockState, MessengerService } from '../services/messenger.ts';
import { settingsForm, shared } from '../styles.ts';
import { passphraseErrorText } from './lock-view.ts';

/** Shortest app-lock passphrase the form accepts. */
export const MIN_PASSPHRASE = 8;

@customElement('app-lock-settings')
export class AppLockSettings extends LitElement {
  static override styles = [shared, settingsForm];

  @consume({ context: messengerContext, subscribe: true })
  @property({ attribute: false })
  messenger: MessengerService | undefined;

  @state() private _state: AppLockState | undefined;
  @state() private _next = '';
  @state() private _confirm = '';
  @state() private _current = '';
  @state() private _idle = '';
  @state() private _error = '';
  @state() private _status = '';
  @state() private _busy = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      this._state = await this.messenger?.appLock();
      this._idle = String(this._state?.idleSeconds ?? '');
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    }
  }

  private changed(status: string): void {
    this._status = status;
    this.dispatchEvent(new CustomEvent('app-lock-changed', { bubbles: true, composed: true }));
  }

  /** Run a change; errors are shown, the form stays as typed. */
  private async act(fn: (m: MessengerService) => Promise<void>, status: string): Promise<void> {
    if (this.messenger === undefined || this._busy) return;
    this._busy = true;
    this._error = '';
    this._status = '';
    try {
      await fn(this.messenger);
      await this.load();
      this.changed(status);
    } catch (err) {
      this._error = passphraseErrorText(
        err,
        'The passphrase is wrong. The app lock was not changed.',
      );
    } finally {
      this._busy = false;
    }
  }

  private async enable(e: Event): Promise<void> {
    e.preventDefault();
    if (this._next.length < MIN_PASSPHRASE) {
      this._error = `Use a passphrase of at least ${MIN_PASSPHRASE} characters.`;
      return;
    }
    if (this._next !== this._confirm) {
      this._error = 'The passphrase and its confirmation do not match.';
      return;
    }
    const next = this._next;
    await this.act((m) => m.setAppLock(undefined, next), 'App lock is on.');
    if (this._error === '') this._next = this._confirm = '';
  }

  private async disable(e: Event): Promise<void> {
    e.preventDefault();
    if (this._current === '') {
      this._error = 'Enter the passphrase to turn the app lock off.';
      return;
    }
    const current = this._current;
    await this.act((m) => m.setAppLock(current, undefined), 'App lock is off.');
    if (this._error === '') this._current = '';
  }

  private async saveIdle(e: Event): Promise<void> {
    e.preventDefault();
    const seconds = Number(this._idle);
    await this.act((m) => m.setIdleLock(seconds), `Locks after ${seconds} seconds without input.`);
  }

  private field(
    name: string,
    label: string,
    value: string,
    set: (v: string) => void,
    autocomplete: string,
  ): TemplateResult {
    return html`<label
      >${label}
      <input
        type="password"
        name=${name}
        autocomplete=${autocomplete}
        required
        .value=${live(value)}
        ?disabled=${this._busy}
        @input=${(e: Event) => set((e.target as HTMLInputElement).value)}
    /></label>`;
  }

  private renderOn(s: AppLockState): TemplateResult {
    return html`<form @submit=${this.saveIdle} aria-label="Idle time" novalidate data-idle>
        <label
          >Lock after this many seconds without input
          <input
            type="number"
            name="idle-seconds"
            min="5"
            max="86400"
            step="1"
            .value=${live(this._idle)}
            ?disabled=${this._busy}
            @input=${(e: Event) => (this._idle = (e.target as HTMLInputElement).value)}
        /></label>
        <div class="row">
          <button type="submit" ?disabled=${this._busy}>Save idle time</button>
          <button
            type="button"
            ?disabled=${this._busy}
            @click=${() =>
              this.dispatchEvent(new CustomEvent('lock-now', { bubbles: true, composed: true }))}
          >
            Lock now
          </button>
        </div>
        <p class="muted">Now: ${s.idleSeconds} seconds.</p>
        <p class="muted" data-lock-push-note>
          While the app lock is on, notifications that arrive when Sotto is closed say only “New
          message”.
        </p>
      </form>
      <form @submit=${this.disable} aria-label="Turn off app lock" novalidate data-lock-off>
        ${this.field('lock-current', 'Current passphrase', this._current, (v) => (this._current = v), 'current-password')}
        <div><button type="submit" ?disabled=${this._busy}>Turn off app lock</button></div>
      </form>`;
  }

  private renderOff(): TemplateResult {
    return html`<form @submit=${this.enable} aria-label="Turn on app lock" novalidate data-lock-on>
      ${this.field('lock-new', 'Passphrase', this._next, (v) => (this._next = v), 'new-password')}
      ${this.field('lock-confirm', 'Confirm passphrase', this._confirm, (v) => (this._confirm = v), 'new-password')}
      <p class="muted">
        Sotto will ask for this passphrase when it opens and after a time without input. It cannot
        be recovered: without it, the keys and messages on this browser are lost (log in again and
        link this browser from another device). While it is on, notifications that arrive when Sotto
        is closed say only “New message”: nothing can open the messages without the passphrase.
      </p>
      <div><button type="submit" ?disabled=${this._busy}>Turn on app lock</button></div>
    </form>`;
  }

  override render(): TemplateResult {
    const s = this._state;
    return html`${s === undefined ? nothing : s.enabled ? this.renderOn(s) : this.renderOff()}
    ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
    ${this._status !== '' ? html`<p role="status" data-lock-status>${this._status}</p>` : nothing}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'app-lock-settings': AppLockSettings;
  }
}
