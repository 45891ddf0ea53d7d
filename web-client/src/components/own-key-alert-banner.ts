/**
 * `<own-key-alert-banner>`: shown across the whole app when the key-transparency log lists an
 * entry under the user's own username that none of their devices made (the engine's
 * `ownKeyAlert`, docs/SECURITY.md "Key transparency and own-key monitoring"): someone, or the
 * key server itself, registered a device or an identity key as them. It says what was seen,
 * what it means and what to do, and stays (also across reloads) until "I understand".
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { OwnKeyAlertNotice } from '../services/messenger.ts';
import type { ChatSession } from '../services/session.ts';
import { banner, shared } from '../styles.ts';
import { uiPieces, uiText } from '../services/ui-strings.ts';
import { dateTimeText } from '../services/locale-format.ts';

/** One alert as a sentence: what the log entry is, its index, and when this browser saw it. */
export function describeOwnKeyAlert(a: OwnKeyAlertNotice): TemplateResult {
  const device = html`<code>${a.deviceId ?? uiText('ownKey.unknownDevice')}</code>`;
  const key = html`<code>${a.uik.slice(0, 12)}…</code>`;
  const what =
    a.reason === 'badCertificate'
      ? uiPieces('ownKey.badCertificate', { device })
      : uiPieces(a.deviceId !== null ? 'ownKey.foreignDevice' : 'ownKey.foreign', { key, device });
  const entry = uiText('ownKey.entry', { index: a.logIndex, time: dateTimeText(a.seenAt) });
  return html`${what} <span class="meta">${entry}</span>`;
}

/**
 * Warning about key-log entries under our own username that this account did not make.
 *
 * @fires own-key-alerts-acknowledged - `CustomEvent<number[]>` the user dismissed the alerts of
 *   these log entries
 */
@customElement('own-key-alert-banner')
export class OwnKeyAlertBanner extends LitElement {
  static override styles = [
    shared,
    banner,
    css`
      .banner {
        padding: 0.75rem 1rem;
        max-height: 60vh;
        overflow: auto;
      }
      h2 {
        font-size: 1.05rem;
        margin: 0 0 0.4rem;
      }
      .banner p,
      ul,
      ol {
        margin: 0.3rem 0;
      }
      ul,
      ol {
        padding-left: 1.3rem;
      }
      li {
        margin: 0.15rem 0;
      }
      code {
        background: rgb(0 0 0 / 0.2);
        padding: 0 0.25rem;
        border-radius: 4px;
        overflow-wrap: anywhere;
      }
      .meta {
        opacity: 0.9;
        font-size: 0.9em;
      }
      button {
        margin-top: 0.4rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _busy = false;

  private readonly onLive = (): void => this.requestUpdate();

  protected readonly events = new SessionEvents(this, () => this.session, { live: this.onLive });

  private async acknowledge(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const shown = s.ownKeyAlerts.map((a) => a.logIndex);
    this._busy = true;
    try {
      await s.acknowledgeOwnKeyAlerts(shown);
    } catch (err) {
      // Gone from the screen anyway; it may come back after a reload, which errs safely.
      console.warn('could not forget the own-key alerts', err);
    } finally {
      this._busy = false;
    }
    this.dispatchEvent(
      new CustomEvent<number[]>('own-key-alerts-acknowledged', {
        detail: shown,
        bubbles: true,
        composed: true,
      }),
    );
  }

  override render(): TemplateResult | typeof nothing {
    const alerts = this.session?.ownKeyAlerts ?? [];
    if (alerts.length === 0) return nothing;
    const reset = alerts.some((a) => a.reason === 'foreignIdentityKey');
    return html`<section class="banner danger" role="alert" aria-labelledby="own-key-title">
      <h2 id="own-key-title">${uiText('ownKey.title')}</h2>
      <ul>
        ${alerts.map((a) => html`<li>${describeOwnKeyAlert(a)}</li>`)}
      </ul>
      <p>${uiText('ownKey.explain')} ${reset ? uiText('ownKey.ownReset') : nothing}</p>
      <p><strong>${uiText('ownKey.todo')}</strong></p>
      <ol>
        <li>
          ${uiPieces('ownKey.step1', {
            link: html`<a href="#/settings">${uiText('ownKey.step1Link')}</a>`,
          })}
        </li>
        <li>
          ${uiPieces('ownKey.step2', {
            link: html`<a href="#/settings" data-change-password>${uiText('ownKey.step2Link')}</a>`,
          })}
        </li>
        <li>
          ${uiPieces('ownKey.step3', {
            link: html`<a href="#/settings" data-reset-identity>${uiText('ownKey.step3Link')}</a>`,
          })}
        </li>
      </ol>
      <button ?disabled=${this._busy} @click=${this.acknowledge}>${uiText('ownKey.ack')}</button>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'own-key-alert-banner': OwnKeyAlertBanner;
  }
}
