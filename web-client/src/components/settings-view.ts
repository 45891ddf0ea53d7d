/**
 * `<settings-view>`: privacy (presence / last seen, read receipts), theme, desktop notifications,
 * this user's devices and the own-key check (`<own-key-log-status>`), device linking, changing the
 * password, the app lock, resetting the identity key (`<identity-reset>`), and log out with an
 * option to wipe every key and message from this browser.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { live } from 'lit/directives/live.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import { MessengerError, type Account, type DeviceInfo } from '../services/messenger.ts';
import type { ChatSession } from '../services/session.ts';
import { icons } from '../icons.ts';
import { applyTheme } from '../services/theme.ts';
import { checkRow, shared } from '../styles.ts';
import { MIN_PASSWORD } from './auth-view.ts';
import './identity-reset.ts';
import './app-lock-settings.ts';
import './account-devices.ts';
import './two-factor-settings.ts';
import './passkey-settings.ts';
import './profile-settings.ts';
import { uiPieces, uiText, type UiStringKey } from '../services/ui-strings.ts';
import './own-key-log-status.ts';
import './notification-settings.ts';

/** The catalogue's name of each theme choice. */
const THEME_KEYS = {
  system: 'settings.themeSystem',
  light: 'settings.themeLight',
  dark: 'settings.themeDark',
} as const satisfies Record<string, UiStringKey>;

