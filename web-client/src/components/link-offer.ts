/**
 * `<link-offer>`: on a new browser of an existing account, the link code (text and QR) that
 * the user's other device approves in Settings → Link a device (PROTOCOL.md §13). Loaded
 * lazily by `<auth-view>` so the QR library stays out of the first paint.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import QRCode from 'qrcode';
import type { LinkOffer } from '../services/messenger.ts';
import { shared } from '../styles.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';

/**
 * Shows a pending link.
 *
 * @fires link-cancel - the user gave up waiting
 */
@customElement('link-offer')
export class LinkOfferView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        gap: 0.6rem;
        justify-items: center;
        text-align: center;
      }
      img {
        width: min(260px, 80vw);
        height: auto;
        image-rendering: pixelated;
        background: #fff;
        border-radius: 8px;
      }
      code {
        word-break: break-all;
        font-size: 0.8rem;
        user-select: all;
        background: var(--bg-2);
        padding: 0.4rem;
        border-radius: 6px;
      }
      ol {
        text-align: left;
        margin: 0;
        padding-left: 1.2rem;
      }
    `,
  ];

  /** The pending link. */
  @property({ attribute: false }) offer: LinkOffer | undefined;

  @state() private _qr = '';
  @state() private _copied = false;
  /** Messages of the copied history stored so far, once the other device approved. */
  @state() private _history: { done: number; total: number } | null = null;

  override updated(changed: Map<string, unknown>): void {
    if (!changed.has('offer')) return;
    void this.draw();
    const offer = this.offer;
    this._history = null;
    offer?.onHistoryProgress((done, total) => {
      if (this.offer === offer) this._history = { done, total };
    });
  }

  private async draw(): Promise<void> {
    const code = this.offer?.code;
    if (code === undefined) return;
    this._qr = await QRCode.toDataURL(code, { errorCorrectionLevel: 'M', margin: 1, width: 360 });
  }

  private async copy(): Promise<void> {
    if (this.offer === undefined) return;
    try {
      await navigator.clipboard.writeText(this.offer.code);
      this._copied = true;
    } catch {
      // No clipboard permission: the code is selectable text as well.
    }
  }

  override render(): TemplateResult {
    const offer = this.offer;
    if (offer === undefined) return html``;
    const minutes = Math.max(1, Math.round((offer.expiresAt - Date.now()) / 60_000));
    return html`<ol>
        <li>${uiText('linkOffer.step1')}</li>
        <li>${uiText('linkOffer.step2')}</li>
      </ol>
      ${this._qr !== '' ? html`<img src=${this._qr} alt=${uiText('linkOffer.qrAlt')} />` : nothing}
      <code data-link-code aria-label=${uiText('linkOffer.code')}>${offer.code}</code>
      <button type="button" @click=${this.copy}>
        ${uiText(this._copied ? 'linkOffer.copied' : 'linkOffer.copy')}
      </button>
      <p role="status" aria-live="polite" class="muted flush" data-link-status>
        ${
          this._history !== null
            ? uiText('linkOffer.history', this._history)
            : uiPlural('linkOffer.waiting', minutes)
        }
      </p>
      <button
        type="button"
        @click=${() =>
          this.dispatchEvent(new CustomEvent('link-cancel', { bubbles: true, composed: true }))}
      >
        ${uiText('common.cancel')}
      </button>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'link-offer': LinkOfferView;
  }
}
