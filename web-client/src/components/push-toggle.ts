/**
 * `<push-toggle>`: the "Notify me when Sotto is closed" switch of Settings → Notifications
 * (docs/WEB.md "Installable app and notifications"). On: this browser subscribes to wake-up
 * pushes; the service worker then fetches and decrypts what arrived and notifies like the page
 * does — or only "New message" while the app lock is on (docs/SECURITY.md "Web Push").
 */
import { LitElement, css, html } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import {
  disablePush,
  enablePush,
  pushEnabled,
  pushSupported,
  type PushPort,
} from '../services/app-worker.ts';
import { uiText } from '../services/ui-strings.ts';

@customElement('push-toggle')
export class PushToggle extends LitElement {
  static override styles = css`
    label {
      display: flex;
      gap: 0.5rem;
      align-items: center;
    }
    .error {
      color: var(--danger, #b00020);
    }
    .muted {
      color: var(--muted, #666);
    }
  `;

  /** The key server's push routes (the messenger's `push` port). */
  @property({ attribute: false }) port: PushPort | undefined;

  @state() private _on = false;
  @state() private _busy = false;
  @state() private _error = '';

  override connectedCallback(): void {
    super.connectedCallback();
    void pushEnabled().then((on) => (this._on = on));
  }

  private readonly toggle = async (e: Event): Promise<void> => {
    const want = (e.target as HTMLInputElement).checked;
    const port = this.port;
    if (port === undefined) return;
    this._busy = true;
    this._error = '';
    try {
      if (want) await enablePush(port);
      else await disablePush(port);
      this._on = want;
    } catch (err) {
      this._on = await pushEnabled();
      this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  };

  override render() {
    if (!pushSupported()) return html`<p class="muted">${uiText('push.unsupported')}</p>`;
    return html`<label>
        <input
          type="checkbox"
          name="push"
          .checked=${this._on}
          ?disabled=${this._busy}
          @change=${this.toggle}
        />
        ${uiText('push.label')}
      </label>
      ${this._error ? html`<p class="error" role="alert">${this._error}</p>` : ''}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'push-toggle': PushToggle;
  }
}
