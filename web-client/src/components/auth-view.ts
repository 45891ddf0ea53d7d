/**
 * `<auth-view>`: sign up or log in. Turns the engine's error codes into plain words (name
 * taken, wrong password, server unreachable) and shows first-run key setup progress.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { messengerContext } from '../context.ts';
import {
  MessengerError,
  type Account,
  type LinkHistory,
  type LinkOffer,
  type MessengerService,
} from '../services/messenger.ts';
import { shared } from '../styles.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';

/** Username rule of the key server (DESIGN.md §4.1). */
export const USERNAME_RE = /^[a-z0-9_]{3,32}$/;
/** Minimum password length we ask for. */
export const MIN_PASSWORD = 8;

/** Human text for an error thrown by sign-up / log-in. */
export function authErrorText(err: unknown, mode: 'signup' | 'login'): string {
  if (err instanceof MessengerError) {
    switch (err.code) {
      case 'USERNAME_TAKEN':
        return uiText('auth.taken');
      case 'BAD_CREDENTIALS':
        return uiText('auth.wrong');
      case 'UNREACHABLE':
        return uiText('auth.unreachable');
      case 'INVALID_USERNAME':
        return uiText('auth.badUsername');
      case 'WEAK_PASSWORD':
        return uiText('auth.weakPassword', { min: MIN_PASSWORD });
      case 'RATE_LIMITED':
        return err.message; // with the server's Retry-After (messenger-errors.ts)
      case 'NO_SUCH_USER':
        return mode === 'login' ? uiText('auth.wrong') : err.message;
      default:
        return err.message;
    }
  }
  if (err instanceof TypeError) return uiText('auth.unreachable');
  return err instanceof Error ? err.message : String(err);
}

/**
 * What a linked browser says about the history copied from the other device. The counts are
 * written as digits without grouping (`{n}`, not `{count}`), as the link view always did.
 */
function historyText(imported: number, omitted: number): string {
  const copied = uiPlural('auth.historyImported', imported, { n: imported });
  return omitted > 0
    ? `${copied} ${uiPlural('auth.historyOmitted', omitted, { n: omitted })}`
    : copied;
}

/** Validate the form before asking the server; returns an error text or ''. */
export function validateAuth(username: string, password: string, mode: 'signup' | 'login'): string {
  if (!USERNAME_RE.test(username)) return uiText('auth.badUsername');
  if (mode === 'signup' && password.length < MIN_PASSWORD)
    return uiText('auth.weakPassword', { min: MIN_PASSWORD });
  if (password.length === 0) return uiText('auth.noPassword');
  return '';
}

/**
 * Sign-up / log-in screen.
 *
 * @fires signed-in - `CustomEvent<Account>` once keys are set up and the engine is connected
 */
