/**
 * `<sotto-app>`: the shell. Loads the engine (a lazy chunk with libsodium and mqtt.js) after
 * the first paint, provides the messenger and the signed-in session through `@lit/context`,
 * shows the own-key alert banner above everything, and routes by `location.hash` between the
 * auth screen, the chat (list + conversation), settings, search, contact/group info and device
 * linking. Two panes on wide screens, one pane below 760 px.
 *
 * Routes: `#/` list · `#/c/{conversationId}[?m={messageId}]` conversation ·
 * `#/c/{conversationId}/info` contact or group info · `#/search` · `#/settings` · `#/link` ·
 * `#/join/{groupId}/{secret}` an invite link · `#/explore` the room directory.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { provide } from '@lit/context';
import { messengerContext, sessionContext } from '../context.ts';
import type { Account, MessengerService } from '../services/messenger.ts';
import { MessengerError, parseConversationId } from '../services/messenger.ts';
import { ChatSession } from '../services/session.ts';
import { CallManager } from '../services/call-manager.ts';
import './call-overlay.ts';
import { applyTheme } from '../services/theme.ts';
import { shared } from '../styles.ts';
import { uiText } from '../services/ui-strings.ts';
import './auth-view.ts';
import './lock-view.ts';
import { IdleLock } from './controllers/idle-lock.ts';
import './conversation-list.ts';
import './conversation-view.ts';
import './conversation-switcher.ts';
import './own-key-alert-banner.ts';
import './security-notice-strip.ts';
import './guest-banner.ts';

/** A parsed route. */
export type Route =
  | { name: 'list' }
  | { name: 'conversation'; id: string; messageId?: string }
  | { name: 'info'; id: string; tab?: 'media' }
  | { name: 'search' }
  | { name: 'settings' }
  | { name: 'link' }
  | { name: 'admin' }
  | { name: 'join'; link: string }
  | { name: 'explore' };

/** Parse `location.hash` into a route (unknown hashes go to the list). */
export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = h.split('?');
  const parts = path.split('/').map((p) => decodeURIComponent(p));
  if (parts[0] === 'c' && parts[1] !== undefined && parts[1] !== '') {
    try {
      parseConversationId(parts[1]);
    } catch {
      return { name: 'list' };
    }
    if (parts[2] === 'info') return { name: 'info', id: parts[1] };
    if (parts[2] === 'media') return { name: 'info', id: parts[1], tab: 'media' };
    const m = new URLSearchParams(query).get('m');
    return { name: 'conversation', id: parts[1], ...(m !== null ? { messageId: m } : {}) };
  }
  if (parts[0] === 'search') return { name: 'search' };
  if (parts[0] === 'settings') return { name: 'settings' };
  if (parts[0] === 'admin') return { name: 'admin' };
  if (parts[0] === 'link') return { name: 'link' };
  if (parts[0] === 'explore') return { name: 'explore' };
  // Invite links (issue 17): the whole fragment is the link; the secret never leaves the page.
  if (parts[0] === 'join' && parts.length === 3) return { name: 'join', link: `#/${path}` };
  return { name: 'list' };
}

/** Lazily loaded views, each its own chunk. */
const lazyViews: Record<string, () => Promise<unknown>> = {
  info: () =>
    Promise.all([
      import('./contact-info.ts'),
      import('./group-settings.ts'),
      import('./conversation-media.ts'),
    ]),
  search: () => import('./search-view.ts'),
  settings: () => import('./settings-view.ts'),
  link: () => import('./link-device.ts'),
  join: () => import('./join-room.ts'),
  explore: () => import('./explore-rooms.ts'),
  admin: () => import('./admin-view.ts'),
};