/** Why a password change failed, in words. */
function passwordError(err: unknown): string {
  if (err instanceof MessengerError) {
    switch (err.code) {
      case 'BAD_CREDENTIALS':
        return uiText('password.wrongCurrent');
      case 'WEAK_PASSWORD':
        return uiText('password.tooShort', { min: MIN_PASSWORD });
      case 'UNREACHABLE':
        return uiText('auth.unreachable');
      case 'RATE_LIMITED':
        return err.message; // with the server's Retry-After (messenger-errors.ts)
      default:
        return err.message;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/** Theme choices. */
export type Theme = 'system' | 'light' | 'dark';

/**
 * Settings.
 *
 * @fires signed-out - the device logged out (and maybe wiped local data)
 * @fires identity-reset - `CustomEvent<Account>`: this browser reset the identity and is now
 *   this new device of the account (the app starts a new session for it)
 */
@customElement('settings-view')
export class SettingsView extends LitElement {
  static override styles = [
    shared,
    checkRow,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        overflow-y: auto;
      }
      section {
        padding: 0.5rem 1rem 1rem;
        max-width: 640px;
        display: grid;
        gap: 0.6rem;
      }
      h3 {
        margin: 0.8rem 0 0.2rem;
        font-size: 0.95rem;
      }
      fieldset {
        border: 1px solid var(--border);
        border-radius: 10px;
        display: flex;
        gap: 1rem;
        flex-wrap: wrap;
      }
      fieldset input {
        min-height: 0;
      }
      ul {
        margin: 0;
        padding-left: 1.1rem;
      }
      form.password {
        display: grid;
        gap: 0.5rem;
        max-width: 24rem;
      }
      form.password label {
        display: grid;
        gap: 0.2rem;
      }
      .danger-zone {
        border: 1px solid var(--danger);
        border-radius: 10px;
        padding: 0.8rem;
        display: grid;
        gap: 0.6rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _shareLastSeen = true;
  @state() private _readReceipts = true;
  @state() private _privacyError = '';
  @state() private _theme: Theme = 'system';
  @state() private _devices: DeviceInfo[] | undefined;
  @state() private _devicesError = '';
  @state() private _wipe = false;
  /** Whether the account is a guest is learnt after the session starts, and ends with an upgrade. */
  protected readonly events = new SessionEvents(this, () => this.session, {
    live: () => this.requestUpdate(),
  });
  @state() private _busy = false;
  @state() private _pwCurrent = '';
  @state() private _pwNew = '';
  @state() private _pwConfirm = '';
  @state() private _pwError = '';
  @state() private _pwDone = false;
  @state() private _pwBusy = false;
  /** The device id this browser had before it reset the identity (shown in the notice). */
  @state() private _resetFrom: string | null = null;

  override firstUpdated(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    this._shareLastSeen = await s.history.setting('shareLastSeen', true);
    this._readReceipts = await s.history.setting('readReceipts', true);
    if (s.messenger.capabilities.has('hide-presence')) {
      // The key server holds the account's setting (another device may have changed it).
      try {
        this._shareLastSeen = await s.messenger.presenceVisible();
        await s.history.setSetting('shareLastSeen', this._shareLastSeen);
      } catch {
        // Offline: show the last value this browser knew; saving retries the server.
      }
    }
    this._theme = await s.history.setting<Theme>('theme', 'system');
    if (s.messenger.capabilities.has('devices')) {
      try {
        this._devices = await s.messenger.devices();
      } catch (err) {
        this._devicesError = err instanceof Error ? err.message : String(err);
      }
    }
  }

  private async savePrivacy(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    this._privacyError = '';
    await s.history.setSetting('readReceipts', this._readReceipts);
    try {
      await s.messenger.setPrivacy({
        shareLastSeen: this._shareLastSeen,
        readReceipts: this._readReceipts,
      });
      await s.history.setSetting('shareLastSeen', this._shareLastSeen);
    } catch (err) {
      // The server did not take the presence change: show the setting as it still is.
      this._shareLastSeen = await s.history.setting('shareLastSeen', true);
      this._privacyError = err instanceof Error ? err.message : String(err);
    }
  }

  private async setTheme(theme: Theme): Promise<void> {
    this._theme = theme;
    applyTheme(theme);
    await this.session?.history.setSetting('theme', theme);
  }

  private async changePassword(e: Event): Promise<void> {
    e.preventDefault();
    const s = this.session;
    if (s === undefined || this._pwBusy) return;
    this._pwError = '';
    this._pwDone = false;
    if (this._pwCurrent === '') {
      this._pwError = uiText('password.noCurrent');
      return;
    }
    if (this._pwNew.length < MIN_PASSWORD) {
      this._pwError = uiText('password.tooShort', { min: MIN_PASSWORD });
      return;
    }
    if (this._pwNew !== this._pwConfirm) {
      this._pwError = uiText('password.mismatch');
      return;
    }
    this._pwBusy = true;
    try {
      await s.messenger.changePassword(this._pwCurrent, this._pwNew);
      this._pwCurrent = this._pwNew = this._pwConfirm = '';
      this._pwDone = true;
    } catch (err) {
      this._pwError = passwordError(err);
    } finally {
      this._pwBusy = false;
    }
  }

  private renderPassword(): TemplateResult {
    const field = (
      name: 'current' | 'new' | 'confirm',
      label: string,
      value: string,
      set: (v: string) => void,
    ): TemplateResult =>
      html`<label
        >${label}
        <input
          type="password"
          name=${`${name}-password`}
          autocomplete=${name === 'current' ? 'current-password' : 'new-password'}
          minlength=${name === 'current' ? 1 : MIN_PASSWORD}
          required
          .value=${live(value)}
          ?disabled=${this._pwBusy}
          @input=${(e: Event) => set((e.target as HTMLInputElement).value)}
      /></label>`;
    return html`<form
      class="password"
      data-password
      aria-labelledby="password-label"
      @submit=${this.changePassword}
      novalidate
    >
      ${field('current', uiText('password.current'), this._pwCurrent, (v) => (this._pwCurrent = v))}
      ${field('new', uiText('password.new'), this._pwNew, (v) => (this._pwNew = v))}
      ${field('confirm', uiText('password.confirm'), this._pwConfirm, (v) => (this._pwConfirm = v))}
      <p class="muted">${uiText('password.hint', { min: MIN_PASSWORD })}</p>
      ${this._pwError !== '' ? html`<p class="error" role="alert">${this._pwError}</p>` : nothing}
      ${
        this._pwDone
          ? html`<p role="status" data-password-done>${uiText('password.changed')}</p>`
          : nothing
      }
      <div>
        <button type="submit" ?disabled=${this._pwBusy}>
          ${uiText(this._pwBusy ? 'password.changing' : 'password.title')}
        </button>
      </div>
    </form>`;
  }

  /** Settings → Reset identity: the form checked password and confirmation already. */
  private readonly resetIdentity = async (password: string): Promise<void> => {
    const s = this.session;
    if (s === undefined) return;
    const before = s.account.deviceId;
    const account = await s.messenger.resetIdentity(password);
    this._resetFrom = before;
    this.dispatchEvent(
      new CustomEvent<Account>('identity-reset', {
        detail: account,
        bubbles: true,
        composed: true,
      }),
    );
    try {
      this._devices = await s.messenger.devices();
      this._devicesError = '';
    } catch (err) {
      this._devicesError = err instanceof Error ? err.message : String(err);
    }
  };

  private renderReset(): TemplateResult {
    const s = this.session;
    if (this._resetFrom !== null) {
      return html`<p role="status" data-reset-done>
        ${uiPieces('settings.resetDone', {
          device: html`<code>${s?.messenger.account?.deviceId}</code>`,
        })}
      </p>`;
    }
    return html`<identity-reset
      .username=${s?.account.username ?? ''}
      .action=${this.resetIdentity}
    ></identity-reset>`;
  }

  private async logOut(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const msg = `${s.guest ? `${uiText('guest.logOutWarning')} ` : ''}${
      this._wipe ? uiText('settings.logOutWipe') : uiText('settings.logOutConfirm')
    }`;
    if (!confirm(msg)) return;
    this._busy = true;
    try {
      await s.messenger.logOut({ wipe: this._wipe });
      this.dispatchEvent(new Event('signed-out', { bubbles: true, composed: true }));
    } finally {
      this._busy = false;
    }
  }

  override render(): TemplateResult {
    const s = this.session;
    const can = s?.messenger.capabilities ?? new Set();
    return html`<header class="bar">
        <a class="icon" href="#/" aria-label=${uiText('common.backToChats')}>${icons.back}</a>
        <h2>${uiText('settings.title')}</h2>
      </header>
      <section>
        <p class="muted flush">
          ${uiPieces('settings.signedInAs', {
            user: html`<strong>${s?.account.username}</strong>`,
            device: html`<code>${s?.account.deviceId}</code>`,
          })}
        </p>

        <h3 id="profile-label">${uiText('settings.profile')}</h3>
        <profile-settings aria-labelledby="profile-label"></profile-settings>

        <h3>${uiText('settings.privacy')}</h3>
        <label class="check">
          <input
            type="checkbox"
            data-presence
            .checked=${live(this._shareLastSeen)}
            ?disabled=${!can.has('hide-presence')}
            aria-describedby="presence-note"
            @change=${(e: Event) => {
              this._shareLastSeen = (e.target as HTMLInputElement).checked;
              void this.savePrivacy();
            }}
          />
          <span
            >${uiText('settings.presence')}<br /><span class="muted" id="presence-note"
              >${
                can.has('hide-presence')
                  ? uiText('settings.presenceHint')
                  : uiText('settings.presenceUnavailable')
              }</span
            ></span
          >
        </label>
        ${this._privacyError !== '' ? html`<p class="error" role="alert">${this._privacyError}</p>` : nothing}
        <label class="check">
          <input
            type="checkbox"
            .checked=${this._readReceipts}
            ?disabled=${!can.has('receipts')}
            @change=${(e: Event) => {
              this._readReceipts = (e.target as HTMLInputElement).checked;
              void this.savePrivacy();
            }}
          />
          <span
            >${uiText('settings.receipts')}<br /><span class="muted"
              >${uiText('settings.receiptsHint')}</span
            ></span
          >
        </label>

        <h3 id="theme-label">${uiText('settings.theme')}</h3>
        <fieldset aria-labelledby="theme-label">
          ${(['system', 'light', 'dark'] as const).map(
            (t) =>
              html`<label
                ><input
                  type="radio"
                  name="theme"
                  value=${t}
                  .checked=${this._theme === t}
                  @change=${() => void this.setTheme(t)}
                />
                ${uiText(THEME_KEYS[t])}</label
              >`,
          )}
        </fieldset>

        <h3>${uiText('settings.notifications')}</h3>
        <notification-settings .session=${this.session}></notification-settings>

        <h3>${uiText('settings.devices')}</h3>
        ${
          !can.has('devices')
            ? html`<p class="muted">${uiText('settings.devicesUnavailable')}</p>`
            : this._devicesError !== ''
              ? html`<p class="error">${this._devicesError}</p>`
              : this._devices === undefined
                ? html`<p class="muted">${uiText('common.loading')}</p>`
                : html`<ul aria-label=${uiText('settings.devices')}>
                    ${this._devices.map(
                      (d) =>
                        html`<li>
                          <code>${d.deviceId}</code> ${d.kind !== 'user' ? `(${d.kind})` : ''}
                          ${d.current ? html`<strong>${uiText('settings.thisBrowser')}</strong>` : nothing}
                        </li>`,
                    )}
                  </ul>`
        }
        <own-key-log-status></own-key-log-status>
        ${
          can.has('link-device')
            ? html`<div><a href="#/link">${uiText('settings.linkDevice')}</a></div>`
            : html`<p class="muted">${uiText('settings.linkUnavailable')}</p>`
        }

        <h3 id="account-devices-label">${uiText('devices.title')}</h3>
        <account-devices aria-labelledby="account-devices-label"></account-devices>

        <h3 id="two-factor-label">${uiText('mfa.title')}</h3>
        <two-factor-settings aria-labelledby="two-factor-label"></two-factor-settings>

        <h3 id="passkeys-label">${uiText('passkey.title')}</h3>
        <passkey-settings aria-labelledby="passkeys-label"></passkey-settings>

        <h3 id="password-label">${uiText('password.title')}</h3>
        ${
          s?.guest === true
            ? html`<p class="muted" data-guest-no-password>${uiText('guest.noPassword')}</p>`
            : can.has('change-password')
              ? this.renderPassword()
              : html`<p class="muted">${uiText('password.unavailable')}</p>`
        }

        <h3 id="app-lock-label">${uiText('settings.appLock')}</h3>
        ${
          can.has('app-lock')
            ? html`<app-lock-settings aria-labelledby="app-lock-label"></app-lock-settings>`
            : html`<p class="muted">${uiText('settings.appLockUnavailable')}</p>`
        }

        <h3 id="reset-label">${uiText('settings.reset')}</h3>
        <div class="danger-zone" aria-labelledby="reset-label" data-reset>
          ${
            s?.guest === true
              ? html`<p class="muted">${uiText('guest.noPassword')}</p>`
              : can.has('reset-identity')
                ? this.renderReset()
                : html`<p class="muted">${uiText('settings.resetUnavailable')}</p>`
          }
        </div>

        <h3>${uiText('settings.logOut')}</h3>
        <div class="danger-zone">
          <label class="check">
            <input
              type="checkbox"
              .checked=${this._wipe}
              @change=${(e: Event) => (this._wipe = (e.target as HTMLInputElement).checked)}
            />
            <span
              >${uiText('settings.wipe')}<br /><span class="muted"
                >${uiText('settings.wipeHint')}</span
              ></span
            >
          </label>
          <div>
            <button class="danger" ?disabled=${this._busy} @click=${this.logOut}>
              ${uiText('settings.logOut')}
            </button>
          </div>
        </div>
      </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'settings-view': SettingsView;
  }
}
