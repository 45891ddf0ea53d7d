/**
 * `<conversation-list>`: the left pane. Conversations with unread counts, last-message preview
 * and presence dot; a filter box; new DM by username; new group. Reloads at most once per frame
 * when history changes.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import { singleFlight, type ConversationRow } from '../services/history.ts';
import { MessengerError } from '../services/messenger.ts';
import type { ChatSession } from '../services/session.ts';
import { icons } from '../icons.ts';
import { colorFor, shared } from '../styles.ts';
import { avatarFace, profileStyles, userName } from './profile-name.ts';
import { uiText } from '../services/ui-strings.ts';
import { parseConversationId } from '../services/messenger.ts';
import { styleProps } from './style-props.ts';
import { clockText, displayLocale, shortDayText } from '../services/locale-format.ts';

/** Short relative time for the list ("14:02", "Tue", "3 Mar"), in the browser's locale. */
export function shortTime(at: number, now = Date.now(), locale = displayLocale()): string {
  if (at <= 0) return '';
  if (new Date(at).toDateString() === new Date(now).toDateString()) return clockText(at, locale);
  return shortDayText(at, now - at < 6 * 86_400_000 ? 'weekday' : 'date', locale);
}

/** Rows whose title or preview contains every word of `filter`. */
export function filterRows(rows: readonly ConversationRow[], filter: string): ConversationRow[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...rows];
  return rows.filter((r) => {
    const hay = `${r.title} ${r.preview}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** Split "alice, bob carol" into distinct usernames. */
export function parseMembers(text: string): string[] {
  return [
    ...new Set(
      text
        .toLowerCase()
        .split(/[\s,;]+/)
        .filter(Boolean),
    ),
  ];
}

/** The conversation list. */
@customElement('conversation-list')
export class ConversationList extends LitElement {
  static override styles = [
    shared,
    profileStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        min-height: 0;
      }
      .tools {
        padding: 0.5rem 0.75rem;
        display: grid;
        gap: 0.5rem;
        border-bottom: 1px solid var(--border);
      }
      .tools input {
        width: 100%;
      }
      .row2 {
        display: flex;
        gap: 0.5rem;
      }
      .row2 > * {
        flex: 1;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        overflow-y: auto;
        flex: 1;
      }
      li a {
        display: flex;
        gap: 0.65rem;
        align-items: center;
        padding: 0.6rem 0.75rem;
        color: inherit;
        text-decoration: none;
        border-bottom: 1px solid var(--bg-2);
      }
      li a:hover {
        background: var(--bg-2);
      }
      li a[aria-current='page'] {
        background: var(--bg-3);
      }
      .main {
        flex: 1;
        min-width: 0;
      }
      .top {
        display: flex;
        gap: 0.5rem;
        align-items: baseline;
      }
      .title {
        flex: 1;
        font-weight: 600;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .time {
        font-size: 0.8rem;
        color: var(--fg-2);
      }
      .bottom {
        display: flex;
        gap: 0.5rem;
        align-items: center;
      }
      .preview {
        flex: 1;
        color: var(--fg-2);
        font-size: 0.9rem;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .shield {
        font-size: 0.85rem;
      }
      .archived-toggle {
        margin: 0.5rem 0.75rem;
      }
      .muted-mark {
        font-size: 0.8rem;
      }
      .verified {
        color: var(--ok-fg);
        font-weight: 400;
      }
      .badge {
        background: var(--accent);
        color: var(--on-accent);
        border-radius: 999px;
        min-width: 1.4rem;
        padding: 0 0.4rem;
        font-size: 0.8rem;
        text-align: center;
        font-weight: 600;
      }
      form.new {
        display: grid;
        gap: 0.4rem;
        padding: 0.6rem;
        border: 1px solid var(--border);
        border-radius: 10px;
        background: var(--bg-2);
      }
      .empty {
        padding: 1.5rem 1rem;
        color: var(--fg-2);
        text-align: center;
      }
      .me {
        font-size: 0.85rem;
        color: var(--fg-2);
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** Conversation shown on the right, highlighted. */
  @property() activeId = '';

  @state() private _rows: ConversationRow[] = [];
  @state() private _filter = '';
  @state() private _form: 'none' | 'dm' | 'group' = 'none';
  @state() private _formError = '';
  @state() private _busy = false;
  @state() private _loaded = false;
  /** The list shows the archived chats instead of the others. */
  @state() private _archived = false;

  /** List reloads scan every conversation: at most one at a time and four per second. */
  private readonly scheduleReload = singleFlight(() => this.reload(), 250);
  private readonly onHistory = (): void => this.scheduleReload();
  /** DMs with an undismissed security notice when the rows were last read. */
  private noticeDms = '';
  private readonly onLive = (): void => {
    // A notice about a DM with no messages yet (a forged sender) still gets a row to open it by.
    if (this.dmsWithNotices().join('\n') !== this.noticeDms) this.scheduleReload();
    this.requestUpdate();
  };
  protected readonly events = new SessionEvents(
    this,
    () => this.session,
    { history: this.onHistory, live: this.onLive },
    () => void this.reload(),
  );

  /** Reload rows from local history. */
  async reload(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const notices = this.dmsWithNotices();
    this.noticeDms = notices.join('\n');
    this._rows = await s.history.conversations([...s.pendingDms, ...notices]);
    this._loaded = true;
  }

  /** Peers of the DMs that have an undismissed security notice, sorted. */
  private dmsWithNotices(): string[] {
    const users = new Set<string>();
    for (const n of this.session?.securityNotices ?? []) {
      const c = n.conversationId === null ? null : parseConversationId(n.conversationId);
      if (c?.kind === 'dm') users.add(c.ref);
    }
    return [...users].sort();
  }

  private async newDm(e: Event): Promise<void> {
    e.preventDefault();
    const s = this.session;
    if (s === undefined) return;
    const input = (e.target as HTMLFormElement).elements.namedItem('username') as HTMLInputElement;
    const username = input.value.trim().toLowerCase();
    if (username === s.account.username) {
      this._formError = uiText('newChat.self');
      return;
    }
    this._busy = true;
    this._formError = '';
    try {
      const id = await s.messenger.startDm(username);
      s.pendingDms.add(username);
      this._form = 'none';
      await this.reload();
      location.hash = `#/c/${encodeURIComponent(id)}`;
    } catch (err) {
      this._formError =
        err instanceof MessengerError && err.code === 'NO_SUCH_USER'
          ? uiText('newChat.noSuchUser', { user: username })
          : err instanceof Error
            ? err.message
            : String(err);
    } finally {
      this._busy = false;
    }
  }

  private async newGroup(e: Event): Promise<void> {
    e.preventDefault();
    const s = this.session;
    if (s === undefined) return;
    const form = e.target as HTMLFormElement;
    const name = (form.elements.namedItem('name') as HTMLInputElement).value.trim();
    const members = parseMembers(
      (form.elements.namedItem('members') as HTMLInputElement).value,
    ).filter((m) => m !== s.account.username);
    if (name === '') {
      this._formError = uiText('newGroup.noName');
      return;
    }
    this._busy = true;
    this._formError = '';
    try {
      const id = await s.messenger.createGroup(name, members);
      this._form = 'none';
      s.touch(id);
      await this.reload();
      location.hash = `#/c/${encodeURIComponent(id)}`;
    } catch (err) {
      this._formError = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  }

  /** A new-chat or new-group form's error line and its Cancel and submit buttons. */
  private formEnd(submit: string): TemplateResult {
    return html`${this._formError ? html`<div class="error" role="alert">${this._formError}</div>` : nothing}
      <div class="row2">
        <button type="button" @click=${() => (this._form = 'none')}>
          ${uiText('newChat.cancel')}
        </button>
        <button class="primary" type="submit" ?disabled=${this._busy}>${submit}</button>
      </div>`;
  }

  private renderForm(): TemplateResult | typeof nothing {
    if (this._form === 'dm') {
      return html`<form class="new" @submit=${this.newDm} aria-label=${uiText('newChat.label')}>
        <label for="dm-user">${uiText('newChat.with')}</label>
        <input
          id="dm-user"
          name="username"
          placeholder=${uiText('newChat.placeholder')}
          autocapitalize="none"
          autocomplete="off"
          required
        />
        ${this.formEnd(uiText('newChat.submit'))}
      </form>`;
    }
    if (this._form === 'group') {
      return html`<form class="new" @submit=${this.newGroup} aria-label=${uiText('newGroup.label')}>
        <input
          name="name"
          placeholder=${uiText('newGroup.name')}
          aria-label=${uiText('newGroup.name')}
          required
        />
        <input
          name="members"
          placeholder=${uiText('newGroup.membersPlaceholder')}
          aria-label=${uiText('newGroup.members')}
          autocapitalize="none"
        />
        ${this.formEnd(uiText('newGroup.submit'))}
      </form>`;
    }
    return nothing;
  }

  private renderRow(r: ConversationRow): TemplateResult {
    const s = this.session;
    const peer = r.kind === 'dm' ? r.title : '';
    const online = peer !== '' && s?.presence.get(peer)?.online === true;
    const typing = s?.typingIn(r.id) ?? [];
    const preview =
      typing.length > 0
        ? html`<em
            >${
              r.kind === 'group'
                ? uiText('typing.groupShort', { names: typing.join(', ') })
                : uiText('typing.short')
            }</em
          >`
        : r.kind === 'group' && r.lastSender !== '' && r.preview !== ''
          ? `${r.lastSender === s?.account.username ? uiText('list.you') : r.lastSender}: ${r.preview}`
          : r.preview;
    const notice = (s?.noticesFor(r.id).length ?? 0) > 0;
    const muted = s?.prefs.isMuted(r.id) === true;
    // No aria-label: the entry's name is its visible text (title, time, preview, count), with
    // hidden words only where the screen shows a sign (WCAG 2.5.3, label in name).
    return html`<li>
      <a
        href="#/c/${encodeURIComponent(r.id)}"
        aria-current=${this.activeId === r.id ? 'page' : 'false'}
        data-conversation=${r.id}
      >
        <span
          class="avatar"
          style=${styleProps({ background: colorFor(r.title) })}
          aria-hidden="true"
          >${r.kind === 'group' ? '#' : avatarFace(s, r.title)}${
            online ? html`<span class="dot"></span>` : nothing
          }</span
        >
        <span class="main">
          <span class="top">
            <span class="title"
              >${r.kind === 'group' ? html`<span class="sr-only">${uiText('list.group')} </span>` : nothing}${r.kind === 'dm' ? userName(s, r.title) : r.title}${
                r.verified
                  ? html` <span class="verified" data-verified title=${uiText('a11y.verified')}
                      ><span aria-hidden="true">✓</span
                      ><span class="sr-only">${uiText('a11y.verified')}</span></span
                    >`
                  : nothing
              }${online ? html`<span class="sr-only">, ${uiText('list.online')}</span>` : nothing}</span
            >
            <span class="time">${shortTime(r.lastAt)}</span>
          </span>
          <span class="bottom">
            <span class="preview">${preview}</span>
            ${
              muted
                ? html`<span class="muted-mark" data-muted title=${uiText('list.muted')}
                    ><span aria-hidden="true">🔕</span
                    ><span class="sr-only">${uiText('list.muted')}</span></span
                  >`
                : nothing
            }
            ${
              notice
                ? html`<span class="shield" data-security-notice title=${uiText('notice.security')}
                    ><span aria-hidden="true">🛡</span
                    ><span class="sr-only">${uiText('notice.security')}</span></span
                  >`
                : nothing
            }
            ${
              r.mentioned === true
                ? html`<span class="badge" data-mention-badge title=${uiText('mention.you')}
                    >@<span class="sr-only"> ${uiText('mention.you')}</span></span
                  >`
                : nothing
            }
            ${
              r.unread > 0
                ? html`<span class="badge" data-unread=${r.unread}
                    >${r.unread}<span class="sr-only"> ${uiText('list.unread')}</span></span
                  >`
                : nothing
            }
          </span>
        </span>
      </a>
    </li>`;
  }

  override render(): TemplateResult {
    const s = this.session;
    const archived = this._rows.filter((r) => s?.prefs.isArchived(r.id) === true);
    const rows = filterRows(
      this._rows.filter((r) => (s?.prefs.isArchived(r.id) === true) === this._archived),
      this._filter,
    );
    const groups = s?.messenger.capabilities.has('groups') === true;
    return html`<header class="bar">
        <h2>${uiText('chats.title')} <span class="me">· ${s?.account.username}</span></h2>
        <a
          class="icon"
          href="#/search"
          aria-label=${uiText('search.label')}
          title=${uiText('chats.searchTitle')}
          >${icons.search}</a
        >
        <a
          class="icon"
          href="#/settings"
          aria-label=${uiText('chats.settings')}
          title=${uiText('chats.settings')}
          >${icons.settings}</a
        >
      </header>
      <div class="tools">
        <input
          type="search"
          placeholder=${uiText('chats.filter')}
          aria-label=${uiText('chats.filter')}
          .value=${this._filter}
          @input=${(e: Event) => (this._filter = (e.target as HTMLInputElement).value)}
        />
        ${
          this._form === 'none'
            ? html`<div class="row2">
                <button
                  @click=${() => {
                    this._form = 'dm';
                    this._formError = '';
                  }}
                >
                  ${icons.plus} ${uiText('chats.newChat')}
                </button>
                ${
                  // Guests cannot create rooms (GUEST_NOT_ALLOWED): no button they cannot use.
                  s?.guest === true
                    ? nothing
                    : html`<button
                        ?disabled=${!groups}
                        title=${uiText(groups ? 'chats.newGroupTitle' : 'chats.noGroups')}
                        @click=${() => {
                          this._form = 'group';
                          this._formError = '';
                        }}
                      >
                        ${icons.group} ${uiText('chats.newGroup')}
                      </button>`
                }
                <a class="explore" href="#/explore">${uiText('explore.title')}</a>
              </div>`
            : this.renderForm()
        }
      </div>
      ${
        this._loaded && rows.length === 0
          ? html`<div class="empty" data-empty-hint>
              ${
                this._filter
                  ? uiText('list.noMatch')
                  : this._archived
                    ? uiText('list.archivedEmpty')
                    : uiText('list.empty')
              }
            </div>`
          : nothing
      }
      <ul role="list" aria-label=${uiText('list.label')}>
        ${
          // Keyed by conversation: when a message reorders the list, each row's element moves
          // with its conversation, so the row that has keyboard focus (or is being clicked)
          // stays the same conversation instead of becoming whichever moved into its place.
          repeat(
            rows,
            (r) => r.id,
            (r) => this.renderRow(r),
          )
        }
      </ul>
      ${
        archived.length > 0 || this._archived
          ? html`<button
              type="button"
              class="archived-toggle"
              data-archived-toggle
              @click=${() => (this._archived = !this._archived)}
            >
              ${
                this._archived
                  ? uiText('list.back')
                  : uiText('list.archived', { count: archived.length })
              }
            </button>`
          : nothing
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'conversation-list': ConversationList;
  }
}
