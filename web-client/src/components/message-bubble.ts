/**
 * `<message-bubble>`: one message — text, reply quote, image or file, reactions, edit mark,
 * time and delivery ticks — with its actions (reply, react, edit, delete for everyone,
 * download). Actions are buttons shown on hover and on keyboard focus.
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { MessageRecord } from '../services/engine-types.ts';
import { bodyText, overallStatus, previewOf, reactionGroups } from '../services/history.ts';
import type { DeliveryStatus } from '../services/messenger.ts';
import { thumbnailOf } from '../services/thumbnail.ts';
import { icons } from '../icons.ts';
import { colorFor, hueFor, shared } from '../styles.ts';
import { profileStyles } from './profile-name.ts';
import { styleProps } from './style-props.ts';
import { safeFileName } from '../services/file-name.ts';
import { isInlineImageType, type PlayableKind } from '../services/media-type.ts';
import { voiceOf, waveformLevels } from '../services/voice-note.ts';
import { linkify, lookalikeReason } from '../services/links.ts';
import { mentionPieces, mentionsOf } from '../services/mentions.ts';
import { uiText } from '../services/ui-strings.ts';
import { clockText } from '../services/locale-format.ts';
import { renderActions, type ReactDetail } from './message-actions.ts';
export { QUICK_REACTIONS, type PinDetail, type ReactDetail } from './message-actions.ts';
import './voice-note.ts';

/**
 * Let a click on a link that can pass for another site go ahead only once the user saw the
 * full address and agreed (docs/WEB.md "Links").
 */
export function confirmLookalike(e: Event, href: string): void {
  const reason = lookalikeReason(href);
  if (reason === null) return;
  const host = new URL(href).host;
  const ok = confirm(
    uiText(reason === 'punycode' ? 'link.confirmPunycode' : 'link.confirmUserinfo', {
      url: href,
      host,
    }),
  );
  if (!ok) e.preventDefault();
}

/** Tick glyph and label for a delivery status. */
export function ticks(status: DeliveryStatus): { glyph: string; label: string } {
  switch (status) {
    case 'pending':
      return { glyph: '🕓', label: uiText('status.sending') };
    case 'sent':
      return { glyph: '✓', label: uiText('status.sent') };
    case 'delivered':
      return { glyph: '✓✓', label: uiText('status.delivered') };
    case 'read':
      return { glyph: '✓✓', label: uiText('status.read') };
    case 'played':
      return { glyph: '✓✓', label: uiText('status.played') };
    case 'failed':
      return { glyph: '!', label: uiText('status.failed') };
  }
}

/** Human file size. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** File fields of a `file` message body, if it is one. */
export function fileOf(m: MessageRecord): {
  name: string;
  mime: string;
  size: number;
  thumbnail?: { url: string; width: number; height: number };
} | null {
  const { name, mime, size } = m.body;
  if (typeof name !== 'string') return null;
  const thumbnail = thumbnailOf(m.body);
  return {
    name,
    mime: typeof mime === 'string' ? mime : 'application/octet-stream',
    size: typeof size === 'number' ? size : 0,
    ...(thumbnail !== undefined ? { thumbnail } : {}),
  };
}

/** Id of the message this one replies to, if any. */
export function replyToOf(m: MessageRecord): string | undefined {
  const { replyTo } = m.body;
  return typeof replyTo === 'string' ? replyTo : undefined;
}

/**
 * One message.
 *
 * @fires reply - `CustomEvent<MessageRecord>` reply to this message
 * @fires react - `CustomEvent<ReactDetail>` add or remove a reaction
 * @fires pick-reaction - `CustomEvent<MessageRecord>` open the full emoji picker for a reaction
 * @fires edit - `CustomEvent<MessageRecord>` edit this (own) message
 * @fires delete - `CustomEvent<MessageRecord>` delete this (own) message for everyone
 * @fires report - `CustomEvent<MessageRecord>` report this (someone else's) message to the operators
 * @fires download - `CustomEvent<MessageRecord>` download and decrypt the attachment
 * @fires jump - `CustomEvent<string>` scroll to the quoted message id
 * @fires voice-played - `CustomEvent<MessageRecord>` the user started playing this voice note
 * @fires open-media - `CustomEvent<MessageRecord>` open this photo or video in the viewer
 * @fires pin - `CustomEvent<PinDetail>` pin or unpin this message
 * @fires forward - `CustomEvent<MessageRecord>` forward this message to other conversations
 */
