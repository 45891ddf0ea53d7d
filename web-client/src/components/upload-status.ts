/**
 * `<upload-status>`: the files being sent from the open conversation, each with a progress bar,
 * and short error lines of uploads or other actions that failed. Nothing when the list is empty.
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { shared } from '../styles.ts';
import type { Upload } from './controllers/uploads.ts';
import { uiText } from '../services/ui-strings.ts';

/** Upload progress and error lines. */
@customElement('upload-status')
export class UploadStatus extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .uploads {
        padding: 0 0.75rem 0.4rem;
        display: grid;
        gap: 0.25rem;
        font-size: 0.85rem;
      }
      .uploads progress {
        width: 100%;
      }
    `,
  ];

  /** Uploads and error lines, oldest first. */
  @property({ attribute: false }) uploads: readonly Upload[] = [];

  override render(): TemplateResult | typeof nothing {
    if (this.uploads.length === 0) return nothing;
    return html`<div class="uploads" role="status">
      ${this.uploads.map((u) =>
        u.error !== undefined
          ? html`<div class="error">
              ${u.name ? uiText('upload.failed', { name: u.name, error: u.error }) : u.error}
            </div>`
          : html`<div>
              ${uiText('upload.progress', { name: u.name })}
              <progress
                max="1"
                .value=${u.progress}
                aria-label=${uiText('upload.progressLabel', { name: u.name })}
              ></progress>
            </div>`,
      )}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'upload-status': UploadStatus;
  }
}
