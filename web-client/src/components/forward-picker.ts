/**
 * `<forward-picker>`: choose the conversations to forward a message to (issue 22; PROTOCOL.md
 * §12 "Forwarding"). A native modal `<dialog>` (focus kept inside, Esc closes) with a search box
 * over the conversation list and one checkbox per conversation; "Forward" sends the message's
 * content as a new message marked "Forwarded" in each one chosen (an attachment is uploaded again
 * under a new key for each). What the original was — its sender, its conversation — is not sent.
 *
 * @fires forwarded - `CustomEvent<{ count: number }>` the message went to `count` conversations
 * @fires forward-error - `CustomEvent<unknown>` forwarding failed (for a toast)
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { MessageRecord } from '../services/engine-types.ts';
import type { ConversationRow } from '../services/history.ts';
import { previewOf } from '../services/history.ts';
import type { ChatSession } from '../services/session.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';
import { modalDialog, shared } from '../styles.ts';

/** The forward dialog; {@link open} shows it for one message. */
@customElement('forward-picker')
export class ForwardPicker extends LitElement {
  static override styles = [
    shared,
    modalDialog,
    css`
      dialog {
        width: min(24rem, calc(100vw - 2rem));
      }
      .what {
        color: var(--fg-2);
        font-size: 0.85rem;
        margin: 0 0 0.6rem;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      input[type='search'] {
        width: 100%;
        box-sizing: border-box;
      }
      ul {
        list-style: none;
        margin: 0.6rem 0 0;
        padding: 0;
        max-height: 16rem;
        overflow-y: auto;
      }
      li label {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.35rem 0.2rem;
        cursor: pointer;
      }
      .error {
        color: var(--danger);
      }
    `,
  ];

  @property({ attribute: false }) session: ChatSession | undefined;

  @state() private _message: MessageRecord | undefined;
  @state() private _rows: ConversationRow[] = [];
  @state() private _query = '';
  @state() private _chosen = new Set<string>();
  @state() private _busy = false;
  @state() private _error = '';
  @query('dialog') private _dialog!: HTMLDialogElement;

  /** Show the picker for message `m`. */
  async open(m: MessageRecord): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    this._message = m;
    this._query = '';
    this._chosen = new Set();
    this._error = '';
    this._rows = await s.history.conversations();
    await this.updateComplete;
    if (!this._dialog.open) this._dialog.showModal();
    this.renderRoot.querySelector<HTMLInputElement>('input[type=search]')?.focus();
  }

  private close(): void {
    if (this._dialog.open) this._dialog.close();
    this._message = undefined;
  }

  private toggle(id: string, on: boolean): void {
    const next = new Set(this._chosen);
    if (on) next.add(id);
    else next.delete(id);
    this._chosen = next;
  }

  private async send(): Promise<void> {
    const s = this.session;
    const m = this._message;
    if (s === undefined || m === undefined || this._chosen.size === 0) return;
    this._busy = true;
    this._error = '';
    const to = [...this._chosen];
    try {
      const failed = await s.messenger.pins.forward(m.id, to);
      for (const id of to) if (!failed.includes(id)) s.touch(id);
      if (failed.length > 0) {
        const names = this._rows.filter((r) => failed.includes(r.id)).map((r) => r.title);
        this._error = uiText('forward.failed', { names: names.join(', ') });
        this._chosen = new Set(failed);
        return;
      }
      this.dispatchEvent(
        new CustomEvent('forwarded', {
          detail: { count: to.length },
          bubbles: true,
          composed: true,
        }),
      );
      this.close();
    } catch (err) {
      this.dispatchEvent(
        new CustomEvent('forward-error', { detail: err, bubbles: true, composed: true }),
      );
      this.close();
    } finally {
      this._busy = false;
    }
  }

  override render(): TemplateResult {
    const q = this._query.trim().toLowerCase();
    const rows = this._rows.filter((r) => q === '' || r.title.toLowerCase().includes(q));
    const n = this._chosen.size;
    return html`<dialog aria-labelledby="forward-title" @close=${() => (this._message = undefined)}>
      ${
        this._message === undefined
          ? nothing
          : html`<h2 id="forward-title">${uiText('forward.title')}</h2>
              <p class="what">${previewOf(this._message)}</p>
              <input
                type="search"
                aria-label=${uiText('forward.search')}
                placeholder=${uiText('forward.search')}
                .value=${this._query}
                @input=${(e: Event) => (this._query = (e.target as HTMLInputElement).value)}
              />
              <ul aria-label=${uiText('forward.list')}>
                ${rows.map(
                  (r) =>
                    html`<li>
                      <label
                        ><input
                          type="checkbox"
                          data-forward-to=${r.id}
                          .checked=${this._chosen.has(r.id)}
                          @change=${(e: Event) =>
                            this.toggle(r.id, (e.target as HTMLInputElement).checked)}
                        />${r.kind === 'group' ? uiText('forward.group', { title: r.title }) : r.title}</label
                      >
                    </li>`,
                )}
                ${rows.length === 0 ? html`<li class="muted">${uiText('forward.noMatch')}</li>` : nothing}
              </ul>
              <p class="error" role="status">${this._error}</p>
              <div class="buttons">
                <button type="button" @click=${() => this.close()}>
                  ${uiText('forward.cancel')}
                </button>
                <button
                  type="button"
                  class="primary"
                  data-forward-send
                  ?disabled=${n === 0 || this._busy}
                  @click=${() => void this.send()}
                >
                  ${n > 1 ? uiPlural('forward.sendTo', n) : uiText('forward.send')}
                </button>
              </div>`
      }
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'forward-picker': ForwardPicker;
  }
}