@customElement('message-bubble')
export class MessageBubble extends LitElement {
  static override styles = [
    shared,
    profileStyles,
    css`
      .avatar.mini {
        display: inline-grid;
        width: 20px;
        height: 20px;
        font-size: 0.6rem;
        vertical-align: middle;
        margin-right: 0.3rem;
      }
      :host {
        display: flex;
        padding: 2px 0.75rem;
        container-type: inline-size;
      }
      :host([outgoing]) {
        justify-content: flex-end;
      }
      .bubble {
        position: relative;
        max-width: min(75%, 560px);
        background: var(--bubble-in);
        border-radius: 14px;
        padding: 0.4rem 0.65rem 0.3rem;
        overflow-wrap: anywhere;
      }
      :host([outgoing]) .bubble {
        background: var(--bubble-out);
      }
      .sender {
        /* The user's hue at a lightness with AA contrast on --bubble-in in each theme. */
        color: light-dark(hsl(var(--sender-hue, 220) 60% 27%), hsl(var(--sender-hue, 220) 60% 73%));
        font-size: 0.8rem;
        font-weight: 600;
        margin-bottom: 2px;
      }
      .text {
        white-space: pre-wrap;
      }
      .text a {
        color: inherit;
        text-decoration: underline;
      }
      .mention {
        font-weight: 600;
        border-radius: 4px;
        padding: 0 2px;
        background: color-mix(in srgb, var(--accent) 14%, transparent);
      }
      .mention.me {
        background: var(--warn-bg);
        color: var(--warn-fg);
        outline: 1px solid var(--warn-fg);
      }
      .deleted {
        font-style: italic;
        color: var(--fg-2);
      }
      .forwarded {
        display: flex;
        align-items: center;
        gap: 0.25rem;
        font-size: 0.75rem;
        font-style: italic;
        color: var(--fg-2);
        margin-bottom: 2px;
      }
      .forwarded svg,
      .meta [data-pinned] svg {
        width: 0.85rem;
        height: 0.85rem;
      }
      .meta {
        display: flex;
        justify-content: flex-end;
        gap: 0.3rem;
        font-size: 0.72rem;
        color: var(--fg-2);
        margin-top: 2px;
      }
      .tick.read,
      .tick.played {
        color: var(--accent);
      }
      .tick.failed {
        color: var(--danger);
      }
      .quote {
        display: block;
        width: 100%;
        text-align: left;
        border: none;
        border-left: 3px solid var(--accent);
        background: rgb(127 127 127 / 0.12);
        border-radius: 6px;
        padding: 0.25rem 0.5rem;
        margin-bottom: 0.3rem;
        font-size: 0.85rem;
        min-height: 0;
      }
      .quote b {
        display: block;
        font-size: 0.78rem;
      }
      .media {
        position: relative;
        display: block;
        padding: 0;
        border: none;
        background: none;
        min-height: 0;
        margin-bottom: 0.2rem;
        max-width: 100%;
      }
      button.media.open {
        cursor: zoom-in;
      }
      img.image,
      video.video {
        display: block;
        max-width: 100%;
        max-height: 320px;
        border-radius: 10px;
        background: var(--bg-3);
      }
      img.image {
        /* Small images (icons, a 1-pixel GIF) are not stretched and not cut: they sit at their
           own size inside a box large enough for the rounded corners, which round the box. */
        min-width: 96px;
        min-height: 64px;
        object-fit: scale-down;
      }
      .play-badge {
        position: absolute;
        inset: 0;
        margin: auto;
        width: 44px;
        height: 44px;
        border-radius: 50%;
        display: grid;
        place-items: center;
        background: rgb(0 0 0 / 0.55);
        color: #fff;
      }
      img.image[data-full='no'] {
        /* The sender's thumbnail (at most 320 px, about the size the full image will take),
           blurred and dimmed until the full image is downloaded and decrypted. */
        height: auto;
        filter: blur(4px) brightness(0.9);
        clip-path: inset(0 round 10px);
      }
      .file {
        display: flex;
        gap: 0.5rem;
        align-items: center;
      }
      .file .name {
        font-weight: 600;
      }
      progress {
        width: 100%;
      }
      .reactions {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
        margin-top: 0.25rem;
      }
      .reactions button {
        min-height: 26px;
        padding: 0 0.45rem;
        border-radius: 999px;
        font-size: 0.85rem;
      }
      .reactions button.mine {
        border-color: var(--accent);
      }
      /* The toolbar sits beside the bubble, on the side facing the middle of the list, so it
         never covers the message's text and never runs past the list's edge (a short own
         message once pushed it off the right edge and scrolled the list sideways). It shows
         while the pointer is anywhere on the row, so it stays up on the way to a button. */
      .actions {
        position: absolute;
        top: 0;
        display: none;
        gap: 2px;
        background: var(--bg);
        border: 1px solid var(--border);
        border-radius: 10px;
        padding: 2px;
        box-shadow: var(--shadow);
        z-index: 2;
        white-space: nowrap;
      }
      :host(:not([outgoing])) .actions {
        left: calc(100% + 4px);
      }
      :host([outgoing]) .actions {
        right: calc(100% + 4px);
      }
      /* A narrow list has no room beside a bubble: the toolbar goes above it, from its outer edge. */
      @container (max-width: 640px) {
        .actions {
          top: auto;
          bottom: calc(100% - 2px);
        }
        :host(:not([outgoing])) .actions {
          left: 0;
        }
        :host([outgoing]) .actions {
          right: 0;
        }
      }
      :host(:hover) .actions,
      .bubble:focus-within .actions {
        display: flex;
      }
      .actions button {
        min-height: 30px;
        min-width: 30px;
        padding: 0.15rem;
        border: none;
        background: transparent;
      }
    `,
  ];

