/**
 * `<pinned-bar>`: the pinned messages of a conversation, at the top of it (issue 22; PROTOCOL.md
 * §12 "Pins"). It shows the latest pin with the count; clicking it goes to that message. "All
 * pins" opens the list of every pin, newest first, each going to its message, with Unpin where
 * this account may pin. Hidden when nothing is pinned.
 *
 * @fires jump - `CustomEvent<string>` scroll to this message id
 * @fires pin - `CustomEvent<{ messageId: string; pinned: false }>` unpin a message
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { previewOf } from '../services/history.ts';
import type { PinInfo } from '../services/pins-forward.ts';
import type { ChatSession } from '../services/session.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';

/** A conversation's pins. */
@customElement('pinned-bar')
export class PinnedBar extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        border-bottom: 1px solid var(--border);
        background: var(--bg-2);
      }
      .bar {
        display: flex;
        align-items: center;
        gap: 0.4rem;
        padding: 0.3rem 0.7rem;
      }
      .latest {
        flex: 1;
        min-width: 0;
        display: flex;
        align-items: center;
        justify-content: flex-start;
        gap: 0.5rem;
        text-align: left;
        background: none;
        border: none;
        color: inherit;
        padding: 0.2rem;
      }
      .latest svg {
        width: 1rem;
        height: 1rem;
        flex: none;
      }
      .label {
        font-size: 0.75rem;
        font-weight: 600;
      }
      .preview {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0 0.7rem 0.4rem;
        max-height: 14rem;
        overflow-y: auto;
      }
      li {
        display: flex;
        gap: 0.4rem;
        align-items: center;
      }
      li .go {
        flex: 1;
        min-width: 0;
        text-align: left;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
    `,
  ];

  @property({ attribute: false }) session: ChatSession | undefined;
  /** The pins, oldest first. */
  @property({ attribute: false }) pins: readonly PinInfo[] = [];
  /** This account may unpin here. */
  @property({ type: Boolean }) canPin = false;

  @state() private _open = false;
  @state() private _previews = new Map<string, string>();

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('pins')) void this.readPreviews();
    if (changed.has('pins') && this.pins.length === 0) this._open = false;
  }

  private async readPreviews(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const pins = this.pins;
    const entries = await Promise.all(
      pins.map(async (p) => [p.messageId, previewOf(await s.history.get(p.messageId))] as const),
    );
    if (pins === this.pins) this._previews = new Map(entries);
  }

  private fire<T>(name: string, detail: T): void {
    this.dispatchEvent(new CustomEvent<T>(name, { detail, bubbles: true, composed: true }));
  }

  override render(): TemplateResult | typeof nothing {
    const n = this.pins.length;
    const latest = this.pins[n - 1];
    if (latest === undefined) return nothing;
    const preview = (id: string): string => this._previews.get(id) ?? '';
    return html`<div class="bar" role="region" aria-label=${uiText('pins.label')}>
        <button
          class="latest"
          data-pinned-latest
          aria-label=${uiText('pins.latest', { preview: preview(latest.messageId), count: n })}
          @click=${() => this.fire('jump', latest.messageId)}
        >
          ${icons.pin}
          <span class="label">${uiPlural('pins.count', n)}</span>
          <span class="preview">${preview(latest.messageId)}</span>
        </button>
        <button
          aria-expanded=${this._open ? 'true' : 'false'}
          aria-controls="pin-list"
          data-pins-all
          @click=${() => (this._open = !this._open)}
        >
          ${uiText('pins.all', { count: n })}
        </button>
      </div>
      ${
        this._open
          ? html`<ul id="pin-list" aria-label=${uiText('pins.list')}>
              ${[...this.pins].reverse().map(
                (p) =>
                  html`<li>
                    <button
                      class="go"
                      data-pin-go=${p.messageId}
                      aria-label=${uiText('pins.go', { user: p.by, preview: preview(p.messageId) })}
                      @click=${() => this.fire('jump', p.messageId)}
                    >
                      ${preview(p.messageId)}
                    </button>
                    ${
                      this.canPin
                        ? html`<button
                            aria-label=${uiText('pins.unpinLabel', { preview: preview(p.messageId) })}
                            @click=${() =>
                              this.fire('pin', { messageId: p.messageId, pinned: false })}
                          >
                            ${uiText('pins.unpin')}
                          </button>`
                        : nothing
                    }
                  </li>`,
              )}
            </ul>`
          : nothing
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'pinned-bar': PinnedBar;
  }
}
