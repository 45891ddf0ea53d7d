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
  if (input.askPassword && input.password === '') return 'Enter your password.';
  if (input.typed.trim() !== input.username) {
    return `Type your username, ${input.username}, to confirm.`;
  }
  return '';
}

/** Why a reset failed, in words. */
export function identityResetErrorText(err: unknown): string {
  if (err instanceof MessengerError) {
    switch (err.code) {
      case 'BAD_CREDENTIALS':
        return 'The password is wrong. Your identity was not reset.';
      case 'UNREACHABLE':
        return 'Cannot reach the Sotto server. Your identity was not reset; try again.';
      case 'RATE_LIMITED':
        return err.message; // with the server's Retry-After (messenger-errors.ts)
      default:
        return err.message;
    }
  }
  if (err instanceof TypeError) {
    return 'Cannot reach the Sotto server. Your identity was not reset; try again.';
  }
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
    return html`<p class="flush">
        Only if you lost your other devices, or one of them is not yours. Resetting makes a new
        identity key on this browser:
      </p>
      <ul data-consequences>
        <li>
          Every other device of your account is removed and signed out. To use one again, link it
          from this browser.
        </li>
        <li>
          Your contacts are told that your safety number changed. Verification marks are cleared on
          both sides: compare safety numbers again.
        </li>
        <li>Messages and contacts saved on this browser stay.</li>
        <li>
          Groups still name your old key until an admin re-adds you with the new one: their client
          does it by itself unless they had verified you; then they compare the new safety number
          first.
        </li>
        <li>
          If a device was stolen, change your password as well: the reset signs it out, but whoever
          knows the password can log in again.
        </li>
      </ul>
      <form data-identity-reset @submit=${this.submit} novalidate>
        ${
          this.askPassword
            ? html`<label
                >Password
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
          ><span>Type <strong>${this.username}</strong> to confirm</span>
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
            ${this._busy ? 'Resetting…' : 'Reset identity'}
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
                  Cancel
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