  @property({ attribute: false }) message!: MessageRecord;
  /** Username of the signed-in user (to mark own reactions). */
  @property() me = '';
  /** Show the sender's name (groups, first of a run). */
  @property({ type: Boolean }) showSender = false;
  /** The sender as named in groups (display name, `@username`, look-alike flag; profile-name.ts). */
  @property({ attribute: false }) senderName: unknown = nothing;
  /** The sender's picture or initials, beside their name in groups. */
  @property({ attribute: false }) senderFace: unknown = nothing;
  /** The message quoted by a reply, when loaded. */
  @property({ attribute: false }) quoted: MessageRecord | undefined;
  /** Decrypted full image (object URL typed by its magic number), when loaded and raster. */
  @property() imageUrl = '';
  /**
   * The decrypted bytes are not an inline image (SVG, HTML, PDF, unknown…), whatever the sender
   * declared: a file card only, its thumbnail not shown either.
   */
  @property({ type: Boolean }) saveOnly = false;
  /** Decrypted audio or video (object URL typed by its container), when loaded and allowed. */
  @property() playUrl = '';
  /** What {@link playUrl} plays as. */
  @property() playKind: PlayableKind | '' = '';
  /** Download progress 0..1, or -1 when not downloading. */
  @property({ type: Number }) progress = -1;
  /** Which features the engine offers. */
  @property({ attribute: false }) can: ReadonlySet<string> = new Set();
  @property({ type: Boolean, reflect: true }) outgoing = false;
  /** The message is pinned in its conversation (a pin mark; the action offers Unpin). */
  @property({ type: Boolean }) pinned = false;
  /** This account may pin in the conversation (a DM, or a group where it is an admin). */
  @property({ type: Boolean }) canPin = false;

  override willUpdate(): void {
    this.outgoing = this.message.outgoing;
  }

