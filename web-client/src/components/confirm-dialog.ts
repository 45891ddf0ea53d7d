/**
 * `<confirm-dialog>`: one modal question before an action that cannot be taken back quietly —
 * removing a member, leaving a group, blocking or reporting someone (issue 17). A native
 * `<dialog>` opened with `showModal()`: focus moves into it and stays there, Esc cancels, the
 * page behind is inert, and the dialog is named by its title and described by its text. The
 * safe choice (Cancel) has the focus, so Enter alone never confirms.
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import { modalDialog, shared } from '../styles.ts';
import { uiText } from '../services/ui-strings.ts';

/** What to ask. */
export interface ConfirmRequest {
  /** The dialog's title and accessible name, naming the person or group ("Remove carol?"). */
  title: string;
  /** What happens, in a sentence or two. */
  text: string;
  /** The confirming button's label ("Remove carol"). */
  confirm: string;
  /** A free-text field (e.g. a report's note) with this label; its value comes back. */
  note?: string;
}

/** The answer: `null` when cancelled, else the note (empty without a note field). */
export type ConfirmAnswer = { note: string } | null;

/** A modal confirmation; {@link ask} opens it. */
@customElement('confirm-dialog')
export class ConfirmDialog extends LitElement {
  static override styles = [
    shared,
    modalDialog,
    css`
      textarea {
        width: 100%;
        box-sizing: border-box;
        min-height: 4rem;
      }
    `,
  ];

  @state() private _request: ConfirmRequest | null = null;
  @query('dialog') private _dialog!: HTMLDialogElement;
  @query('textarea') private _note!: HTMLTextAreaElement | null;
  private resolve: ((answer: ConfirmAnswer) => void) | null = null;

  /** Ask; resolves when the user confirms or cancels (Esc and the Cancel button cancel). */
  async ask(request: ConfirmRequest): Promise<ConfirmAnswer> {
    this.resolve?.(null);
    this._request = request;
    await this.updateComplete;
    if (this._note) this._note.value = '';
    this._dialog.showModal();
    this.renderRoot.querySelector<HTMLButtonElement>('button[data-cancel]')?.focus();
    return new Promise((resolve) => (this.resolve = resolve));
  }

  private finish(answer: ConfirmAnswer): void {
    const resolve = this.resolve;
    this.resolve = null;
    if (this._dialog.open) this._dialog.close();
    resolve?.(answer);
  }

  override render(): TemplateResult {
    const r = this._request;
    return html`<dialog
      aria-labelledby="confirm-title"
      aria-describedby="confirm-text"
      @close=${() => this.finish(null)}
    >
      ${
        r === null
          ? nothing
          : html`<h2 id="confirm-title">${r.title}</h2>
              <p id="confirm-text">${r.text}</p>
              ${
                r.note !== undefined
                  ? html`<label>${r.note}<textarea name="note" maxlength="2000"></textarea></label>`
                  : nothing
              }
              <div class="buttons">
                <button type="button" data-cancel @click=${() => this.finish(null)}>
                  ${uiText('common.cancel')}
                </button>
                <button
                  type="button"
                  class="danger"
                  data-confirm
                  @click=${() => this.finish({ note: this._note?.value.trim() ?? '' })}
                >
                  ${r.confirm}
                </button>
              </div>`
      }
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'confirm-dialog': ConfirmDialog;
  }
}
