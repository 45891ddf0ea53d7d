/**
 * `<notification-settings>`: Settings → Notifications. Desktop notifications (the browser's
 * permission), notifications while Sotto is closed (`<push-toggle>`), "hide message content"
 * (the conversation's name and "New message" only, for the page's notifications and the service
 * worker's alike) and the chime (docs/WEB.md "Notifications").
 */
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { ChatSession } from '../services/session.ts';
import { HIDE_CONTENT_SETTING } from '../services/notify-rules.ts';
import { checkRow, shared } from '../styles.ts';
import { uiText } from '../services/ui-strings.ts';
import './push-toggle.ts';

@customElement('notification-settings')
export class NotificationSettings extends LitElement {
  static override styles = [
    shared,
    checkRow,
    css`
      :host {
        display: grid;
        gap: 0.6rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _sound = false;
  @state() private _hideContent = false;
  /** The hide-content choice is being written (the switch waits for it). */
  @state() private _savingHide = false;
  @state() private _notify: NotificationPermission | 'unsupported' =
    typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;

  override firstUpdated(): void {
    void this.load();
  }

  private async load(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    this._sound = (await s.history.setting('sound', false)) === true;
    this._hideContent = (await s.history.setting(HIDE_CONTENT_SETTING, false)) === true;
  }

  private readonly askNotifications = async (): Promise<void> => {
    if (typeof Notification === 'undefined') return;
    this._notify = await Notification.requestPermission();
  };

  private readonly changeHideContent = async (e: Event): Promise<void> => {
    this._hideContent = (e.target as HTMLInputElement).checked;
    this._savingHide = true;
    try {
      await this.session?.setHideContent(this._hideContent);
    } catch (err) {
      console.warn('could not save the notification setting', err);
    } finally {
      this._savingHide = false;
    }
  };

  private permission(): TemplateResult {
    switch (this._notify) {
      case 'unsupported':
        return html`<p class="muted">${uiText('notifySettings.unsupported')}</p>`;
      case 'granted':
        return html`<p class="muted">${uiText('notifySettings.granted')}</p>`;
      case 'denied':
        return html`<p class="muted">${uiText('notifySettings.denied')}</p>`;
      default:
        return html`<div>
          <button @click=${this.askNotifications}>${uiText('notifySettings.turnOn')}</button>
        </div>`;
    }
  }

  override render(): TemplateResult {
    return html`${this.permission()}
      <push-toggle .port=${this.session?.messenger.push}></push-toggle>
      <label class="check">
        <input
          type="checkbox"
          name="hide-content"
          .checked=${this._hideContent}
          ?disabled=${this._savingHide}
          @change=${this.changeHideContent}
        />
        <span
          >${uiText('notifySettings.hideContent')}<br /><span class="muted"
            >${uiText('notifySettings.hideContentHint')}</span
          ></span
        >
      </label>
      <label class="check">
        <input
          type="checkbox"
          name="sound"
          .checked=${this._sound}
          @change=${(e: Event) => {
            this._sound = (e.target as HTMLInputElement).checked;
            void this.session?.setSound(this._sound);
          }}
        />
        <span
          >${uiText('notifySettings.sound')}<br /><span class="muted"
            >${uiText('notifySettings.soundHint')}</span
          ></span
        >
      </label>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'notification-settings': NotificationSettings;
  }
}
