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
import { uiPlural, uiText } from '../services/ui-strings.ts';
import { MIN_APP_LOCK_PASSPHRASE } from '../services/app-lock.ts';

/** Shortest app-lock passphrase the form accepts (the service's rule). */
export const MIN_PASSPHRASE = MIN_APP_LOCK_PASSPHRASE;

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
      this._error = passphraseErrorText(err, uiText('appLock.wrong'));
    } finally {
      this._busy = false;
    }
  }

  private async enable(e: Event): Promise<void> {
    e.preventDefault();
    if (this._next.length < MIN_PASSPHRASE) {
      this._error = uiText('appLock.tooShort', { min: MIN_PASSPHRASE });
      return;
    }
    if (this._next !== this._confirm) {
      this._error = uiText('appLock.mismatch');
      return;
    }
    const next = this._next;
    await this.act((m) => m.setAppLock(undefined, next), uiText('appLock.on'));
    if (this._error === '') this._next = this._confirm = '';
  }

  private async disable(e: Event): Promise<void> {
    e.preventDefault();
    if (this._current === '') {
      this._error = uiText('appLock.offNeedsPassphrase');
      return;
    }
    const current = this._current;
    await this.act((m) => m.setAppLock(current, undefined), uiText('appLock.off'));
    if (this._error === '') this._current = '';
  }

  private async saveIdle(e: Event): Promise<void> {
    e.preventDefault();
    const seconds = Number(this._idle);
    await this.act((m) => m.setIdleLock(seconds), uiPlural('appLock.idleSaved', seconds));
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
    return html`<form
        @submit=${this.saveIdle}
        aria-label=${uiText('appLock.idleForm')}
        novalidate
        data-idle
      >
        <label
          >${uiText('appLock.idleLabel')}
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
          <button type="submit" ?disabled=${this._busy}>${uiText('appLock.idleSave')}</button>
          <button
            type="button"
            ?disabled=${this._busy}
            @click=${() =>
              this.dispatchEvent(new CustomEvent('lock-now', { bubbles: true, composed: true }))}
          >
            ${uiText('appLock.lockNow')}
          </button>
        </div>
        <p class="muted">${uiPlural('appLock.idleNow', s.idleSeconds)}</p>
        <p class="muted" data-lock-push-note>${uiText('appLock.pushNote')}</p>
      </form>
      <form
        @submit=${this.disable}
        aria-label=${uiText('appLock.offForm')}
        novalidate
        data-lock-off
      >
        ${this.field('lock-current', uiText('appLock.current'), this._current, (v) => (this._current = v), 'current-password')}
        <div>
          <button type="submit" ?disabled=${this._busy}>${uiText('appLock.turnOff')}</button>
        </div>
      </form>`;
  }

  private renderOff(): TemplateResult {
    return html`<form
      @submit=${this.enable}
      aria-label=${uiText('appLock.onForm')}
      novalidate
      data-lock-on
    >
      ${this.field('lock-new', uiText('appLock.new'), this._next, (v) => (this._next = v), 'new-password')}
      ${this.field('lock-confirm', uiText('appLock.confirm'), this._confirm, (v) => (this._confirm = v), 'new-password')}
      <p class="muted">${uiText('appLock.warning')}</p>
      <div>
        <button type="submit" ?disabled=${this._busy}>${uiText('appLock.turnOn')}</button>
      </div>
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
