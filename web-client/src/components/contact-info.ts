/**
 * `<contact-info>`: a contact's safety number (60 digits in groups of five) and QR code; scan
 * the other person's QR with the camera (jsQR on the video stream) or paste it; mark verified.
 * Below it: block or unblock and report the contact (`<block-report>`). Loaded lazily with the
 * QR libraries.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import QRCode from 'qrcode';
import { sessionContext } from '../context.ts';
import type { SafetyInfo } from '../services/messenger.ts';
import type { ChatSession } from '../services/session.ts';
import { icons } from '../icons.ts';
import { infoTabs, infoTabStyles } from './conversation-media.ts';
import { colorFor, shared } from '../styles.ts';
import { avatarFace, profileStyles } from './profile-name.ts';
import { QrScanner } from '../services/qr-scanner.ts';
import { dmId } from '../services/messenger.ts';
import { styleProps } from './style-props.ts';
import './block-report.ts';
import { uiText } from '../services/ui-strings.ts';

/** "12345 67890 …": 60 digits as 12 groups of five. */
export function groupDigits(digits: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < digits.length; i += 5) out.push(digits.slice(i, i + 5));
  return out;
}

/** Contact details and verification. */
@customElement('contact-info')
export class ContactInfo extends LitElement {
  static override styles = [
    shared,
    infoTabStyles,
    profileStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        overflow-y: auto;
      }
      section {
        padding: 1rem;
        display: grid;
        gap: 0.8rem;
        justify-items: center;
        text-align: center;
      }
      .digits {
        display: grid;
        grid-template-columns: repeat(4, auto);
        gap: 0.35rem 1rem;
        font:
          1.15rem/1.5 ui-monospace,
          'SF Mono',
          Menlo,
          Consolas,
          monospace;
        letter-spacing: 0.05em;
      }
      img.qr {
        width: 220px;
        height: 220px;
        image-rendering: pixelated;
        background: #fff;
        padding: 8px;
        border-radius: 8px;
      }
      video {
        width: min(320px, 90vw);
        border-radius: 10px;
        background: #000;
      }
      .verified {
        color: var(--ok-fg);
        font-weight: 600;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        justify-content: center;
      }
      textarea {
        width: min(420px, 90vw);
      }
      .avatar.big {
        width: 72px;
        height: 72px;
        font-size: 1.8rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** The contact. */
  @property() username = '';

  @state() private _safety: SafetyInfo | undefined;
  @state() private _qr = '';
  @state() private _error = '';
  @state() private _result = '';
  /** {@link _result} reports a match (shown as verified, else as an error). */
  @state() private _match = false;
  @state() private _scanning = false;
  @state() private _paste = false;

  @query('video') private _video!: HTMLVideoElement | null;
  private readonly scanner = new QrScanner();

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('username') || changed.has('session')) void this.load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopScan();
  }

  private async load(): Promise<void> {
    const s = this.session;
    if (s === undefined || this.username === '') return;
    this._error = '';
    try {
      const safety = await s.messenger.safety(this.username);
      this._safety = safety;
      this._qr = await QRCode.toDataURL(safety.qrPayload, {
        errorCorrectionLevel: 'M',
        margin: 1,
        width: 440,
      });
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    }
  }

  private async setVerified(verified: boolean): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    await s.messenger.setVerified(this.username, verified);
    s.keyChanges.delete(this.username);
    s.dispatchEvent(new Event('live'));
    // The chat list and the DM's header show the mark: they re-read the DM.
    s.touch(dmId(this.username));
    await this.load();
  }

  private async check(payload: string): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const ok = await s.messenger.verifyScanned(this.username, payload.trim());
    this._match = ok;
    this._result = ok
      ? uiText('contactInfo.match', { user: this.username })
      : uiText('contactInfo.noMatch');
    if (ok) {
      s.keyChanges.delete(this.username);
      s.dispatchEvent(new Event('live'));
      s.touch(dmId(this.username));
    }
    await this.load();
  }

  private async startScan(): Promise<void> {
    this._result = '';
    this._match = false;
    if (!(await this.scanner.open())) {
      this._result = uiText('contactInfo.noCamera');
      this._paste = true;
      return;
    }
    this._scanning = true;
    await this.updateComplete;
    const video = this._video;
    if (video === null) return;
    await this.scanner.scan(video, (data) => {
      this._scanning = false;
      void this.check(data);
    });
  }

  private stopScan(): void {
    this.scanner.stop();
    this._scanning = false;
  }

  /**
   * The display name the contact gave themselves, as their claim under the username (the
   * identity this screen verifies), with the look-alike warning.
   */
  private calledLine(): TemplateResult | typeof nothing {
    const l = this.session?.profiles.label(this.username);
    if (l === undefined || l.handle === '') return nothing;
    return html`<div class="muted" data-contact-display-name>
      ${uiText('contactInfo.callsThemselves', { name: l.name })}${
        l.lookalike !== null
          ? html` <span class="lookalike" data-lookalike=${l.lookalike}
              >${uiText('profile.lookalike', { user: l.lookalike })}</span
            >`
          : nothing
      }
    </div>`;
  }

  override render(): TemplateResult {
    const s = this.session;
    const p = s?.presence.get(this.username);
    const safety = this._safety;
    const canSafety = s?.messenger.capabilities.has('safety') === true;
    return html`<header class="bar">
        <a
          class="icon"
          href="#/c/${encodeURIComponent(dmId(this.username))}"
          aria-label=${uiText('common.backToConversation')}
          >${icons.back}</a
        >
        <h2>${uiText('convHeader.contactInfo')}</h2>
      </header>
      ${infoTabs(dmId(this.username), 'info')}
      <section>
        <span
          class="avatar big"
          style=${styleProps({ background: colorFor(this.username) })}
          aria-hidden="true"
          >${avatarFace(this.session, this.username)}</span
        >
        <div>
          <strong data-contact-username>${this.username}</strong>
          ${this.calledLine()}
          ${
            safety?.verified === true
              ? html`<span class="verified" data-verified> ${uiText('contactInfo.verified')}</span>`
              : nothing
          }
          <div class="muted">${p?.online === true ? uiText('list.online') : ''}</div>
        </div>
        ${
          !canSafety
            ? html`<p class="muted">${uiText('contactInfo.safetyUnavailable')}</p>`
            : this._error !== ''
              ? html`<p class="error" role="alert">${this._error}</p>`
              : safety === undefined
                ? html`<p class="muted" role="status">${uiText('contactInfo.computing')}</p>`
                : html`<h3 class="flush">${uiText('contactInfo.safetyNumber')}</h3>
                    <p class="muted flush narrow">
                      ${uiText('contactInfo.compareHint', { user: this.username })}
                    </p>
                    <div
                      class="digits"
                      aria-label=${uiText('contactInfo.safetyNumber')}
                      data-safety=${safety.digits}
                    >
                      ${groupDigits(safety.digits).map((g) => html`<span>${g}</span>`)}
                    </div>
                    ${
                      this._qr !== ''
                        ? html`<img
                            class="qr"
                            src=${this._qr}
                            alt=${uiText('contactInfo.qrAlt')}
                          />`
                        : nothing
                    }
                    ${
                      this._scanning
                        ? html`<video
                              muted
                              playsinline
                              aria-label=${uiText('contactInfo.camera')}
                            ></video>
                            <button @click=${this.stopScan}>
                              ${uiText('contactInfo.stopScan')}
                            </button>`
                        : html`<div class="row">
                            <button @click=${this.startScan}>
                              ${icons.camera} ${uiText('contactInfo.scan')}
                            </button>
                            <button @click=${() => (this._paste = !this._paste)}>
                              ${uiText('contactInfo.paste')}
                            </button>
                            ${
                              safety.verified
                                ? html`<button @click=${() => this.setVerified(false)}>
                                    ${uiText('contactInfo.clearVerified')}
                                  </button>`
                                : html`<button
                                    class="primary"
                                    @click=${() => this.setVerified(true)}
                                  >
                                    ${uiText('contactInfo.markVerified')}
                                  </button>`
                            }
                          </div>`
                    }
                    ${
                      this._paste
                        ? html`<form
                            class="row"
                            @submit=${(e: Event) => {
                              e.preventDefault();
                              const t = (e.target as HTMLFormElement).elements.namedItem(
                                'code',
                              ) as HTMLTextAreaElement;
                              void this.check(t.value);
                            }}
                          >
                            <textarea
                              name="code"
                              rows="3"
                              aria-label=${uiText('contactInfo.theirCode')}
                              placeholder=${uiText('contactInfo.pastePlaceholder', { user: this.username })}
                            ></textarea>
                            <button type="submit">${uiText('contactInfo.compare')}</button>
                          </form>`
                        : nothing
                    }
                    ${
                      this._result !== ''
                        ? html`<p role="alert" class=${this._match ? 'verified' : 'error'}>
                            ${this._result}
                          </p>`
                        : nothing
                    }
                    <details>
                      <summary>${uiText('contactInfo.codeAsText')}</summary>
                      <code class="break-all" data-qr-payload>${safety.qrPayload}</code>
                    </details>`
        }
      </section>
      <section aria-label=${uiText('contactInfo.blockSection', { user: this.username })}>
        <h3 class="flush">${uiText('contactInfo.blockHeading')}</h3>
        <block-report .username=${this.username} mode="full"></block-report>
      </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'contact-info': ContactInfo;
  }
}
