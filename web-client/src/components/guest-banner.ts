/**
 * `<guest-banner>`: shown across the app while the signed-in account is a guest (issue 17,
 * docs/WEB.md "Guests"). It says the account expires after the server's idle time (24 h by
 * default) without use and offers
 * "Upgrade to a full account": a password set through `POST /v1/guests/upgrade` keeps the keys,
 * rooms and history, under the guest name or under a username of the guest's choice (PROTOCOL.md
 * §3.3; the same rule and errors as sign-up). Once the key server accepted it the notice goes,
 * and the banner says once how to log in from now on; after a new username the app reloads
 * under it (the browser's database stays the guest's).
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { ChatSession } from '../services/session.ts';
import { uiText } from '../services/ui-strings.ts';
import { banner, shared } from '../styles.ts';
import { DEFAULT_GUEST_IDLE_MS, idleText } from '../services/guests.ts';
import { MIN_PASSWORD, USERNAME_RE, authErrorText } from './auth-view.ts';

/** The guest name prefix (the key server's; a new username may not start with it). */
const GUEST_PREFIX = 'guest_';

/** The guest notice with its upgrade form. */
@customElement('guest-banner')
export class GuestBanner extends LitElement {
  static override styles = [
    shared,
    banner,
    css`
      .banner {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 1rem;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        align-items: end;
        gap: 0.5rem;
        flex-basis: 100%;
      }
      label {
        display: grid;
        gap: 0.2rem;
        font-size: 0.9rem;
      }
      .hint {
        flex-basis: 100%;
        font-size: 0.9rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** The upgrade form is open. */
  @state() private _open = false;
  @state() private _busy = false;
  @state() private _error = '';
  /** Upgraded in this session: the name to log in with (the success line until dismissed). */
  @state() private _upgraded = '';

  private readonly onLive = (): void => this.requestUpdate();

  protected readonly events = new SessionEvents(this, () => this.session, { live: this.onLive });

  private async upgrade(e: Event): Promise<void> {
    e.preventDefault();
    const s = this.session;
    if (s === undefined || this._busy) return;
    const form = new FormData(e.target as HTMLFormElement);
    const password = (form.get('password') as string | null) ?? '';
    const wanted = ((form.get('username') as string | null) ?? '').trim();
    if (wanted !== '' && (!USERNAME_RE.test(wanted) || wanted.startsWith(GUEST_PREFIX))) {
      this._error = uiText('auth.badUsername');
      return;
    }
    if (password.length < MIN_PASSWORD) {
      this._error = uiText('error.weakPassword');
      return;
    }
    this._busy = true;
    this._error = '';
    try {
      const rename = wanted !== '' && wanted !== s.account.username;
      const name = await s.messenger.guests.upgrade(password, rename ? wanted : undefined);
      this._open = false;
      this._upgraded = rename ? name : s.account.username;
      s.setGuest(false);
      // The session still carries the guest name: come back under the new one.
      if (rename) location.reload();
    } catch (err) {
      this._error = authErrorText(err, 'signup');
    } finally {
      this._busy = false;
    }
  }

  override render(): TemplateResult | typeof nothing {
    const s = this.session;
    if (this._upgraded !== '') {
      return html`<section class="banner" role="status" data-guest-upgraded>
        <p>${uiText('guest.upgraded', { user: this._upgraded })}</p>
        <button type="button" @click=${() => (this._upgraded = '')}>
          ${uiText('guest.dismiss')}
        </button>
      </section>`;
    }
    if (s?.guest !== true) return nothing;
    const notice = uiText('guest.notice', {
      idle: idleText(s.guestIdleMs ?? DEFAULT_GUEST_IDLE_MS),
    });
    return html`<section class="banner" aria-label=${notice} data-guest-notice>
      <p><strong>${notice}</strong></p>
      ${
        this._open
          ? html`<p class="hint">${uiText('guest.upgradeHint', { user: s.account.username })}</p>
              <form @submit=${this.upgrade} aria-label=${uiText('guest.upgrade')} novalidate>
                <label
                  >${uiText('guest.username')}
                  <input
                    name="username"
                    autocomplete="username"
                    autocapitalize="none"
                    spellcheck="false"
                    placeholder=${s.account.username}
                    ?disabled=${this._busy}
                  />
                </label>
                <label
                  >${uiText('guest.password')}
                  <input
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    minlength=${MIN_PASSWORD}
                    required
                    ?disabled=${this._busy}
                  />
                </label>
                <button class="primary" type="submit" ?disabled=${this._busy}>
                  ${this._busy ? uiText('guest.upgrading') : uiText('guest.upgradeButton')}
                </button>
                <button
                  type="button"
                  ?disabled=${this._busy}
                  @click=${() => ((this._open = false), (this._error = ''))}
                >
                  ${uiText('guest.cancel')}
                </button>
              </form>`
          : html`<button type="button" data-guest-upgrade @click=${() => (this._open = true)}>
              ${uiText('guest.upgrade')}
            </button>`
      }
      ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'guest-banner': GuestBanner;
  }
}
