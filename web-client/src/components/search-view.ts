/**
 * `<search-view>`: local full-text search over the decrypted history on this browser (the
 * server never sees a query). Results link to the message in its conversation.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { SearchHit } from '../services/engine-types.ts';
import { previewOf } from '../services/history.ts';
import { parseConversationId } from '../services/messenger.ts';
import type { ChatSession } from '../services/session.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';
import { shortTime } from './conversation-list.ts';
import { uiText } from '../services/ui-strings.ts';

/** Link to a message in its conversation. */
export function messageHref(conversationId: string, messageId: string): string {
  return `#/c/${encodeURIComponent(conversationId)}?m=${encodeURIComponent(messageId)}`;
}

/**
 * `text` cut into pieces, each a match of one of the query's words (case-insensitive) or not,
 * so the view can mark what was found.
 */
export function matchPieces(text: string, query: string): { text: string; match: boolean }[] {
  const words = query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (words.length === 0 || text === '') return [{ text, match: false }];
  // One capture group: split() puts the matches at the odd positions.
  return text
    .split(new RegExp(`(${words.join('|')})`, 'iu'))
    .map((piece, i) => ({ text: piece, match: i % 2 === 1 }))
    .filter((p) => p.text !== '');
}

/** Search across all conversations. */
@customElement('search-view')
export class SearchView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        min-height: 0;
      }
      header input {
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
        display: block;
        padding: 0.6rem 0.9rem;
        color: inherit;
        text-decoration: none;
        border-bottom: 1px solid var(--bg-2);
      }
      li a:hover,
      li a:focus-visible {
        background: var(--bg-2);
      }
      .where {
        font-size: 0.8rem;
        color: var(--fg-2);
      }
      mark {
        background: var(--warn-bg);
        color: inherit;
        border-radius: 3px;
      }
      .status {
        padding: 1rem;
        color: var(--fg-2);
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _query = '';
  @state() private _hits: SearchHit[] = [];
  @state() private _titles = new Map<string, string>();
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  override firstUpdated(): void {
    this.renderRoot.querySelector('input')?.focus();
  }

  private onInput(e: Event): void {
    this._query = (e.target as HTMLInputElement).value;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), 120);
  }

  private async run(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const seq = ++this.seq;
    const q = this._query.trim();
    if (q === '') {
      this._hits = [];
      return;
    }
    const [hits, rows] = await Promise.all([s.history.search(q, 100), s.history.conversations()]);
    if (seq !== this.seq) return;
    this._titles = new Map(rows.map((r) => [r.id, r.title]));
    this._hits = hits;
  }

  override render(): TemplateResult {
    const query = this._query.trim();
    return html`<header class="bar">
        <a class="icon" href="#/" aria-label=${uiText('common.backToChats')}>${icons.back}</a>
        <input
          type="search"
          placeholder=${uiText('search.placeholder')}
          aria-label=${uiText('search.label')}
          .value=${this._query}
          @input=${this.onInput}
        />
      </header>
      ${
        this._query.trim() !== '' && this._hits.length === 0
          ? html`<div class="status" role="status">${uiText('search.none')}</div>`
          : nothing
      }
      <ul aria-label=${uiText('search.results')}>
        ${this._hits.map(({ message: m }) => {
          const title =
            this._titles.get(m.conversationId) ?? parseConversationId(m.conversationId).ref;
          // In a DM the title is the peer, who is also the sender: say the name once.
          const who = m.outgoing
            ? uiText('search.you')
            : parseConversationId(m.conversationId).kind === 'group'
              ? m.sender
              : '';
          return html`<li>
            <a href=${messageHref(m.conversationId, m.id)} data-result=${m.id}>
              <div class="where" data-where>
                ${[title, who, shortTime(m.timestamp)].filter((p) => p !== '').join(' · ')}
              </div>
              <div>
                ${matchPieces(previewOf(m), query).map((p) =>
                  p.match ? html`<mark>${p.text}</mark>` : p.text,
                )}
              </div>
            </a>
          </li>`;
        })}
      </ul>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'search-view': SearchView;
  }
}
