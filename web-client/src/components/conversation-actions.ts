/**
 * `<conversation-actions>`: the conversation's own switches in its header — notifications
 * (on, muted for 1 hour, 8 hours, or until unmuted) and archive. A native `<select>` and a
 * toggle button: both keyboard-operable with their names, no custom menu to get wrong. In a DM,
 * Block / Unblock the contact too (`<block-report mode="menu">`, confirmed before blocking).
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { MuteDuration } from '../services/conversation-prefs.ts';
import type { ChatSession } from '../services/session.ts';
import { uiText } from '../services/ui-strings.ts';
import { shared } from '../styles.ts';
import { momentLabel } from './time-labels.ts';
import { parseConversationId } from '../services/messenger.ts';
import './block-report.ts';

/** Mute and archive one conversation. */
@customElement('conversation-actions')
export class ConversationActions extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        gap: 0.35rem;
        align-items: center;
      }
      select {
        max-width: 11rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** `dm:{user}` or `group:{id}`. */
  @property() conversationId = '';

  protected readonly events = new SessionEvents(this, () => this.session, {
    live: () => this.requestUpdate(),
  });

  private onMute(e: Event): void {
    const v = (e.target as HTMLSelectElement).value;
    void this.session?.prefs.mute(this.conversationId, v === 'on' ? null : (v as MuteDuration));
  }

  /** The other user of a DM; empty in a group. */
  private peer(): string {
    if (this.conversationId === '') return '';
    const { kind, ref } = parseConversationId(this.conversationId);
    return kind === 'dm' ? ref : '';
  }

  override render(): TemplateResult {
    const prefs = this.session?.prefs;
    const until = prefs?.mutedUntil(this.conversationId) ?? 0;
    const archived = prefs?.isArchived(this.conversationId) === true;
    return html`<select aria-label=${uiText('mute.label')} data-mute @change=${this.onMute}>
        <option value="on" ?selected=${until === 0}>${uiText('mute.off')}</option>
        ${
          until > 0
            ? html`<option value="keep" selected disabled>
                ${uiText('mute.until', { time: momentLabel(until) })}
              </option>`
            : ''
        }
        <option value="1h">${uiText('mute.1h')}</option>
        <option value="8h">${uiText('mute.8h')}</option>
        <option value="forever" ?selected=${until === -1}>${uiText('mute.forever')}</option>
      </select>
      <button
        type="button"
        aria-pressed=${archived ? 'true' : 'false'}
        data-archive
        @click=${() => void prefs?.archive(this.conversationId, !archived)}
      >
        ${archived ? uiText('archive.undo') : uiText('archive.do')}
      </button>
      ${this.peer() !== '' ? html`<block-report .username=${this.peer()} mode="menu"></block-report>` : ''}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'conversation-actions': ConversationActions;
  }
}
