/**
 * `<two-factor-settings>`: Settings → Two-factor sign-in (issue 19). Turn TOTP on (QR code and
 * the secret as text for an authenticator app, confirm with a code), see the ten recovery codes
 * once (copy, download), get new ones, or turn two-factor off with the password and a code.
 * Actions the key server guards with step-up ask for the password or a passkey first when it says
 * so (`<step-up-prompt>`).
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import QRCode from 'qrcode';
import type { MfaState } from '@sotto/client';
import { messengerContext } from '../context.ts';
import { MessengerError, securityOf, type MessengerService } from '../services/messenger.ts';
import { uiText } from '../services/ui-strings.ts';
import { settingsForm, shared } from '../styles.ts';
import './step-up-prompt.ts';

@customElement('two-factor-settings')
export class TwoFactorSettings extends LitElement {
  static override styles = [
    shared,
    settingsForm,
    css`
      img {
        width: 12rem;
        height: 12rem;
        image-rendering: pixelated;
        background: #fff;
      }
      code {
        word-break: break-all;
      }
      ol {
        font-family: ui-monospace, monospace;
      }
    `,
  ];

  @consume({ context: messengerContext, subscribe: true })
  @property({ attribute: false })
  messenger: MessengerService | undefined;

  @state() private _state: MfaState | undefined;
  @state() private _pending: { secret: string; uri: string; qr: string } | null = null;
  @state() private _codes: string[] | null = null;
  /** The action waiting for the password (step-up). */
  @state() private _needPassword: (() => Promise<void>) | null = null;
  @state() private _error = '';
  @state() private _busy = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    try {
      this._state = await (await this.api()).mfaState();
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    }
  }

  private api() {
    return securityOf(this.messenger);
  }

  /** Run `action`; when the server wants the password again, ask for it and retry after. */
  private async guarded(action: () => Promise<void>): Promise<void> {
    this._busy = true;
    this._error = '';
    try {
      await action();
    } catch (err) {
      if (err instanceof MessengerError && err.code === 'REAUTH_REQUIRED') {
        this._needPassword = action;
      } else if (err instanceof MessengerError && err.code === 'BAD_MFA_CODE') {
        this._error = uiText('mfa.badCode');
      } else {
        this._error = err instanceof Error ? err.message : String(err);
      }
    } finally {
      this._busy = false;
    }
  }

  private readonly steppedUp = async (): Promise<void> => {
    const retry = this._needPassword;
    this._needPassword = null;
    if (retry) await this.guarded(retry);
  };

  private readonly start = async (): Promise<void> => {
    const { secret, uri } = await (await this.api()).startTotp();
    const qr = await QRCode.toDataURL(uri, { margin: 1, width: 240 });
    this._pending = { secret, uri, qr };
  };

  private async confirm(e: Event): Promise<void> {
    e.preventDefault();
    const code = (new FormData(e.target as HTMLFormElement).get('code') as string | null) ?? '';
    await this.guarded(async () => {
      this._codes = await (await this.api()).confirmTotp(code.trim());
      this._pending = null;
      await this.load();
    });
  }

  private readonly regenerate = async (): Promise<void> => {
    this._codes = await (await this.api()).regenerateRecoveryCodes();
    await this.load();
  };

  private async disable(e: Event): Promise<void> {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    await this.guarded(async () => {
      await (
        await this.api()
      ).disableTotp(
        (data.get('password') as string | null) ?? '',
        ((data.get('code') as string | null) ?? '').trim(),
      );
      this._codes = null;
      await this.load();
    });
  }

  private async copyCodes(): Promise<void> {
    await navigator.clipboard.writeText((this._codes ?? []).join('\n'));
  }

  private downloadCodes(): void {
    const blob = new Blob([`${(this._codes ?? []).join('\n')}\n`], { type: 'text/plain' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'sotto-recovery-codes.txt';
    a.click();
    URL.revokeObjectURL(a.href);
  }

  private renderCodes(): TemplateResult {
    return html`<div data-recovery-codes role="region" aria-label=${uiText('mfa.codesTitle')}>
      <p>${uiText('mfa.codesHint')}</p>
      <ol>
        ${(this._codes ?? []).map((c) => html`<li>${c}</li>`)}
      </ol>
      <div class="row">
        <button type="button" @click=${this.copyCodes}>${uiText('mfa.copyCodes')}</button>
        <button type="button" @click=${this.downloadCodes}>${uiText('mfa.downloadCodes')}</button>
        <button type="button" @click=${() => (this._codes = null)}>
          ${uiText('mfa.doneCodes')}
        </button>
      </div>
    </div>`;
  }

  override render(): TemplateResult {
    const st = this._state;
    return html`
      ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      ${
        this._needPassword !== null
          ? html`<step-up-prompt @stepped-up=${this.steppedUp}></step-up-prompt>`
          : nothing
      }
      ${this._codes !== null ? this.renderCodes() : nothing}
      ${
        st === undefined
          ? nothing
          : this._pending !== null
            ? html`<form data-totp-setup @submit=${this.confirm}>
                <p>${uiText('mfa.scan')}</p>
                <img src=${this._pending.qr} alt=${uiText('mfa.qrAlt')} />
                <p>
                  ${uiText('mfa.secretText')}
                  <code data-totp-secret>${this._pending.secret}</code>
                </p>
                <label
                  >${uiText('mfa.codeLabel')}
                  <input
                    name="code"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    pattern="[0-9]{6}"
                    required
                  />
                </label>
                <button type="submit" class="primary" ?disabled=${this._busy}>
                  ${uiText('mfa.confirm')}
                </button>
              </form>`
            : st.totp
              ? html`<p data-mfa-on>${uiText('mfa.on', { n: st.recoveryCodesLeft })}</p>
                  <button
                    type="button"
                    data-regenerate
                    ?disabled=${this._busy}
                    @click=${() => this.guarded(this.regenerate)}
                  >
                    ${uiText('mfa.regenerate')}
                  </button>
                  <form data-totp-disable @submit=${this.disable}>
                    <label
                      >${uiText('mfa.passwordLabel')}
                      <input
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                      />
                    </label>
                    <label
                      >${uiText('mfa.codeOrRecovery')}
                      <input name="code" autocomplete="one-time-code" required />
                    </label>
                    <button type="submit" ?disabled=${this._busy}>${uiText('mfa.disable')}</button>
                  </form>`
              : html`<p>${uiText('mfa.off')}</p>
                  <button
                    type="button"
                    data-totp-enable
                    ?disabled=${this._busy}
                    @click=${() => this.guarded(this.start)}
                  >
                    ${uiText('mfa.enable')}
                  </button>`
      }
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'two-factor-settings': TwoFactorSettings;
  }
}
