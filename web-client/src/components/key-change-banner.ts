/**
 * `<key-change-banner>`: shown in a conversation when a contact's identity key changed. For a
 * contact the user had verified it is blocking (sending is paused until they review the new
 * safety number or accept it); for an unverified contact it is a dismissible notice. When the
 * engine holds messages the verified contact sent under the new key (`held`), it says how many
 * and that they appear once the new key is accepted (the engine's `HELD_KEY_CHANGE`).
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { ChatSession } from '../services/session.ts';
import { banner, shared } from '../styles.ts';
import { dmId } from '../services/messenger.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';

/**
 * Key-change warning for one contact.
 *
 * @fires key-accepted - `CustomEvent<string>` the user accepted the new key of `username`
 */
@customElement('key-change-banner')
export class KeyChangeBanner extends LitElement {
  static override styles = [
    shared,
    banner,
    css`
      .banner {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
      }
      p {
        flex: 1 1 240px;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** Contact whose key changed. */
  @property() username = '';
  /** The contact was verified before the change: blocking. */
  @property({ type: Boolean }) verified = false;
  /** Conversation the banner is shown in (for the review link). */
  @property() conversationId = '';
  /** Messages from the contact held until the new key is accepted (verified contacts only). */
  @property({ type: Number }) held = 0;

  @state() private _busy = false;

  private async accept(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    this._busy = true;
    try {
      await s.messenger.acceptKeyChange(this.username);
      s.keyAccepted(this.username);
      this.dispatchEvent(
        new CustomEvent<string>('key-accepted', {
          detail: this.username,
          bubbles: true,
          composed: true,
        }),
      );
    } finally {
      this._busy = false;
    }
  }

  private renderHeld(review: string): TemplateResult {
    const u = this.username;
    const n = this.held;
    return html`<div class="banner danger" role="alert" data-held=${n}>
      <p>
        <strong>${uiPlural('keyChange.held', n, { user: u })}</strong>
        ${uiText('keyChange.heldAdvice')}
      </p>
      <button
        aria-label=${uiText('keyChange.reviewLabel', { user: u })}
        @click=${() => (location.hash = review)}
      >
        ${uiText('keyChange.review')}
      </button>
      <button
        ?disabled=${this._busy}
        aria-label=${uiText('keyChange.acceptLabel', { user: u })}
        @click=${this.accept}
      >
        ${uiText('keyChange.accept')}
      </button>
    </div>`;
  }

  override render(): TemplateResult {
    const review = `#/c/${encodeURIComponent(dmId(this.username))}/info`;
    if (this.held > 0) return this.renderHeld(review);
    return html`<div
      class=${this.verified ? 'banner danger' : 'banner'}
      role=${this.verified ? 'alert' : 'status'}
    >
      <p>
        ${
          this.verified
            ? html`<strong>${uiText('keyChange.verified', { user: this.username })}</strong>
                ${uiText('keyChange.verifiedAdvice', { user: this.username })}`
            : uiText('keyChange.plain', { user: this.username })
        }
      </p>
      <a href=${review}>${uiText('common.reviewSafetyNumber')}</a>
      <button ?disabled=${this._busy} @click=${this.accept}>
        ${uiText(this.verified ? 'keyChange.acceptKey' : 'keyChange.ok')}
      </button>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'key-change-banner': KeyChangeBanner;
  }
}