@customElement('auth-view')
export class AuthView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        place-items: center;
        min-height: 100%;
        padding: 1rem;
        background: var(--bg-2);
      }
      form,
      .card {
        width: min(380px, 100%);
        background: var(--bg);
        border: 1px solid var(--border);
        border-radius: 14px;
        padding: 1.5rem;
        display: grid;
        gap: 0.8rem;
        box-shadow: var(--shadow);
      }
      h1 {
        margin: 0;
        font-size: 1.6rem;
      }
      .tabs {
        display: grid;
        grid-template-columns: 1fr 1fr;
        gap: 0.25rem;
      }
      .tabs button[aria-selected='true'] {
        background: var(--accent);
        color: var(--on-accent);
        border-color: var(--accent);
      }
      label {
        display: grid;
        gap: 0.25rem;
        font-size: 0.9rem;
      }
      progress {
        width: 100%;
      }
      .hint {
        font-size: 0.85rem;
      }
    `,
  ];

  @consume({ context: messengerContext, subscribe: true })
  @property({ attribute: false })
  messenger: MessengerService | undefined;

  /** The page is an invite link (`#/join/…`): say that signing in, or a guest, joins it. */
  @property({ type: Boolean }) invite = false;

  /** Error while loading the engine (shown instead of the form's own errors). */
  @property({ attribute: false }) bootError = '';

  @state() private _mode: 'signup' | 'login' = 'signup';
  @state() private _error = '';
  /** The password was right and the account has two-factor on: the code field is shown. */
  @state() private _needCode = false;
  @state() private _busy = false;
  @state() private _progress: { label: string; fraction: number } | null = null;
  /** Credentials of a login that needs linking (kept only until the link starts). */
  @state() private _linkable: { username: string; password: string } | null = null;
  @state() private _offer: LinkOffer | null = null;
  /** Linked, with a copied history (or a failed copy) to report before entering the app. */
  @state() private _linked: { account: Account; history: LinkHistory } | null = null;
  /** Credentials of a login that needs linking, while the user considers a reset instead. */
  @state() private _resetting: { username: string; password: string } | null = null;

  private signedIn(account: Account): void {
    this.dispatchEvent(
      new CustomEvent<Account>('signed-in', { detail: account, bubbles: true, composed: true }),
    );
  }

  /** The account's keys live on another device: show a link code for it to approve. */
  private async startLink(): Promise<void> {
    const creds = this._linkable;
    if (creds === null || this.messenger === undefined) return;
    this._busy = true;
    this._error = '';
    try {
      await import('./link-offer.ts');
      const offer = await this.messenger.beginLink(creds.username, creds.password);
      this._linkable = null;
      this._offer = offer;
      offer.linked.then(
        async (account) => {
          const history = await offer.history.catch((): LinkHistory => ({ status: 'none' }));
          if (history.status === 'none') this.signedIn(account);
          else this._linked = { account, history };
        },
        (err: unknown) => {
          if (this._offer !== offer) return;
          this._offer = null;
          this._error = authErrorText(err, 'login');
        },
      );
    } catch (err) {
      this._error = authErrorText(err, 'login');
    } finally {
      this._busy = false;
    }
  }

  /** No other device to link from: offer to reset the identity (`<identity-reset>`). */
  private async startReset(): Promise<void> {
    const creds = this._linkable;
    if (creds === null) return;
    await import('./identity-reset.ts');
    this._error = '';
    this._resetting = creds;
  }

  private readonly resetAndLogIn = async (): Promise<void> => {
    const creds = this._resetting;
    if (creds === null || this.messenger === undefined) return;
    this._progress = { label: uiText('auth.connecting'), fraction: 0 };
    try {
      const account = await this.messenger.logInWithNewIdentity(
        creds.username,
        creds.password,
        (label, fraction) => (this._progress = { label, fraction }),
      );
      this._resetting = null;
      this._linkable = null;
      this.signedIn(account);
    } finally {
      this._progress = null;
    }
  };

  private cancelReset(): void {
    this._resetting = null;
  }

  private cancelLink(): void {
    const offer = this._offer;
    this._offer = null;
    offer?.cancel();
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    const { username, password } = this.credentials(data);
    const code = ((data.get('totp') as string | null) ?? '').trim();
    const invalid = validateAuth(username, password, this._mode);
    if (invalid !== '') {
      this._error = invalid;
      return;
    }
    await this.attempt(
      (m, progress) =>
        this._mode === 'signup'
          ? m.signUp(username, password, progress)
          : m.logIn(username, password, progress, this._needCode && code !== '' ? code : undefined),
      { username, password },
    );
  }

  private credentials(data: FormData): { username: string; password: string } {
    return {
      username: ((data.get('username') as string | null) ?? '').trim().toLowerCase(),
      password: (data.get('password') as string | null) ?? '',
    };
  }

  /**
   * "Sign in with a passkey" (the passkey names the account), or — once the password was right
   * and a second factor is asked for — "Use a passkey instead of a code".
   */
  private async passkeyLogIn(): Promise<void> {
    const form = this.renderRoot.querySelector('form');
    const creds = this._needCode && form !== null ? this.credentials(new FormData(form)) : null;
    await this.attempt(
      (m, progress) => m.logInWithPasskey(progress, creds ?? undefined),
      creds ?? undefined,
    );
  }

  /** "Continue as guest": a password-less guest account on this browser (docs/WEB.md "Guests"). */
  private async continueAsGuest(): Promise<void> {
    const field = this.renderRoot.querySelector<HTMLInputElement>('input[name=guest-name]');
    const displayName = field?.value.trim() ?? '';
    await this.attempt(async (m, progress) => {
      const account = await m.continueAsGuest(progress);
      // The name others see (an encrypted profile, docs/PROTOCOL.md §12). The account exists
      // and is signed in either way; Settings → Profile sets it again if this did not take.
      if (displayName !== '') await m.profiles.set({ displayName }).catch(() => undefined);
      return account;
    });
  }

  /** Run a sign-up or log-in with progress, and turn what it throws into the form's state. */
  private async attempt(
    run: (
      m: MessengerService,
      progress: (label: string, fraction: number) => void,
    ) => Promise<Account>,
    creds?: { username: string; password: string },
  ): Promise<void> {
    if (this.messenger === undefined) {
      this._error = uiText('auth.engineLoading');
      return;
    }
    this._busy = true;
    this._error = '';
    this._linkable = null;
    this._progress = { label: uiText('auth.connecting'), fraction: 0 };
    try {
      const account = await run(this.messenger, (label, fraction) => {
        this._progress = { label, fraction };
      });
      this._needCode = false;
      this.signedIn(account);
    } catch (err) {
      if (err instanceof MessengerError && err.code === 'MFA_REQUIRED') {
        this._needCode = true;
        this._error = uiText('mfa.loginPrompt');
        return;
      }
      this._error =
        err instanceof MessengerError && err.code === 'BAD_MFA_CODE'
          ? uiText('mfa.badCode')
          : authErrorText(err, this._mode);
      if (err instanceof MessengerError && err.code === 'LINK_REQUIRED' && creds !== undefined) {
        this._linkable = creds;
      }
    } finally {
      this._busy = false;
      this._progress = null;
    }
  }

  override render(): TemplateResult {
    if (this._resetting !== null) {
      return html`<div class="card" aria-labelledby="title">
        <h1 id="title">${uiText('auth.resetTitle')}</h1>
        <identity-reset
          .username=${this._resetting.username}
          .askPassword=${false}
          cancellable
          .action=${this.resetAndLogIn}
          @identity-reset-cancel=${this.cancelReset}
        ></identity-reset>
        ${
          this._progress !== null
            ? html`<div role="status" aria-live="polite" class="muted hint">
                ${this._progress.label}
              </div>`
            : nothing
        }
      </div>`;
    }
    if (this._linked !== null) {
      const { account, history } = this._linked;
      return html`<div class="card" aria-labelledby="title">
        <h1 id="title">${uiText('auth.linkedTitle')}</h1>
        <p role="status" data-link-history=${history.status}>
          ${
            history.status === 'imported'
              ? historyText(history.imported, history.omitted)
              : history.status === 'failed'
                ? uiText('auth.historyFailed', { error: history.message })
                : ''
          }
        </p>
        <button
          class="primary"
          type="button"
          data-link-continue
          @click=${() => ((this._linked = null), this.signedIn(account))}
        >
          ${uiText('auth.continue')}
        </button>
      </div>`;
    }
    if (this._offer !== null) {
      return html`<div class="card" aria-labelledby="title">
        <h1 id="title">${uiText('auth.linkTitle')}</h1>
        <link-offer .offer=${this._offer} @link-cancel=${this.cancelLink}></link-offer>
      </div>`;
    }
    const signup = this._mode === 'signup';
    return html`<form @submit=${this.submit} aria-labelledby="title" novalidate>
      <h1 id="title">${uiText('app.title')}</h1>
      <p class="muted flush">${uiText('auth.tagline')}</p>
      ${this.invite ? html`<p class="flush" data-invite-note>${uiText('guest.invited')}</p>` : nothing}
      <div class="tabs" role="tablist" aria-label=${uiText('auth.tabs')}>
        <button
          type="button"
          role="tab"
          aria-selected=${signup}
          @click=${() => ((this._mode = 'signup'), (this._error = ''))}
        >
          ${uiText('auth.signUp')}
        </button>
        <button
          type="button"
          role="tab"
          aria-selected=${!signup}
          @click=${() => ((this._mode = 'login'), (this._error = ''))}
        >
          ${uiText('auth.logIn')}
        </button>
      </div>
      <label
        >${uiText('auth.username')}
        <input
          name="username"
          autocomplete="username"
          autocapitalize="none"
          spellcheck="false"
          required
          ?disabled=${this._busy}
          aria-describedby="username-hint"
        />
      </label>
      ${
        signup
          ? html`<span id="username-hint" class="muted hint">${uiText('auth.usernameHint')}</span>`
          : nothing
      }
      <label
        >${uiText('auth.password')}
        <input
          name="password"
          type="password"
          autocomplete=${signup ? 'new-password' : 'current-password'}
          required
          ?disabled=${this._busy}
        />
      </label>
      ${
        this._needCode && !signup
          ? html`<label
              >${uiText('mfa.loginCode')}
              <input
                name="totp"
                autocomplete="one-time-code"
                autocapitalize="none"
                spellcheck="false"
                required
                ?disabled=${this._busy}
              />
            </label>`
          : nothing
      }
      ${
        this._progress !== null
          ? html`<div role="status" aria-live="polite">
              <progress
                max="1"
                .value=${this._progress.fraction}
                aria-label=${uiText('auth.settingUp')}
              ></progress>
              <div class="muted hint">${this._progress.label}</div>
            </div>`
          : nothing
      }
      ${
        this._error !== '' || this.bootError !== ''
          ? html`<div class="error" role="alert">${this._error || this.bootError}</div>`
          : nothing
      }
      ${
        this._linkable !== null && this.messenger?.capabilities.has('link-device') === true
          ? html`<button type="button" data-link ?disabled=${this._busy} @click=${this.startLink}>
              ${uiText('auth.linkFromOther')}
            </button>`
          : nothing
      }
      ${
        this._linkable !== null && this.messenger?.capabilities.has('reset-identity') === true
          ? html`<button
              type="button"
              data-lost-devices
              ?disabled=${this._busy}
              @click=${this.startReset}
            >
              ${uiText('auth.lostDevices')}
            </button>`
          : nothing
      }
      <button class="primary" type="submit" ?disabled=${this._busy}>
        ${uiText(signup ? 'auth.createAccount' : 'auth.logIn')}
      </button>
      ${
        signup
          ? nothing
          : html`<button
              type="button"
              data-passkey-login
              ?disabled=${this._busy}
              @click=${this.passkeyLogIn}
            >
              ${uiText(this._needCode ? 'passkey.secondFactor' : 'passkey.signIn')}
            </button>`
      }
      ${signup ? html`<p class="muted hint flush">${uiText('auth.keysHere')}</p>` : nothing}
      <label class="guest-name">
        ${uiText('guest.nameLabel')}
        <input name="guest-name" autocomplete="nickname" maxlength="64" />
      </label>
      <button
        type="button"
        data-guest
        ?disabled=${this._busy}
        aria-describedby="guest-hint"
        @click=${this.continueAsGuest}
      >
        ${uiText('guest.continue')}
      </button>
      <span id="guest-hint" class="muted hint">${uiText('guest.continueHint')}</span>
    </form>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'auth-view': AuthView;
  }
}