  private fire<T>(name: string, detail: T): void {
    this.dispatchEvent(new CustomEvent<T>(name, { detail, bubbles: true, composed: true }));
  }

  private renderBody(m: MessageRecord): TemplateResult {
    if (m.deleted) return html`<div class="deleted">${uiText('bubble.deleted')}</div>`;
    const file = fileOf(m);
    const text = bodyText(m);
    const voice = voiceOf(m.body);
    if (file !== null && voice !== undefined && !this.saveOnly) {
      return html`<voice-note
          .src=${this.playKind === 'audio' ? this.playUrl : ''}
          .durationMs=${voice.durationMs}
          .levels=${waveformLevels(voice.waveform)}
          .played=${m.outgoing || Object.values(m.status).includes('played')}
          @played=${(e: Event) => {
            e.stopPropagation();
            this.fire('voice-played', m);
          }}
        ></voice-note>
        ${text !== '' ? html`<div class="text">${text}</div>` : nothing}`;
    }
    if (file !== null) {
      const full = this.imageUrl !== '';
      const name = safeFileName(file.name);
      // Inline: bytes proven raster, or (until decrypted) the sender's raster thumbnail.
      const src = full
        ? this.imageUrl
        : !this.saveOnly && isInlineImageType(file.mime)
          ? (file.thumbnail?.url ?? '')
          : '';
      const isImage = src !== '';
      const video = this.playKind === 'video' && this.playUrl !== '';
      const videoSoon =
        !video && !this.saveOnly && file.mime.startsWith('video/') && file.thumbnail !== undefined;
      return html`${
        video
          ? html`<div class="media">
              <video
                class="video"
                controls
                playsinline
                preload="metadata"
                src=${this.playUrl}
                poster=${file.thumbnail?.url ?? nothing}
                aria-label=${text || name}
              ></video>
            </div>`
          : videoSoon
            ? html`<div class="media">
                <img
                  class="image"
                  src=${file.thumbnail?.url ?? ''}
                  alt=${text || name}
                  width=${file.thumbnail?.width ?? nothing}
                  height=${file.thumbnail?.height ?? nothing}
                  data-full="no"
                />
                <span class="play-badge" role="img" aria-label=${uiText('media.videoLoading')}
                  >▶</span
                >
              </div>`
            : isImage
              ? html`<button
                  class="media open"
                  aria-label=${uiText('media.open', { name: text || name })}
                  @click=${() => this.fire('open-media', m)}
                >
                  <img
                    class="image"
                    src=${src}
                    alt=${text || name}
                    width=${full ? nothing : (file.thumbnail?.width ?? nothing)}
                    height=${full ? nothing : (file.thumbnail?.height ?? nothing)}
                    data-full=${full ? 'yes' : 'no'}
                  />
                </button>`
              : html`<div class="file" data-file-card>
                  <span aria-hidden="true">${icons.file}</span>
                  <span
                    ><span class="name">${name}</span><br /><span class="muted"
                      >${formatSize(file.size)}</span
                    ></span
                  >
                </div>`
      }
      ${
        this.progress >= 0
          ? html`<progress
              max="1"
              .value=${this.progress}
              aria-label=${uiText('bubble.downloading')}
            ></progress>`
          : nothing
      }
      ${text !== '' ? html`<div class="text">${this.renderText(text)}</div>` : nothing}`;
    }
    const pieces = mentionPieces(text, mentionsOf(m)).map((p) =>
      'user' in p
        ? html`<span
            class="mention ${p.user === this.me ? 'me' : ''}"
            data-mention=${p.user}
            title=${p.user}
            >${p.text}</span
          >`
        : this.renderText(p.text),
    );
    // On one line: `.text` keeps white space (pre-wrap), so a line break and indentation around
    // the expression showed as a blank line and an indent in every bubble.
    return html`<div class="text">${pieces}</div>`;
  }

