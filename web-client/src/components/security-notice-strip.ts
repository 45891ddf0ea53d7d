/**
 * `<security-notice-strip>`: the quiet security notices of one place — a conversation, or the
 * whole app for notices about this account. Each says what the engine saw and already did (a
 * forged message dropped, prekeys replenished, a flood cut off): nothing for the user to
 * decide, so it is a dismissible strip, not a message bubble and not an alert. Repeats of the
 * same notice are one line with a count (`ChatSession.securityNotices`).
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { ChatSession, SecurityNoticeEntry } from '../services/session.ts';
import { shared } from '../styles.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';

/** One notice as a sentence (what was seen and what the engine did about it). */
export function describeNotice(n: SecurityNoticeEntry): string {
  const user = n.user;
  switch (n.code) {
    case 'UNLISTED_DEVICE':
      return uiText('notice.unlistedDevice', { user });
    case 'FOREIGN_OWN_DEVICE':
      return n.device !== null
        ? uiText('notice.foreignOwnDeviceNamed', { device: n.device })
        : uiText('notice.foreignOwnDevice');
    case 'FORGED_GROUP_CHANGE':
      return uiText('notice.forgedGroupChange', { user });
    case 'SENDER_FLOOD':
      return n.dropped > 0
        ? uiPlural('notice.senderFloodDropped', n.dropped, { user })
        : uiText('notice.senderFlood', { user });
    case 'PREKEYS_DRAINED':
      return uiText('notice.prekeysDrained');
    case 'HELD_KEY_CHANGE':
      return uiText('notice.heldKeyChange', { user });
    case 'GROUP_FORKED':
      return uiText('notice.groupForked');
    case 'FORGED_RENAME':
      return uiText('notice.forgedRename', { user });
  }
}

/** The notice's sentence, with "(2 times)" after a repeated one. */
function noticeLine(n: SecurityNoticeEntry): string {
  const text = describeNotice(n);
  return n.times > 1 ? uiText('notice.times', { text, count: n.times }) : text;
}

/**
 * The undismissed security notices of `scope`.
 *
 * @fires notice-dismissed - `CustomEvent<string>` the user dismissed the notice with this key
 */
@customElement('security-notice-strip')
export class SecurityNoticeStrip extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: flex;
        gap: 0.5rem;
        align-items: center;
        padding: 0.35rem 0.8rem;
        background: var(--bg-2);
        color: var(--fg-2);
        border-bottom: 1px solid var(--border);
        font-size: 0.88rem;
      }
      li::before {
        content: '🛡';
        flex: none;
      }
      p {
        flex: 1;
        margin: 0;
      }
      button {
        min-height: 28px;
        padding: 0.15rem 0.6rem;
        font-size: 0.85rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** A conversation id, or `'app'` for the notices about this account. */
  @property() scope = 'app';

  private readonly onLive = (): void => this.requestUpdate();

  protected readonly events = new SessionEvents(this, () => this.session, { live: this.onLive });

  private dismiss(key: string): void {
    this.session?.dismissNotice(key);
    this.dispatchEvent(
      new CustomEvent<string>('notice-dismissed', { detail: key, bubbles: true, composed: true }),
    );
  }

  override render(): TemplateResult | typeof nothing {
    const notices = this.session?.noticesFor(this.scope) ?? [];
    if (notices.length === 0) return nothing;
    return html`<ul role="status" aria-label=${uiText('notice.list')}>
      ${notices.map(
        (n) =>
          html`<li data-notice=${n.code} data-times=${n.times}>
            <p>${noticeLine(n)}</p>
            <button aria-label=${uiText('notice.dismissLabel')} @click=${() => this.dismiss(n.key)}>
              ${uiText('notice.dismiss')}
            </button>
          </li>`,
      )}
    </ul>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'security-notice-strip': SecurityNoticeStrip;
  }
}
