/**
 * `<step-up-prompt>`: the key server wants a recent proof before a sensitive action (step-up,
 * docs/API.md: password or passkey within 5 minutes). Asks for the password, or a passkey, and
 * renews this device's token; the host then retries its action.
 *
 * @fires stepped-up - the proof was accepted: retry the action now
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { messengerContext } from '../context.ts';
import { MessengerError, securityOf, type MessengerService } from '../services/messenger.ts';
import { assertPasskey } from '../services/passkeys.ts';
import { uiText } from '../services/ui-strings.ts';
import { settingsForm, shared } from '../styles.ts';

@customElement('step-up-prompt')
export class StepUpPrompt extends LitElement {
  static override styles = [shared, settingsForm];

  @consume({ context: messengerContext, subscribe: true })
  @property({ attribute: false })
  messenger: MessengerService | undefined;

  /** The question above the password field (default: "Type your password again to continue"). */
  @property() label = '';

  @state() private _error = '';
  @state() private _busy = false;

  private async prove(proof: 'password' | 'passkey', password = ''): Promise<void> {
    this._busy = true;
    this._error = '';
    try {
      const api = await securityOf(this.messenger);
      if (proof === 'password') await api.stepUp(password);
      else await api.stepUpWithPasskey(assertPasskey);
      this.dispatchEvent(new Event('stepped-up', { bubbles: true, composed: true }));
    } catch (err) {
      this._error =
        err instanceof MessengerError && err.code === 'BAD_CREDENTIALS'
          ? uiText('stepUp.badPassword')
          : err instanceof Error
            ? err.message
            : String(err);
    } finally {
      this._busy = false;
    }
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    const pw = (new FormData(e.target as HTMLFormElement).get('password') as string | null) ?? '';
    await this.prove('password', pw);
  }

  override render(): TemplateResult {
    return html`<form data-step-up @submit=${this.submit}>
      <label
        >${this.label || uiText('mfa.stepUpPassword')}
        <input name="password" type="password" autocomplete="current-password" required />
      </label>
      ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      <div class="row">
        <button type="submit" ?disabled=${this._busy}>${uiText('mfa.stepUpContinue')}</button>
        <button
          type="button"
          data-step-up-passkey
          ?disabled=${this._busy}
          @click=${() => this.prove('passkey')}
        >
          ${uiText('passkey.stepUpWith')}
        </button>
      </div>
    </form>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'step-up-prompt': StepUpPrompt;
  }
}