  /** Text with its web addresses as links (opened in a new tab, without referrer or opener). */
  private renderText(text: string): unknown[] {
    return linkify(text).map((p) =>
      'href' in p
        ? html`<a
            href=${p.href}
            target="_blank"
            rel="noopener noreferrer"
            data-link
            @click=${(e: Event) => confirmLookalike(e, p.href)}
            >${p.text}</a
          >`
        : p.text,
    );
  }

  override render(): TemplateResult {
    const m = this.message;
    const status = m.outgoing ? overallStatus(m) : null;
    const t = status === null ? null : ticks(status);
    const time = clockText(m.timestamp);
    const groups = reactionGroups(m);
    const mine = m.reactions[this.me];
    const file = fileOf(m);
    const replyTo = replyToOf(m);
    const sender = m.outgoing ? uiText('bubble.you') : m.sender;
    const label =
      t === null
        ? uiText('bubble.label', { sender, time })
        : uiText('bubble.labelStatus', { sender, time, status: t.label });
    return html`<div
      class="bubble"
      role="article"
      aria-label=${label}
      tabindex="0"
      data-id=${m.id}
      data-status=${status ?? 'incoming'}
    >
      ${
        this.showSender && !m.outgoing
          ? html`<div
              class="sender"
              style=${styleProps({ '--sender-hue': String(hueFor(m.sender)) })}
            >
              <span
                class="avatar mini"
                style=${styleProps({ background: colorFor(m.sender) })}
                aria-hidden="true"
                >${this.senderFace}</span
              >${this.senderName === nothing ? m.sender : this.senderName}${
                m.senderKind === 'bot' || m.senderKind === 'bridge'
                  ? html` <span class="muted">· ${m.senderKind}</span>`
                  : nothing
              }
            </div>`
          : nothing
      }
      ${
        replyTo !== undefined && !m.deleted
          ? html`<button
              class="quote"
              aria-label=${uiText('bubble.quote')}
              @click=${() => this.fire('jump', replyTo)}
            >
              <b>${this.quoted?.sender ?? ''}</b>${
                this.quoted !== undefined ? previewOf(this.quoted) : uiText('bubble.original')
              }
            </button>`
          : nothing
      }
      ${
        m.body.forwarded === true && !m.deleted
          ? html`<div class="forwarded" data-forwarded>
              ${icons.forward} ${uiText('bubble.forwarded')}
            </div>`
          : nothing
      }
      ${this.renderBody(m)}
      ${
        groups.size > 0
          ? html`<div class="reactions" aria-label=${uiText('bubble.reactions')}>
              ${[...groups.entries()].map(
                ([emoji, users]) =>
                  html`<button
                    class=${mine === emoji ? 'mine' : ''}
                    title=${users.join(', ')}
                    aria-label=${uiText('bubble.reaction', { emoji, count: users.length, users: users.join(', ') })}
                    ?disabled=${!this.can.has('reactions') || m.deleted}
                    @click=${() =>
                      this.fire<ReactDetail>('react', {
                        message: m,
                        emoji,
                        remove: mine === emoji,
                      })}
                  >
                    ${emoji} ${users.length}
                  </button>`,
              )}
            </div>`
          : nothing
      }
      <div class="meta">
        ${this.pinned && !m.deleted ? html`<span data-pinned role="img" aria-label=${uiText('bubble.pinned')}>${icons.pin}</span>` : nothing}
        ${m.edited && !m.deleted ? html`<span>${uiText('bubble.edited')}</span>` : nothing}
        <time datetime=${new Date(m.timestamp).toISOString()}>${time}</time>
        ${
          t !== null
            ? html`<span class="tick ${status}" title=${t.label} aria-label=${t.label}
                >${t.glyph}</span
              >`
            : nothing
        }
      </div>
      ${
        m.deleted
          ? nothing
          : renderActions(m, {
              me: this.me,
              can: this.can,
              file,
              video: this.playKind === 'video' && this.playUrl !== '',
              pinned: this.pinned,
              canPin: this.canPin,
              fire: (name, detail) => this.fire(name, detail),
            })
      }
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'message-bubble': MessageBubble;
  }
}
