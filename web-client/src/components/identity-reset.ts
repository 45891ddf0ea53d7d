/**
 * `<identity-reset>`: the deliberate step of replacing the account's identity key, for a user
 * who lost their other devices (or found one that is not theirs). It says what the reset does,
 * asks for the account password (re-authentication) and for the username typed out as
 * confirmation, and only then runs the `action` it is given: `MessengerService.resetIdentity` in
 * Settings, `logInWithNewIdentity` on the log-in screen of a new browser.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { MessengerError } from '../services/messenger.ts';
import { shared } from '../styles.ts';
import { uiPieces, uiText, type UiStringKey } from '../services/ui-strings.ts';

/** What a reset does, one point each. */
const CONSEQUENCES: readonly UiStringKey[] = [
  'reset.devices',
  'reset.contacts',
  'reset.kept',
  'reset.groups',
  'reset.stolen',
];

/**
 * Check the form before anything reaches the server; returns an error text or ''.
 * `typed` must be the username exactly (no case folding: it is a deliberate act).
 */
export function validateIdentityReset(input: {
  username: string;
  typed: string;
  password: string;
  askPassword: boolean;
}): string {
  if (input.askPassword && input.password === '') return uiText('reset.noPassword');
  if (input.typed.trim() !== input.username) {
    return uiText('reset.typeUsername', { user: input.username });
  }
  return '';
}

/** Why a reset failed, in words. */
export function identityResetErrorText(err: unknown): string {
  if (err instanceof MessengerError) {
    switch (err.code) {
      case 'BAD_CREDENTIALS':
        return uiText('reset.wrongPassword');
      case 'UNREACHABLE':
        return uiText('reset.unreachable');
      case 'RATE_LIMITED':
        return err.message; // with the server's Retry-After (messenger-errors.ts)
      default:
        return err.message;
    }
  }
  if (err instanceof TypeError) return uiText('reset.unreachable');
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reset form.
 *
 * @fires identity-reset-cancel - the user backed out (only offered when `cancellable`)
 */
@customElement('identity-reset')
export class IdentityReset extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        gap: 0.6rem;
      }
      ul {
        margin: 0;
        padding-left: 1.1rem;
        display: grid;
        gap: 0.3rem;
      }
      form {
        display: grid;
        gap: 0.5rem;
        max-width: 24rem;
      }
      label {
        display: grid;
        gap: 0.2rem;
      }
      .buttons {
        display: flex;
        gap: 0.5rem;
        flex-wrap: wrap;
      }
    `,
  ];

  /** The account's username (to be typed as confirmation). */
  @property() username = '';
  /** Ask for the password here (false when the caller already has it from the log-in form). */
  @property({ type: Boolean }) askPassword = true;
  /** Show a Cancel button. */
  @property({ type: Boolean }) cancellable = false;
  /** Runs the reset with the password ('' when not asked); its error is shown. */
  @property({ attribute: false }) action: ((password: string) => Promise<unknown>) | undefined;

  @state() private _password = '';
  @state() private _typed = '';
  @state() private _error = '';
  @state() private _busy = false;

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    if (this._busy || this.action === undefined) return;
    this._error = validateIdentityReset({
      username: this.username,
      typed: this._typed,
      password: this._password,
      askPassword: this.askPassword,
    });
    if (this._error !== '') return;
    this._busy = true;
    try {
      await this.action(this.askPassword ? this._password : '');
      this._password = '';
      this._typed = '';
    } catch (err) {
      this._error = identityResetErrorText(err);
    } finally {
      this._busy = false;
    }
  }

  override render(): TemplateResult {
    return html`<p class="flush">${uiText('reset.when')}</p>
      <ul data-consequences>
        ${CONSEQUENCES.map((key) => html`<li>${uiText(key)}</li>`)}
      </ul>
      <form data-identity-reset @submit=${this.submit} novalidate>
        ${
          this.askPassword
            ? html`<label
                >${uiText('reset.password')}
                <input
                  type="password"
                  name="reset-password"
                  autocomplete="current-password"
                  required
                  .value=${live(this._password)}
                  ?disabled=${this._busy}
                  @input=${(e: Event) => (this._password = (e.target as HTMLInputElement).value)}
              /></label>`
            : nothing
        }
        <label
          ><span
            >${uiPieces('reset.confirm', { user: html`<strong>${this.username}</strong>` })}</span
          >
          <input
            name="reset-confirm"
            autocomplete="off"
            autocapitalize="none"
            spellcheck="false"
            required
            .value=${live(this._typed)}
            ?disabled=${this._busy}
            @input=${(e: Event) => (this._typed = (e.target as HTMLInputElement).value)}
        /></label>
        ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
        <div class="buttons">
          <button class="danger" type="submit" ?disabled=${this._busy}>
            ${uiText(this._busy ? 'reset.busy' : 'reset.submit')}
          </button>
          ${
            this.cancellable
              ? html`<button
                  type="button"
                  ?disabled=${this._busy}
                  @click=${() =>
                    this.dispatchEvent(
                      new CustomEvent('identity-reset-cancel', { bubbles: true, composed: true }),
                    )}
                >
                  ${uiText('common.cancel')}
                </button>`
              : nothing
          }
        </div>
      </form>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'identity-reset': IdentityReset;
  }
}
