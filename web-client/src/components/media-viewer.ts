/**
 * `<media-viewer>`: a conversation's photos and videos full size, one at a time — previous /
 * next by buttons, the arrow keys or a horizontal swipe, Escape or the close button to leave,
 * and "Download" (the decrypted bytes as `application/octet-stream` under the sanitised name,
 * like a bubble's download). Items are decrypted on demand into the session's `media` and judged
 * by their bytes (services/media-type.ts): what is neither a proven raster image nor an allowed
 * video is offered as a download only.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { MessageRecord } from '../services/engine-types.ts';
import type { ChatSession } from '../services/session.ts';
import {
  announcedKind,
  decryptedMedia,
  saveUrlOf,
  type DecryptedMedia,
} from '../services/media-type.ts';
import { safeFileName } from '../services/file-name.ts';
import { uiText } from '../services/ui-strings.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';
import { fileOf } from './message-bubble.ts';

/** A horizontal swipe longer than this (px) moves to the previous / next item. */
export const SWIPE_PX = 50;

/**
 * Full-size viewer over `items`.
 *
 * @fires close - the user closed the viewer
 */
@customElement('media-viewer')
export class MediaViewer extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        position: fixed;
        inset: 0;
        z-index: 50;
        display: flex;
        flex-direction: column;
        background: rgb(0 0 0 / 0.92);
        color: #fff;
        touch-action: pan-y;
      }
      .dialog {
        display: contents;
      }
      header {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.5rem;
      }
      header .title {
        flex: 1;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      header button,
      .nav {
        color: #fff;
        background: rgb(255 255 255 / 0.12);
        border-color: transparent;
      }
      .stage {
        flex: 1;
        display: flex;
        align-items: center;
        justify-content: center;
        min-height: 0;
        gap: 0.5rem;
        padding: 0 0.5rem 0.75rem;
      }
      .item {
        flex: 1;
        display: flex;
        align-items: center;
        justify-content: center;
        min-width: 0;
        height: 100%;
      }
      .item img,
      .item video {
        max-width: 100%;
        max-height: 100%;
        object-fit: contain;
      }
      .item img[data-full='no'] {
        filter: blur(6px);
      }
      .nav {
        min-width: 44px;
        min-height: 44px;
        border-radius: 50%;
      }
    `,
  ];

  @property({ attribute: false }) session: ChatSession | undefined;
  /** The conversation's photos and videos, oldest first. */
  @property({ attribute: false }) items: readonly MessageRecord[] = [];
  /** Index of the item shown. */
  @property({ type: Number }) index = 0;

  @state() private _loading = false;
  private swipeFrom: number | undefined;
  private readonly onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.preventDefault();
      this.close();
    } else if (e.key === 'ArrowLeft') this.step(-1);
    else if (e.key === 'ArrowRight') this.step(1);
  };

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('keydown', this.onKey);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('keydown', this.onKey);
  }

  override firstUpdated(): void {
    this.renderRoot.querySelector<HTMLButtonElement>('button.close')?.focus();
  }

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('index') || changed.has('items')) void this.load();
  }

  private get current(): MessageRecord | undefined {
    return this.items[this.index];
  }

  private async load(): Promise<void> {
    const s = this.session;
    const m = this.current;
    if (s === undefined || m === undefined || s.media.has(m.id)) return;
    this._loading = true;
    try {
      const media = await decryptedMedia(await s.messenger.downloadFile(m), announcedKind(m.body));
      if (!s.media.has(m.id)) s.media.set(m.id, media);
    } catch {
      // Not downloadable now: the thumbnail (if any) stays, Download says why on retry.
    } finally {
      this._loading = false;
    }
  }

  private step(by: number): void {
    const next = this.index + by;
    if (next < 0 || next >= this.items.length) return;
    this.renderRoot.querySelector('video')?.pause();
    this.index = next;
  }

  private close(): void {
    this.renderRoot.querySelector('video')?.pause();
    this.dispatchEvent(new CustomEvent('close', { bubbles: true, composed: true }));
  }

  private async download(): Promise<void> {
    const s = this.session;
    const m = this.current;
    const file = m !== undefined ? fileOf(m) : null;
    if (s === undefined || m === undefined || file === null) return;
    let media: DecryptedMedia | undefined = s.media.get(m.id);
    if (media === undefined) {
      media = await decryptedMedia(await s.messenger.downloadFile(m), announcedKind(m.body));
      s.media.set(m.id, media);
    }
    const a = document.createElement('a');
    a.href = saveUrlOf(media);
    a.download = safeFileName(file.name);
    a.rel = 'noopener';
    a.click();
  }

  private onPointerDown(e: PointerEvent): void {
    if (e.pointerType !== 'mouse') this.swipeFrom = e.clientX;
  }

  private onPointerUp(e: PointerEvent): void {
    const from = this.swipeFrom;
    this.swipeFrom = undefined;
    if (from === undefined) return;
    const dx = e.clientX - from;
    if (dx > SWIPE_PX) this.step(-1);
    else if (dx < -SWIPE_PX) this.step(1);
  }

  private renderItem(m: MessageRecord): TemplateResult {
    const file = fileOf(m);
    const name = file !== null ? safeFileName(file.name) : '';
    const media = this.session?.media.get(m.id);
    if (media?.inlineUrl !== undefined)
      return html`<img src=${media.inlineUrl} alt=${name} data-full="yes" />`;
    if (media?.playUrl !== undefined && media.playKind === 'video')
      return html`<video
        controls
        playsinline
        src=${media.playUrl}
        poster=${file?.thumbnail?.url ?? nothing}
        aria-label=${name}
      ></video>`;
    if (media !== undefined)
      return html`<p role="status">${uiText('viewer.notShown', { name })}</p>`;
    return file?.thumbnail !== undefined
      ? html`<img src=${file.thumbnail.url} alt=${name} data-full="no" />`
      : html`<p role="status">${uiText('viewer.loading')}</p>`;
  }

  override render(): TemplateResult {
    const m = this.current;
    const file = m !== undefined ? fileOf(m) : null;
    const n = this.items.length;
    return html`<div
      role="dialog"
      aria-modal="true"
      aria-label=${uiText('viewer.label')}
      class="dialog"
    >
      <header>
        <span class="title" data-position="${this.index + 1}/${n}"
          >${file !== null ? safeFileName(file.name) : ''} ·
          ${uiText('viewer.position', { index: this.index + 1, count: n })}</span
        >
        <button
          class="icon"
          aria-label=${uiText('viewer.download')}
          title=${uiText('viewer.download')}
          ?disabled=${m === undefined}
          @click=${this.download}
        >
          ${icons.download}
        </button>
        <button
          class="icon close"
          aria-label=${uiText('viewer.close')}
          title=${uiText('viewer.close')}
          @click=${this.close}
        >
          ${icons.close}
        </button>
      </header>
      <div class="stage" @pointerdown=${this.onPointerDown} @pointerup=${this.onPointerUp}>
        <button
          class="nav"
          aria-label=${uiText('viewer.previous')}
          ?disabled=${this.index <= 0}
          @click=${() => this.step(-1)}
        >
          ‹
        </button>
        <div class="item" aria-busy=${this._loading ? 'true' : 'false'}>
          ${m !== undefined ? this.renderItem(m) : nothing}
        </div>
        <button
          class="nav"
          aria-label=${uiText('viewer.next')}
          ?disabled=${this.index >= n - 1}
          @click=${() => this.step(1)}
        >
          ›
        </button>
      </div>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'media-viewer': MediaViewer;
  }
}
