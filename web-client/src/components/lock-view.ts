/**
 * `<lock-view>`: the app-lock screen (issue 15), shown when Sotto opens on a browser whose
 * account has the app lock on, and after the idle time. It asks for the passphrase and
 * reopens the account with it; a wrong passphrase says so and changes nothing. "Forgot the
 * passphrase?" deletes this browser's data of the locked account, after a confirmation that says
 * what is lost, and goes to sign-in (another account, or the same one as a new device).
 *
 * @fires unlocked - `CustomEvent<Account | null>`: the account reopened (null: none stored, or
 *   its data here was deleted).
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { consume } from '@lit/context';
import { messengerContext } from '../context.ts';
import { MessengerError, type MessengerService } from '../services/messenger.ts';
import { shared } from '../styles.ts';
import { uiPieces, uiText } from '../services/ui-strings.ts';

/** Why an app-lock step failed, in words: `wrong` for a wrong passphrase, else the error's own. */
export function passphraseErrorText(err: unknown, wrong: string): string {
  if (err instanceof MessengerError && err.code === 'BAD_PASSPHRASE') return wrong;
  return err instanceof Error ? err.message : String(err);
}

@customElement('lock-view')
export class LockView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        place-items: center;
        min-height: 100vh;
      }
      form {
        display: grid;
        gap: 0.7rem;
        width: min(22rem, 90vw);
      }
      label {
        display: grid;
        gap: 0.2rem;
      }
      .forget {
        display: grid;
        gap: 0.5rem;
        border-top: 1px solid var(--border);
        padding-top: 0.7rem;
      }
      .forget h2 {
        font-size: 1rem;
        margin: 0;
      }
      .actions {
        display: flex;
        gap: 0.5rem;
        flex-wrap: wrap;
      }
    `,
  ];

  @consume({ context: messengerContext, subscribe: true })
  @property({ attribute: false })
  messenger: MessengerService | undefined;

  @state() private _passphrase = '';
  @state() private _error = '';
  @state() private _busy = false;
  @state() private _forgetting = false;

  private async forget(): Promise<void> {
    if (this.messenger === undefined || this._busy) return;
    this._busy = true;
    this._error = '';
    try {
      await this.messenger.forgetLocked();
      this.dispatchEvent(
        new CustomEvent('unlocked', { detail: null, bubbles: true, composed: true }),
      );
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  }

  private renderForget(account: string): TemplateResult {
    if (!this._forgetting) {
      return html`<button
        type="button"
        @click=${() => (this._forgetting = true)}
        ?disabled=${this._busy}
      >
        ${uiText('lock.forgot')}
      </button>`;
    }
    return html`<div role="group" aria-labelledby="forget-title" class="forget">
      <h2 id="forget-title">${uiText('lock.forgetTitle', { account })}</h2>
      <p>${uiText('lock.forgetText', { account })}</p>
      <div class="actions">
        <button type="button" class="danger" @click=${this.forget} ?disabled=${this._busy}>
          ${uiText('lock.forget', { account })}
        </button>
        <button type="button" @click=${() => (this._forgetting = false)} ?disabled=${this._busy}>
          ${uiText('common.cancel')}
        </button>
      </div>
    </div>`;
  }

  private async unlock(e: Event): Promise<void> {
    e.preventDefault();
    if (this.messenger === undefined || this._busy) return;
    if (this._passphrase === '') {
      this._error = uiText('lock.empty');
      return;
    }
    this._busy = true;
    this._error = '';
    try {
      const account = await this.messenger.resume(this._passphrase);
      this._passphrase = '';
      this.dispatchEvent(
        new CustomEvent('unlocked', { detail: account, bubbles: true, composed: true }),
      );
    } catch (err) {
      this._error = passphraseErrorText(err, uiText('error.badPassphrase'));
    } finally {
      this._busy = false;
    }
  }

  override render(): TemplateResult {
    const account = this.messenger?.lockedAccount() ?? null;
    return html`<form @submit=${this.unlock} aria-labelledby="lock-title" novalidate data-lock>
      <h1 id="lock-title">${uiText('lock.title')}</h1>
      <p class="muted">
        ${
          account === null
            ? uiText('lock.prompt')
            : uiPieces('lock.promptAccount', { account: html`<strong>${account}</strong>` })
        }
      </p>
      <label
        >${uiText('lock.passphrase')}
        <input
          type="password"
          name="app-lock-passphrase"
          autocomplete="current-password"
          required
          autofocus
          .value=${live(this._passphrase)}
          ?disabled=${this._busy}
          @input=${(e: Event) => (this._passphrase = (e.target as HTMLInputElement).value)}
      /></label>
      ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      <div>
        <button type="submit" ?disabled=${this._busy}>
          ${uiText(this._busy ? 'lock.unlocking' : 'lock.unlock')}
        </button>
      </div>
      ${account === null ? nothing : this.renderForget(account)}
    </form>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'lock-view': LockView;
  }
}
