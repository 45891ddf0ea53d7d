/**
 * `<link-device>`: link another device to this account. Only offered when the engine supports
 * device linking (capability `link-device`); otherwise it says so plainly.
 */
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { ChatSession } from '../services/session.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';

/** Device linking. */
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
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  override render(): TemplateResult {
    const available = this.session?.messenger.capabilities.has('link-device') === true;
    return html`<header class="bar">
        <a class="icon" href="#/settings" aria-label="Back to settings">${icons.back}</a>
        <h2>Link a device</h2>
      </header>
      <section>
        ${
          available
            ? html`<p>Open Sotto on the new device and choose “Log in”.</p>`
            : html`<p role="status">
                Linking another device is not available in this version yet. You can log in with
                your username and password on another browser; it becomes a new device of your
                account with its own keys.
              </p>`
        }
      </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'link-device': LinkDevice;
  }
}
