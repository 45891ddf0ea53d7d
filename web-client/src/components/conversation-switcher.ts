/**
 * `<conversation-switcher>`: the Ctrl/Cmd+K quick switcher. A modal dialog with a filter box
 * (an ARIA combobox) over the conversations, most recent first: ↑/↓ choose, Enter opens, Escape
 * or a click outside closes. Filtering is local, over the titles and previews the list shows.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { ConversationRow } from '../services/history.ts';
import type { ChatSession } from '../services/session.ts';
import { uiText } from '../services/ui-strings.ts';
import { shared } from '../styles.ts';
import { filterRows } from './conversation-list.ts';

/** How many matches the switcher lists. */
export const SWITCHER_ROWS = 8;

/**
 * The quick switcher.
 *
 * @fires close - the switcher closed (a conversation was opened, or the user cancelled)
 */
@customElement('conversation-switcher')
export class ConversationSwitcher extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        position: fixed;
        inset: 0;
        z-index: 50;
        display: grid;
        place-items: start center;
        padding-top: 12vh;
        background: rgb(0 0 0 / 0.35);
      }
      [role='dialog'] {
        width: min(480px, 92vw);
        background: var(--bg);
        color: var(--fg);
        border: 1px solid var(--border);
        border-radius: 12px;
        box-shadow: var(--shadow);
        padding: 0.6rem;
        display: grid;
        gap: 0.5rem;
      }
      input {
        width: 100%;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        padding: 0.45rem 0.6rem;
        border-radius: 8px;
        cursor: pointer;
      }
      li[aria-selected='true'] {
        background: var(--bg-3);
        outline: 2px solid var(--accent);
      }
      .empty {
        color: var(--fg-2);
        padding: 0.45rem 0.6rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _rows: ConversationRow[] = [];
  @state() private _filter = '';
  @state() private _selected = 0;
  @query('input') private _input!: HTMLInputElement | null;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    const s = this.session;
    if (s !== undefined) this._rows = await s.history.conversations([...s.pendingDms]);
  }

  override firstUpdated(): void {
    this._input?.focus();
  }

  private visibleRows(): ConversationRow[] {
    return filterRows(this._rows, this._filter).slice(0, SWITCHER_ROWS);
  }

  private open(row: ConversationRow | undefined): void {
    if (row !== undefined) location.hash = `#/c/${encodeURIComponent(row.id)}`;
    this.dispatchEvent(new Event('close', { bubbles: true, composed: true }));
  }

  private onKeyDown(e: KeyboardEvent): void {
    const rows = this.visibleRows();
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = rows.length;
      if (n > 0) this._selected = (this._selected + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
    } else if (e.key === 'Enter') {
      e.preventDefault();
      this.open(rows[this._selected]);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      this.open(undefined);
    }
  }

  override render(): TemplateResult {
    const rows = this.visibleRows();
    const selected = rows[this._selected];
    return html`<div
      role="dialog"
      aria-modal="true"
      aria-label=${uiText('switcher.label')}
      @click=${(e: Event) => e.stopPropagation()}
    >
      <input
        type="text"
        role="combobox"
        aria-expanded="true"
        aria-controls="switcher-list"
        aria-autocomplete="list"
        aria-activedescendant=${selected !== undefined ? `sw-${this._selected}` : ''}
        aria-label=${uiText('switcher.input')}
        placeholder=${uiText('switcher.placeholder')}
        autocomplete="off"
        .value=${this._filter}
        @input=${(e: Event) => {
          this._filter = (e.target as HTMLInputElement).value;
          this._selected = 0;
        }}
        @keydown=${this.onKeyDown}
      />
      <ul id="switcher-list" role="listbox" aria-label=${uiText('list.label')}>
        ${
          rows.length === 0
            ? html`<li class="empty" role="option" aria-disabled="true" aria-selected="false">
                ${uiText('list.noMatch')}
              </li>`
            : rows.map(
                (r, i) =>
                  html`<li
                    id="sw-${i}"
                    role="option"
                    aria-selected=${i === this._selected ? 'true' : 'false'}
                    data-conversation=${r.id}
                    @click=${() => this.open(r)}
                  >
                    ${r.title}
                  </li>`,
              )
        }
      </ul>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'conversation-switcher': ConversationSwitcher;
  }
}
