/**
 * `<conversation-media>`: the "Media" tab of a conversation's info (`#/c/{id}/media`) — every
 * photo and video of the conversation (the latest {@link MEDIA_SCAN} messages) as a grid of the
 * senders' thumbnails, newest first; a tile opens the media viewer on it. Also exports the tab
 * strip the info views share ({@link infoTabs}).
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { MessageRecord } from '../services/engine-types.ts';
import { MEDIA_SCAN } from '../services/history.ts';
import { dmId, parseConversationId } from '../services/messenger.ts';
import type { ChatSession } from '../services/session.ts';
import { safeFileName } from '../services/file-name.ts';
import { uiText } from '../services/ui-strings.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';
import { fileOf } from './message-bubble.ts';
import './media-viewer.ts';

/** The "Info | Media" tab strip of a conversation's info views. */
export function infoTabs(conversationId: string, current: 'info' | 'media'): TemplateResult {
  const base = `#/c/${encodeURIComponent(conversationId)}`;
  const tab = (name: 'info' | 'media', label: string): TemplateResult =>
    html`<a
      role="tab"
      href="${base}/${name}"
      aria-selected=${current === name ? 'true' : 'false'}
      aria-current=${current === name ? 'page' : nothing}
      >${label}</a
    >`;
  return html`<nav class="tabs" role="tablist" aria-label=${uiText('media.tabs')}>
    ${tab('info', uiText('media.infoTab'))} ${tab('media', uiText('media.tab'))}
  </nav>`;
}

/** Styles of {@link infoTabs}, for the views that show it. */
export const infoTabStyles = css`
  nav.tabs {
    display: flex;
    gap: 0.25rem;
    padding: 0 0.75rem;
    border-bottom: 1px solid var(--border);
  }
  nav.tabs a {
    padding: 0.5rem 0.75rem;
    color: var(--fg-2);
    text-decoration: none;
    border-bottom: 2px solid transparent;
  }
  nav.tabs a[aria-selected='true'] {
    color: var(--fg);
    border-bottom-color: var(--accent);
  }
`;

/** A conversation's photos and videos. */
@customElement('conversation-media')
export class ConversationMedia extends LitElement {
  static override styles = [
    shared,
    infoTabStyles,
    css`
      :host {
        display: block;
        height: 100%;
        overflow-y: auto;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(104px, 1fr));
        gap: 4px;
        padding: 0.75rem;
      }
      .grid button {
        position: relative;
        aspect-ratio: 1;
        padding: 0;
        border-radius: 6px;
        overflow: hidden;
        background: var(--bg-3);
        min-height: 0;
      }
      .grid img {
        width: 100%;
        height: 100%;
        object-fit: cover;
        display: block;
      }
      .grid .badge {
        position: absolute;
        right: 4px;
        bottom: 4px;
        color: #fff;
        background: rgb(0 0 0 / 0.55);
        border-radius: 4px;
        padding: 0 4px;
        font-size: 0.75rem;
      }
      .empty {
        padding: 1.5rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** `dm:{user}` or `group:{id}`. */
  @property() conversationId = '';

  @state() private _items: MessageRecord[] | undefined;
  @state() private _open: number | undefined;

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('conversationId') || changed.has('session')) void this.load();
  }

  private async load(): Promise<void> {
    const s = this.session;
    if (s === undefined || this.conversationId === '') return;
    this._items = await s.history.media(this.conversationId);
  }

  override render(): TemplateResult {
    const items = this._items;
    const { kind, ref } = this.conversationId
      ? parseConversationId(this.conversationId)
      : { kind: 'dm', ref: '' };
    const back = kind === 'dm' ? dmId(ref) : this.conversationId;
    return html`<header class="bar">
        <a
          class="icon"
          href="#/c/${encodeURIComponent(back)}"
          aria-label=${uiText('common.backToConversation')}
          >${icons.back}</a
        >
        <h2>${uiText('media.tab')}</h2>
      </header>
      ${infoTabs(this.conversationId, 'media')}
      ${
        items === undefined
          ? html`<p class="muted empty" role="status">${uiText('viewer.loading')}</p>`
          : items.length === 0
            ? html`<p class="muted empty">${uiText('media.empty')}</p>`
            : html`<div class="grid" role="list" data-count=${items.length}>
                ${[...items].reverse().map((m) => {
                  const f = fileOf(m);
                  const name = safeFileName(f?.name ?? '');
                  const video = f?.mime.startsWith('video/') === true;
                  return html`<button
                    role="listitem"
                    aria-label=${uiText('media.open', { name })}
                    @click=${() => (this._open = items.indexOf(m))}
                  >
                    ${
                      f?.thumbnail !== undefined
                        ? html`<img src=${f.thumbnail.url} alt="" />`
                        : html`<span aria-hidden="true">${icons.image}</span>`
                    }
                    ${video ? html`<span class="badge" aria-hidden="true">▶</span>` : nothing}
                  </button>`;
                })}
              </div>`
      }
      ${
        this._open !== undefined && items !== undefined
          ? html`<media-viewer
              .session=${this.session}
              .items=${items}
              .index=${this._open}
              @close=${() => (this._open = undefined)}
            ></media-viewer>`
          : nothing
      }
      <p class="muted empty">${uiText('media.scanned', { count: MEDIA_SCAN })}</p>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'conversation-media': ConversationMedia;
  }
}
