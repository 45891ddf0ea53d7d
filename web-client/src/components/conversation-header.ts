/**
 * `<conversation-header>`: the bar above a conversation — back to the chat list (narrow
 * screens), avatar with an online dot, the title with a bot/bridge badge, a live subtitle
 * (typing, online, last seen, member count), the voice and video call buttons and the link to
 * contact info or group settings.
 *
 * @fires call-start - `{ conversationId, media: 'audio' | 'video' }`, bubbling out of the shadow
 *   tree to `<sotto-app>`, which owns the call manager.
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { icons } from '../icons.ts';
import { uiText } from '../services/ui-strings.ts';
import { colorFor, shared } from '../styles.ts';
import { styleProps } from './style-props.ts';
import { avatarFace, profileStyles, userName } from './profile-name.ts';
import type { ChatSession } from '../services/session.ts';

/** Header of one conversation. Presentational: `<conversation-view>` sets every field. */
@customElement('conversation-header')
export class ConversationHeader extends LitElement {
  static override styles = [
    shared,
    profileStyles,
    css`
      :host {
        display: block;
      }
      .tag {
        font-size: 0.7rem;
        font-weight: 600;
        border: 1px solid var(--border);
        border-radius: 999px;
        padding: 0 0.45rem;
        vertical-align: middle;
        color: var(--fg-2);
      }
      .verified {
        color: var(--ok-fg);
        font-size: 0.9rem;
      }
      .sub {
        display: block;
        font-size: 0.8rem;
        font-weight: 400;
        color: var(--fg-2);
      }
      a.icon.back {
        display: none;
      }
      @media (max-width: 759px) {
        a.icon.back {
          display: inline-grid;
        }
      }
    `,
  ];

  /** `dm:{user}` or `group:{id}` (for the info link). */
  @property() conversationId = '';
  /** Peer username or group name. */
  @property() heading = '';
  /** A DM's session, for the peer's display name and picture (profile-name.ts); unset for groups. */
  @property({ attribute: false }) session: ChatSession | undefined;
  @property({ type: Boolean }) group = false;
  /** `bot` or `bridge` when the peer says it is one; empty otherwise. */
  @property() badge = '';
  @property({ type: Boolean }) online = false;
  /** The DM's contact is verified (safety number compared). */
  @property({ type: Boolean }) verified = false;
  /** Typing, presence or member count. */
  @property() subtitle = '';
  /** Calls are possible here (a DM, or a group of at most four we are in). */
  @property({ type: Boolean }) canCall = false;

  private call(media: 'audio' | 'video'): void {
    this.dispatchEvent(
      new CustomEvent('call-start', {
        detail: { conversationId: this.conversationId, media },
        bubbles: true,
        composed: true,
      }),
    );
  }

  override render(): TemplateResult {
    const title = this.heading;
    return html`<header class="bar">
      <a class="icon back" href="#/" aria-label=${uiText('common.backToChats')}>${icons.back}</a>
      <span class="avatar" style=${styleProps({ background: colorFor(title) })} aria-hidden="true"
        >${this.group ? '#' : avatarFace(this.session, title)}${
          this.online ? html`<span class="dot"></span>` : nothing
        }</span
      >
      <h2>
        ${this.group ? title : userName(this.session, title)}${
          this.verified
            ? html` <span class="verified" data-verified title=${uiText('a11y.verified')}
                ><span aria-hidden="true">✓</span
                ><span class="sr-only">${uiText('a11y.verified')}</span></span
              >`
            : nothing
        }${this.badge !== '' ? html` <span class="tag" data-badge>${this.badge}</span>` : nothing}
        <span class="sub" aria-live="polite" data-subtitle>${this.subtitle}</span>
      </h2>
      ${
        this.canCall
          ? html`<button
                class="icon"
                type="button"
                data-call="audio"
                aria-label=${uiText('call.startVoice')}
                title=${uiText('call.startVoice')}
                @click=${() => this.call('audio')}
              >
                ${icons.phone}
              </button>
              <button
                class="icon"
                type="button"
                data-call="video"
                aria-label=${uiText('call.startVideo')}
                title=${uiText('call.startVideo')}
                @click=${() => this.call('video')}
              >
                ${icons.video}
              </button>`
          : nothing
      }
      <slot name="actions"></slot>
      <a
        class="icon"
        href="#/c/${encodeURIComponent(this.conversationId)}/info"
        aria-label=${uiText(this.group ? 'convHeader.groupSettings' : 'convHeader.contactInfoLabel')}
        title=${uiText(this.group ? 'convHeader.groupSettings' : 'convHeader.contactInfo')}
        >${icons.info}</a
      >
    </header>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'conversation-header': ConversationHeader;
  }
}
