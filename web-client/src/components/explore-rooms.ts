/**
 * `<explore-rooms>`: the server's public directory of open rooms (`#/explore`, issue 17), with
 * search by name or topic and a Join button per room. It says plainly that these rooms' names and
 * topics are public by their admins' choice. Joining signs a `join` record with this account's
 * identity key; the room's chain is verified in the browser before anything is sent.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { ChatSession } from '../services/session.ts';
import type { DirectoryRoomInfo } from '../services/messenger.ts';
import { uiText } from '../services/ui-strings.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';

/** The room directory. */
@customElement('explore-rooms')
export class ExploreRooms extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
      }
      section {
        padding: 1rem;
        max-width: 640px;
        display: grid;
        gap: 0.75rem;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.5rem;
      }
      li {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 0.75rem;
        border: 1px solid var(--border);
        border-radius: 8px;
        padding: 0.5rem 0.75rem;
      }
      .error {
        color: var(--danger);
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _query = '';
  @state() private _rooms: DirectoryRoomInfo[] | null = null;
  @state() private _error = '';
  @state() private _joining = '';
  private _loadedFor: string | null = null;
  private _mine = new Set<string>();

  override updated(): void {
    if (this.session !== undefined && this._loadedFor !== this._query) void this.load();
  }

  private async load(): Promise<void> {
    const messenger = this.session?.messenger;
    if (messenger === undefined) return;
    const q = this._query;
    this._loadedFor = q;
    try {
      const rooms = await messenger.exploreRooms(q);
      const convs = await this.session!.history.conversations();
      this._mine = new Set(convs.map((c) => c.id));
      if (this._loadedFor === q) {
        this._rooms = rooms;
        this._error = '';
      }
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    }
  }

  private onSearch(e: Event): void {
    this._query = (e.target as HTMLInputElement).value.trim();
  }

  private async join(room: DirectoryRoomInfo): Promise<void> {
    const messenger = this.session?.messenger;
    if (messenger === undefined || this._joining) return;
    this._joining = room.groupId;
    this._error = '';
    try {
      const id = await messenger.joinOpenRoom(room.groupId);
      location.hash = `#/c/${encodeURIComponent(id)}`;
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._joining = '';
    }
  }

  private renderRoom(r: DirectoryRoomInfo) {
    const count =
      r.memberCount === 1
        ? uiText('explore.members.one')
        : uiText('explore.members.other', { count: r.memberCount });
    const conv = `group:${r.groupId}`;
    return html`<li data-room=${r.groupId}>
      <div>
        <strong>${r.name}</strong>
        ${r.topic ? html`<div>${r.topic}</div>` : nothing}
        <small>${count}</small>
      </div>
      ${
        this._mine.has(conv)
          ? html`<a href="#/c/${encodeURIComponent(conv)}"
              >${uiText('explore.open', { name: r.name })}</a
            >`
          : html`<button
              class="primary"
              ?disabled=${this._joining !== ''}
              @click=${() => void this.join(r)}
            >
              ${uiText('explore.join', { name: r.name })}
            </button>`
      }
    </li>`;
  }

  override render() {
    return html`
      <header class="bar">
        <a class="icon" href="#/" aria-label=${uiText('join.back')}>${icons.back}</a>
        <h2>${uiText('explore.title')}</h2>
      </header>
      <section>
        <p>${uiText('explore.public')}</p>
        <input
          type="search"
          name="q"
          aria-label=${uiText('explore.search')}
          placeholder=${uiText('explore.search')}
          @input=${this.onSearch}
        />
        ${
          this._rooms === null
            ? nothing
            : this._rooms.length === 0
              ? html`<p>${uiText('explore.none')}</p>`
              : html`<ul aria-label=${uiText('explore.title')}>
                  ${this._rooms.map((r) => this.renderRoom(r))}
                </ul>`
        }
        ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'explore-rooms': ExploreRooms;
  }
}
