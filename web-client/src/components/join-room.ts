/**
 * `<join-room>`: the page an invite link opens (`#/join/{groupId}/{secret}`, issue 17). It shows
 * the room's name and member count — from the room's membership chain, verified on this device
 * after the key server checked the invite's proof — says that earlier messages stay unreadable,
 * and joins after a click (a `join` record signed with this account's identity key). The secret
 * stays in the page's URL fragment: browsers never send it to a server.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { ChatSession } from '../services/session.ts';
import type { RoomPreviewInfo } from '../services/messenger.ts';
import { uiText } from '../services/ui-strings.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';

/** The invite-link page. */
@customElement('join-room')
export class JoinRoom extends LitElement {
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
        max-width: 560px;
        display: grid;
        gap: 0.75rem;
      }
      .note {
        color: var(--muted);
      }
      .error {
        color: var(--danger);
      }
    `,
  ];

  /** The invite link (its fragment is enough). */
  @property() link = '';

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _preview: RoomPreviewInfo | null = null;
  @state() private _error = '';
  @state() private _busy = false;
  private _loaded = '';

  override updated(): void {
    const messenger = this.session?.messenger;
    if (messenger === undefined || this._loaded === this.link) return;
    this._loaded = this.link;
    this._preview = null;
    this._error = '';
    messenger.previewInvite(this.link).then(
      (p) => (this._preview = p),
      (err: unknown) => (this._error = err instanceof Error ? err.message : String(err)),
    );
  }

  private async join(): Promise<void> {
    const messenger = this.session?.messenger;
    if (messenger === undefined || this._busy) return;
    this._busy = true;
    this._error = '';
    try {
      const id = await messenger.joinByInvite(this.link);
      location.hash = `#/c/${encodeURIComponent(id)}`;
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  }

  override render() {
    const p = this._preview;
    const count = p
      ? p.memberCount === 1
        ? uiText('join.members.one')
        : uiText('join.members.other', { count: p.memberCount })
      : '';
    return html`
      <header class="bar">
        <a class="icon" href="#/" aria-label=${uiText('join.back')}>${icons.back}</a>
        <h2>${uiText('join.title')}</h2>
      </header>
      <section aria-live="polite">
        ${p === null && this._error === '' ? html`<p>${uiText('join.checking')}</p>` : nothing}
        ${
          p
            ? html`
                <h3 data-room-name>${p.name}</h3>
                ${p.topic ? html`<p>${p.topic}</p>` : nothing}
                <p data-member-count>${count}</p>
                ${
                  p.member
                    ? html`<p>${uiText('join.already')}</p>
                        <a href="#/c/${encodeURIComponent(`group:${p.groupId}`)}"
                          >${uiText('join.open')}</a
                        >`
                    : html`<p class="note">${uiText('join.history')}</p>
                        <button
                          class="primary"
                          ?disabled=${this._busy}
                          aria-label=${uiText('join.button', { name: p.name })}
                          @click=${this.join}
                        >
                          ${this._busy ? uiText('join.joining') : uiText('join.button', { name: p.name })}
                        </button>`
                }
              `
            : nothing
        }
        ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'join-room': JoinRoom;
  }
}
