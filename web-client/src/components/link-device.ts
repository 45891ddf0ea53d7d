/**
 * `<link-device>`: Settings → Link a device. The new browser or device shows a link code
 * (text and QR); here the user scans it with the camera (jsQR on the video stream, as in
 * `<contact-info>`) or pastes it, and this device hands over the account's identity key,
 * encrypted to that code (PROTOCOL.md §13). Offered when the engine has capability
 * `link-device`; otherwise it says so plainly.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { ChatSession } from '../services/session.ts';
import type { LinkApproval } from '../services/messenger.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';
import { QrScanner } from '../services/qr-scanner.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';

/** What became of the message history in a link ("… included: 12 messages."). */
function historyText(r: LinkApproval): string {
  if (r.history === null) {
    return r.historyError !== undefined
      ? uiText('linkDevice.historyFailed', { why: r.historyError })
      : uiText('linkDevice.historyNone');
  }
  const messages = uiPlural('linkDevice.messages', r.history.count);
  return r.history.omitted > 0
    ? uiText('linkDevice.historyCopiedOmitted', {
        messages,
        omitted: uiPlural('linkDevice.omitted', r.history.omitted),
      })
    : uiText('linkDevice.historyCopied', { messages });
}

/** Device linking, on the device that already has the keys. */
@customElement('link-device')
export class LinkDevice extends LitElement {
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
      video {
        width: min(360px, 100%);
        border-radius: 8px;
        background: #000;
      }
      textarea {
        width: 100%;
        font-family: monospace;
      }
      .row {
        display: flex;
        gap: 0.5rem;
        flex-wrap: wrap;
      }
      label.check {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        margin: 0.5rem 0 0.25rem;
      }
      label.check input {
        width: auto;
        margin: 0;
      }
      .verified {
        /* --online is for dots; as text it is below 4.5:1 (WCAG AA). */
        color: var(--ok-fg);
        font-weight: 600;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _busy = false;
  @state() private _scanning = false;
  @state() private _error = '';
  @state() private _done = '';

  @query('video') private _video!: HTMLVideoElement | null;
  private readonly scanner = new QrScanner();

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopScan();
  }

  /** Approve the device that shows `code`. */
  private async approve(code: string): Promise<void> {
    const messenger = this.session?.messenger;
    if (messenger === undefined || code.trim() === '') return;
    this._busy = true;
    this._error = '';
    this._done = '';
    const form = this.shadowRoot?.querySelector<HTMLInputElement>('input[name=history]');
    try {
      const r = await messenger.approveLink(code.trim(), { history: form?.checked !== false });
      this._done = uiText('linkDevice.done', { device: r.deviceId, history: historyText(r) });
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  }

  private async startScan(): Promise<void> {
    this._error = '';
    if (!(await this.scanner.open())) {
      this._error = uiText('linkDevice.noCamera');
      return;
    }
    this._scanning = true;
    await this.updateComplete;
    const video = this._video;
    if (video === null) return;
    await this.scanner.scan(video, (data) => {
      this._scanning = false;
      void this.approve(data);
    });
  }

  private stopScan(): void {
    this.scanner.stop();
    this._scanning = false;
  }

  private submit(e: Event): void {
    e.preventDefault();
    const t = (e.target as HTMLFormElement).elements.namedItem('code') as HTMLTextAreaElement;
    void this.approve(t.value);
  }

  override render(): TemplateResult {
    const available = this.session?.messenger.capabilities.has('link-device') === true;
    return html`<header class="bar">
        <a class="icon" href="#/settings" aria-label=${uiText('linkDevice.back')}>${icons.back}</a>
        <h2>${uiText('linkDevice.title')}</h2>
      </header>
      <section>
        ${
          !available
            ? html`<p role="status">${uiText('linkDevice.unavailable')}</p>`
            : html`<p class="flush">${uiText('linkDevice.how')}</p>
                <p class="muted flush">${uiText('linkDevice.warning')}</p>
                ${
                  this._scanning
                    ? html`<video
                          muted
                          playsinline
                          aria-label=${uiText('linkDevice.camera')}
                        ></video>
                        <div class="row">
                          <button type="button" @click=${this.stopScan}>
                            ${uiText('linkDevice.stopScan')}
                          </button>
                        </div>`
                    : html`<div class="row">
                        <button type="button" ?disabled=${this._busy} @click=${this.startScan}>
                          ${icons.camera} ${uiText('linkDevice.scan')}
                        </button>
                      </div>`
                }
                <form @submit=${this.submit}>
                  <label
                    >${uiText('linkDevice.code')}
                    <textarea
                      name="code"
                      rows="3"
                      spellcheck="false"
                      autocapitalize="none"
                      placeholder=${uiText('linkDevice.codePlaceholder')}
                      ?disabled=${this._busy}
                    ></textarea>
                  </label>
                  <label class="check">
                    <input type="checkbox" name="history" checked ?disabled=${this._busy} />
                    ${uiText('linkDevice.history')}
                  </label>
                  <p class="muted flush-above">${uiText('linkDevice.historyNote')}</p>
                  <div class="row">
                    <button class="primary" type="submit" ?disabled=${this._busy}>
                      ${uiText(this._busy ? 'linkDevice.busy' : 'linkDevice.submit')}
                    </button>
                  </div>
                </form>
                ${
                  this._error !== ''
                    ? html`<p class="error" role="alert">${this._error}</p>`
                    : nothing
                }
                ${
                  this._done !== ''
                    ? html`<p class="verified" role="status" data-linked>${this._done}</p>`
                    : nothing
                }`
        }
      </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'link-device': LinkDevice;
  }
}
