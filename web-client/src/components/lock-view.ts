/**
 * `<lock-view>`: the app-lock screen (issue 15), shown when Sotto opens on a browser whose
 * account has the app lock on, and after the idle time. It asks for the passphrase and
 * reopens the account with it; a wrong passphrase says so and changes nothing.
 *
 * @fires unlocked - `CustomEvent<Account | null>`: the account reopened (null: none stored).
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { consume } from '@lit/context';
import { messengerContext } from '../context.ts';
import { MessengerError, type MessengerService } from '../services/messenger.ts';
import { shared } from '../styles.ts';

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
    `,
  ];

  @consume({ context: messengerContext, subscribe: true })
  @property({ attribute: false })
  messenger: MessengerService | undefined;

  @state() private _passphrase = '';
  @state() private _error = '';
  @state() private _busy = false;

  private async unlock(e: Event): Promise<void> {
    e.preventDefault();
    if (this.messenger === undefined || this._busy) return;
    if (this._passphrase === '') {
      this._error = 'Enter the passphrase.';
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
      this._error = passphraseErrorText(err, 'Wrong passphrase. Nothing was changed; try again.');
    } finally {
      this._busy = false;
    }
  }

  override render(): TemplateResult {
    return html`<form @submit=${this.unlock} aria-labelledby="lock-title" novalidate data-lock>
      <h1 id="lock-title">Sotto is locked</h1>
      <p class="muted">Enter the app-lock passphrase to open your messages on this browser.</p>
      <label
        >Passphrase
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
          ${this._busy ? 'Unlocking…' : 'Unlock'}
        </button>
      </div>
    </form>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'lock-view': LockView;
  }
}
