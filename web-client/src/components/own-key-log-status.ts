/**
 * `<own-key-log-status>`: Settings → Devices, one line saying what the own-key monitor has
 * checked (docs/WEB.md "Settings", docs/SECURITY.md "Key transparency and own-key monitoring"):
 * "Key log: 42 entries checked, none unexpected · 12:03". The engine reads every entry of the
 * key server's public log and proves it is the signed log; an entry under the user's name that
 * none of their devices made is unexpected (and raised as `<own-key-alert-banner>`). The line
 * shows exactly what the engine stored and follows it live.
 */
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { OwnKeyLogInfo } from '../services/messenger.ts';
import type { ChatSession } from '../services/session.ts';
import { uiText } from '../services/ui-strings.ts';
import { shared } from '../styles.ts';
import { momentLabel } from './time-labels.ts';

/**
 * The status line for `status`; `alertsShown`: own-key alerts are on screen now (then the
 * unexpected entries point to them), `now` for the day of the time.
 */
export function ownKeyLogText(
  status: OwnKeyLogInfo | null,
  alertsShown: boolean,
  now = Date.now(),
): string {
  if (status === null || status.checkedAt === null) return uiText('keyLog.notChecked');
  const entries =
    status.checkedEntries === 1
      ? uiText('keyLog.entries.one')
      : uiText('keyLog.entries.other', { count: status.checkedEntries });
  const time = momentLabel(status.checkedAt, now);
  if (status.unexpected === 0) return uiText('keyLog.clean', { entries, time });
  return uiText(alertsShown ? 'keyLog.unexpectedAlert' : 'keyLog.unexpected', {
    entries,
    unexpected: status.unexpected,
    time,
  });
}

@customElement('own-key-log-status')
export class OwnKeyLogStatus extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      p {
        margin: 0.4rem 0;
      }
      .unexpected {
        color: var(--danger);
        font-weight: 600;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  private readonly onLive = (): void => this.requestUpdate();

  protected readonly events = new SessionEvents(this, () => this.session, { live: this.onLive });

  override render(): TemplateResult {
    const status = this.session?.ownKeyLog ?? null;
    const text = ownKeyLogText(status, (this.session?.ownKeyAlerts.length ?? 0) > 0);
    // data-checked-entries: what the engine stored, for tests that wait for a run to finish.
    return html`<p
      role="status"
      aria-label=${text}
      class=${status !== null && status.unexpected > 0 ? 'unexpected' : 'muted'}
      data-checked-entries=${status?.checkedEntries ?? 0}
      data-unexpected=${status?.unexpected ?? 0}
    >
      ${text}
    </p>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'own-key-log-status': OwnKeyLogStatus;
  }
}