/** The application shell. */
@customElement('sotto-app')
export class SottoApp extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        height: 100%;
      }
      .shell {
        display: flex;
        flex-direction: column;
        height: 100%;
      }
      .layout {
        display: grid;
        grid-template-columns: minmax(280px, 360px) 1fr;
        flex: 1;
        min-height: 0;
      }
      .side {
        border-right: 1px solid var(--border);
        min-width: 0;
        min-height: 0;
        display: flex;
        flex-direction: column;
      }
      main {
        min-width: 0;
        min-height: 0;
        display: flex;
        flex-direction: column;
      }
      main > :not(.net) {
        flex: 1;
        min-height: 0;
      }
      .empty {
        display: grid;
        place-items: center;
        color: var(--fg-2);
        text-align: center;
        padding: 2rem;
      }
      .net {
        flex: none;
        padding: 0.4rem 0.75rem;
        background: var(--warn-bg);
        color: var(--warn-fg);
        font-size: 0.9rem;
        text-align: center;
      }
      .splash {
        display: grid;
        place-items: center;
        height: 100%;
        color: var(--fg-2);
      }
      @media (max-width: 759px) {
        .layout {
          grid-template-columns: 1fr;
        }
        .layout.in-main .side,
        .layout:not(.in-main) main {
          display: none;
        }
        .side {
          border-right: none;
        }
      }
    `,
  ];

  @provide({ context: messengerContext })
  @state()
  private _messenger: MessengerService | undefined;

  @provide({ context: sessionContext })
  @state()
  private _session: ChatSession | undefined;

  /** The signed-in account's calls (`<call-overlay>` shows them). */
  @state() private _calls: CallManager | undefined;

  @state() private _route: Route = parseRoute(location.hash);
  @state() private _booting = true;
  @state() private _bootError = '';
  @state() private _lazyReady = new Set<string>();
  /** The Ctrl/Cmd+K conversation switcher is open. */
  @state() private _switcher = false;
  /** The app lock is on and the database closed: the lock screen asks for the passphrase. */
  @state() private _locked = false;

  private readonly idle = new IdleLock(this, () => void this.lockNow());
  private readonly onLockChanged = (): void => void this.armIdleLock();
  private readonly onLockNow = (): void => void this.lockNow();

  private readonly onHash = (): void => {
    this._route = parseRoute(location.hash);
    void this.loadLazy();
  };
  private readonly onLive = (): void => this.requestUpdate();
  private readonly onCallStart = (e: Event): void => {
    const { conversationId, media } = (
      e as CustomEvent<{ conversationId: string; media: 'audio' | 'video' }>
    ).detail;
    void this._calls?.start(conversationId, media).catch((err: unknown) => console.error(err));
  };
  private readonly onKey = (e: KeyboardEvent): void => {
    if (this._session === undefined) return;
    const target = e.composedPath()[0];
    const typing =
      target instanceof HTMLElement &&
      (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
      e.preventDefault();
      this._switcher = !this._switcher;
    } else if (e.key === '/' && !typing) {
      e.preventDefault();
      location.hash = '#/search';
    } else if (e.key === 'Escape' && !typing && this._route.name !== 'list') {
      location.hash = '#/';
    } else if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
      e.preventDefault();
      this.stepConversation(e.key === 'ArrowUp' ? -1 : 1);
    }
  };

  /** Alt+↑ / Alt+↓: previous / next conversation in list order. */
  private stepConversation(step: number): void {
    const list = this.renderRoot.querySelector('conversation-list');
    const links = [
      ...(list?.shadowRoot?.querySelectorAll<HTMLAnchorElement>('a[data-conversation]') ?? []),
    ];
    if (links.length === 0) return;
    const r = this._route;
    const current = r.name === 'conversation' || r.name === 'info' ? r.id : '';
    const i = links.findIndex((a) => a.dataset.conversation === current);
    const next = links[Math.max(0, Math.min(links.length - 1, i < 0 ? 0 : i + step))];
    next?.click();
    next?.focus();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    window.addEventListener('keydown', this.onKey);
    this.addEventListener('app-lock-changed', this.onLockChanged);
    this.addEventListener('lock-now', this.onLockNow);
    this.addEventListener('call-start', this.onCallStart);
    void this.boot();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHash);
    window.removeEventListener('keydown', this.onKey);
    this.removeEventListener('app-lock-changed', this.onLockChanged);
    this.removeEventListener('lock-now', this.onLockNow);
    this.removeEventListener('call-start', this.onCallStart);
  }

  private async boot(): Promise<void> {
    try {
      const { createMessenger } = await import('../services/engine-adapter.ts');
      this._messenger = createMessenger({ baseUrl: location.origin });
      const account = await this._messenger.resume();
      if (account !== null) this.startSession(account);
    } catch (err) {
      if (err instanceof MessengerError && err.code === 'LOCKED') this._locked = true;
      else this._bootError = err instanceof Error ? err.message : String(err);
    } finally {
      this._booting = false;
    }
  }

  private startSession(account: Account): void {
    if (this._messenger === undefined) return;
    this._session?.dispose();
    this._session = new ChatSession(this._messenger, account);
    this._calls?.dispose();
    this._calls = this._messenger.capabilities.has('calls')
      ? new CallManager(this._messenger.callSignalling, account)
      : undefined;
    this._session.addEventListener('live', this.onLive);
    void this.applyTheme();
    void this.armIdleLock();
    // Ask the browser to keep our keys and history (no prompt in Chromium; best effort).
    void navigator.storage?.persist?.().catch(() => false);
    void this.loadLazy();
  }

  /** Watch for the idle time when the app lock is on (again after Settings change it). */
  private async armIdleLock(): Promise<void> {
    const m = this._messenger;
    if (m === undefined || !m.capabilities.has('app-lock') || this._session === undefined) return;
    const lock = await m.appLock().catch(() => null);
    this.idle.arm(lock?.enabled === true ? lock.idleSeconds : null);
  }

  /** Close the database and show the lock screen (idle time reached, or "Lock now"). */
  private async lockNow(): Promise<void> {
    this.idle.disarm();
    this._calls?.dispose();
    this._calls = undefined;
    this._session?.removeEventListener('live', this.onLive);
    this._session?.dispose();
    this._session = undefined;
    await this._messenger?.lock();
    this._locked = true;
  }

  private onUnlocked(e: CustomEvent<Account | null>): void {
    this._locked = false;
    if (e.detail !== null) this.startSession(e.detail);
  }

  private async applyTheme(): Promise<void> {
    const theme = (await this._session?.history.setting('theme', 'system')) ?? 'system';
    applyTheme(theme);
  }

  private async loadLazy(): Promise<void> {
    const name = this._route.name;
    const load = lazyViews[name];
    if (load === undefined || this._lazyReady.has(name)) return;
    await load();
    this._lazyReady = new Set([...this._lazyReady, name]);
  }

  private onSignedIn(e: CustomEvent<Account>): void {
    this.startSession(e.detail);
    // Signed in from an invite link: stay on it, so the next click joins the room.
    if (this._route.name !== 'join') location.hash = '#/';
  }

  /** Settings reset the identity: this browser is a new device now, with a new session. */
  private onIdentityReset(e: CustomEvent<Account>): void {
    this.startSession(e.detail);
  }

  private onSignedOut(): void {
    this.idle.disarm();
    this._calls?.dispose();
    this._calls = undefined;
    this._session?.removeEventListener('live', this.onLive);
    this._session?.dispose();
    this._session = undefined;
    location.hash = '#/';
  }

  override render(): TemplateResult {
    if (this._booting) {
      return html`<div class="splash" role="status">${uiText('shell.loading')}</div>`;
    }
    if (this._locked) return html`<lock-view @unlocked=${this.onUnlocked}></lock-view>`;
    if (this._session === undefined) {
      return html`<auth-view
        .bootError=${this._bootError}
        ?invite=${this._route.name === 'join'}
        @signed-in=${this.onSignedIn}
      ></auth-view>`;
    }
    const s = this._session;
    if (s.connection === 'removed') {
      // Removed by its user on another device (issue 19): nothing else is usable here.
      return html`<main class="splash" role="alert" data-device-removed>
        <h1>${uiText('devices.removedTitle')}</h1>
        <p>${uiText('devices.removedText')}</p>
        <button type="button" class="primary" @click=${this.onSignedOut}>
          ${uiText('devices.removedLogin')}
        </button>
      </main>`;
    }
    const r = this._route;
    const inMain = r.name !== 'list';
    const net =
      s.connection === 'online'
        ? nothing
        : s.connection === 'signed-out'
          ? html`<div class="net" role="alert" data-signed-out>
              ${uiText('shell.signedOut')}
              <button type="button" @click=${this.onSignedOut}>
                ${uiText('shell.logInAgain')}
              </button>
            </div>`
          : html`<div class="net" role="status" aria-live="polite">
              ${uiText(
                s.connection === 'unreachable'
                  ? 'shell.unreachable'
                  : s.connection === 'reconnecting' || s.connection === 'connecting'
                    ? 'shell.reconnecting'
                    : 'shell.offline',
              )}
            </div>`;
    return html`<div class="shell">
      <call-overlay .manager=${this._calls}></call-overlay>
      <own-key-alert-banner></own-key-alert-banner>
      <security-notice-strip scope="app"></security-notice-strip>
      <guest-banner></guest-banner>
      <div class="layout ${inMain ? 'in-main' : ''}">
        <nav class="side" aria-label=${uiText('shell.conversations')}>
          <conversation-list
            .activeId=${r.name === 'conversation' || r.name === 'info' ? r.id : ''}
          ></conversation-list>
        </nav>
        <main>${net}${this.renderMain(r)}</main>
      </div>
      ${
        this._switcher
          ? html`<conversation-switcher
              @close=${() => (this._switcher = false)}
              @click=${() => (this._switcher = false)}
            ></conversation-switcher>`
          : nothing
      }
    </div>`;
  }

  private renderMain(r: Route): TemplateResult {
    const loading = html`<div class="empty" role="status">${uiText('common.loading')}</div>`;
    switch (r.name) {
      case 'list':
        return html`<div class="empty">
          <div>
            <p><strong>${uiText('shell.select')}</strong></p>
            <p>${uiText('shell.encrypted')}</p>
          </div>
        </div>`;
      case 'conversation':
        return html`<conversation-view
          .conversationId=${r.id}
          .jumpTo=${r.messageId ?? ''}
        ></conversation-view>`;
      case 'info':
        if (!this._lazyReady.has('info')) return loading;
        if (r.tab === 'media')
          return html`<conversation-media .conversationId=${r.id}></conversation-media>`;
        return parseConversationId(r.id).kind === 'dm'
          ? html`<contact-info .username=${parseConversationId(r.id).ref}></contact-info>`
          : html`<group-settings .groupId=${parseConversationId(r.id).ref}></group-settings>`;
      case 'search':
        return this._lazyReady.has('search') ? html`<search-view></search-view>` : loading;
      case 'settings':
        return this._lazyReady.has('settings')
          ? html`<settings-view
              @signed-out=${this.onSignedOut}
              @identity-reset=${this.onIdentityReset}
            ></settings-view>`
          : loading;
      case 'link':
        return this._lazyReady.has('link') ? html`<link-device></link-device>` : loading;
      case 'explore':
        return this._lazyReady.has('explore') ? html`<explore-rooms></explore-rooms>` : loading;
      case 'join':
        return this._lazyReady.has('join')
          ? html`<join-room .link=${r.link}></join-room>`
          : loading;
      case 'admin':
        return this._lazyReady.has('admin') ? html`<admin-view></admin-view>` : loading;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'sotto-app': SottoApp;
  }
}
