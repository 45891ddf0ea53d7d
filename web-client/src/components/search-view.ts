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

/** Link to a message in its conversation. */
export function messageHref(conversationId: string, messageId: string): string {
  return `#/c/${encodeURIComponent(conversationId)}?m=${encodeURIComponent(messageId)}`;
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
    return html`<header class="bar">
        <a class="icon" href="#/" aria-label="Back to chats">${icons.back}</a>
        <input
          type="search"
          placeholder="Search all messages on this device"
          aria-label="Search messages"
          .value=${this._query}
          @input=${this.onInput}
        />
      </header>
      ${
        this._query.trim() !== '' && this._hits.length === 0
          ? html`<div class="status" role="status">No messages found.</div>`
          : nothing
      }
      <ul aria-label="Search results">
        ${this._hits.map(({ message: m }) => {
          const title =
            this._titles.get(m.conversationId) ?? parseConversationId(m.conversationId).ref;
          return html`<li>
            <a href=${messageHref(m.conversationId, m.id)} data-result=${m.id}>
              <div class="where">
                ${title} · ${m.outgoing ? 'You' : m.sender} · ${shortTime(m.timestamp)}
              </div>
              <div>${previewOf(m)}</div>
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
