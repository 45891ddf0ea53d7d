/**
 * `<admin-view>`: the operators' Administration page (issue 17; docs/WEB.md "Administration").
 * Reports with the messages this device received end-to-end encrypted, and what to do about
 * them (ban the reported user, close the room, dismiss); bans; closed rooms; the moderation log.
 * Non-operators see one line saying the page is for operators.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { AdminBan, AdminLogEntry, AdminReport } from '../services/moderation.ts';
import type { ChatSession } from '../services/session.ts';
import { uiText } from '../services/ui-strings.ts';
import { shared } from '../styles.ts';
import { dateTimeText } from '../services/locale-format.ts';

/** A text field of a form, trimmed ('' when absent or a file). */
const field = (data: FormData, name: string): string => {
  const v = data.get(name);
  return typeof v === 'string' ? v.trim() : '';
};

/** The Administration page. */
@customElement('admin-view')
export class AdminView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        height: 100%;
        overflow: auto;
        padding: 16px 24px;
        box-sizing: border-box;
      }
      section {
        margin-bottom: 24px;
      }
      .report {
        border: 1px solid var(--border, #ccc);
        border-radius: 8px;
        padding: 8px 12px;
        margin: 8px 0;
      }
      blockquote {
        margin: 4px 0 4px 12px;
        white-space: pre-wrap;
      }
      .actions button {
        margin-right: 8px;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 8px;
        align-items: end;
      }
      label {
        display: flex;
        flex-direction: column;
        font-size: 0.9em;
      }
      ul {
        padding-left: 18px;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @state()
  private _session: ChatSession | undefined;

  @state() private _operator: boolean | null = null;
  @state() private _reports: AdminReport[] = [];
  @state() private _bans: AdminBan[] = [];
  @state() private _closed: string[] = [];
  @state() private _log: AdminLogEntry[] = [];
  @state() private _status = '';

  override connectedCallback(): void {
    super.connectedCallback();
    void this.reload();
  }

  private get port() {
    return this._session?.messenger.moderation;
  }

  /** Read everything again from the key server and this device's reports. */
  async reload(): Promise<void> {
    const p = this.port;
    if (!p) return;
    try {
      this._operator = await p.isOperator();
      if (!this._operator) return;
      [this._reports, this._bans, this._closed, this._log] = await Promise.all([
        p.reports(),
        p.bans(),
        p.closedRooms(),
        p.log(),
      ]);
    } catch (err) {
      this._status = uiText('admin.failed', {
        why: err instanceof Error ? err.message : String(err),
      });
    }
  }

  private async act(what: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
      this._status = uiText('admin.done', { what });
    } catch (err) {
      this._status = uiText('admin.failed', {
        why: err instanceof Error ? err.message : String(err),
      });
    }
    await this.reload();
  }

  private onBan(e: SubmitEvent): void {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const data = new FormData(form);
    const user = field(data, 'username');
    const reason = field(data, 'reason');
    if (!user || !this.port) return;
    const p = this.port;
    void this.act(uiText('admin.ban', { user }), () => p.ban(user, reason)).then(() =>
      form.reset(),
    );
  }

  private onClose(e: SubmitEvent): void {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const room = field(new FormData(form), 'room');
    if (!room || !this.port) return;
    const p = this.port;
    void this.act(uiText('admin.closeRoom', { room }), () => p.setRoomClosed(room, true)).then(() =>
      form.reset(),
    );
  }

  private renderReport(r: AdminReport): TemplateResult {
    const p = this.port!;
    const where = r.groupId ? uiText('admin.inRoom', { room: r.groupId }) : uiText('admin.inDm');
    const open = r.status === 'open';
    return html`<li class="report" data-report=${r.id}>
      <div>
        ${uiText('admin.reportLine', {
          reporter: r.reporter,
          reported: r.reported,
          where,
          time: dateTimeText(r.at),
          status: r.status,
        })}
      </div>
      ${
        r.content
          ? html`${
              r.content.note
                ? html`<div>${uiText('admin.note', { note: r.content.note })}</div>`
                : nothing
            }
            ${r.content.messages.map((m) => {
              const quoted = html`<strong>${m.sender}</strong> · ${dateTimeText(m.ts)}<br />${m.text}`;
              // The quote on one line: a blockquote keeps white space (pre-wrap), and the
              // template's line breaks and indentation would show.
              return html`<blockquote data-reported-message=${m.id}>${quoted}</blockquote>`;
            })}`
          : html`<p>${uiText('admin.contentMissing')}</p>`
      }
      ${
        open
          ? html`<div class="actions">
              <button
                type="button"
                data-action="ban"
                @click=${() =>
                  this.act(uiText('admin.ban', { user: r.reported }), async () => {
                    await p.ban(r.reported, `report ${r.id}`);
                    await p.closeReport(r.id, 'actioned');
                  })}
              >
                ${uiText('admin.ban', { user: r.reported })}
              </button>
              ${
                r.groupId
                  ? html`<button
                      type="button"
                      data-action="close-room"
                      @click=${() =>
                        this.act(uiText('admin.closeRoom', { room: r.groupId! }), async () => {
                          await p.setRoomClosed(r.groupId!, true, `report ${r.id}`);
                          await p.closeReport(r.id, 'actioned');
                        })}
                    >
                      ${uiText('admin.closeRoom', { room: r.groupId })}
                    </button>`
                  : nothing
              }
              <button
                type="button"
                data-action="dismiss"
                @click=${() =>
                  this.act(uiText('admin.dismiss', { reporter: r.reporter }), () =>
                    p.closeReport(r.id, 'dismissed'),
                  )}
              >
                ${uiText('admin.dismiss', { reporter: r.reporter })}
              </button>
            </div>`
          : nothing
      }
    </li>`;
  }

  override render(): TemplateResult {
    if (this._operator === null) return html`<p role="status">${uiText('common.loading')}</p>`;
    if (!this._operator)
      return html`<h1>${uiText('admin.title')}</h1>
        <p role="status">${uiText('admin.notOperator')}</p>`;
    const p = this.port!;
    return html`<h1>${uiText('admin.title')}</h1>
      <p role="status" data-status>${this._status}</p>
      <section aria-labelledby="reports-h">
        <h2 id="reports-h">${uiText('admin.reports')}</h2>
        ${
          this._reports.length === 0
            ? html`<p>${uiText('admin.noReports')}</p>`
            : html`<ul>
                ${this._reports.map((r) => this.renderReport(r))}
              </ul>`
        }
      </section>
      <section aria-labelledby="bans-h">
        <h2 id="bans-h">${uiText('admin.banTitle')}</h2>
        <form @submit=${this.onBan} aria-label=${uiText('admin.banTitle')}>
          <label
            >${uiText('admin.username')}<input name="username" required autocomplete="off"
          /></label>
          <label>${uiText('admin.reason')}<input name="reason" maxlength="500" /></label>
          <button type="submit">${uiText('admin.banButton')}</button>
        </form>
        <h3>${uiText('admin.bans')}</h3>
        ${
          this._bans.length === 0
            ? html`<p>${uiText('admin.noBans')}</p>`
            : html`<ul>
                ${this._bans.map(
                  (b) =>
                    html`<li data-ban=${b.username}>
                      ${b.username} · ${b.reason} · ${b.by} · ${dateTimeText(b.at)}
                      <button
                        type="button"
                        @click=${() =>
                          this.act(uiText('admin.unban', { user: b.username }), () =>
                            p.unban(b.username),
                          )}
                      >
                        ${uiText('admin.unban', { user: b.username })}
                      </button>
                    </li>`,
                )}
              </ul>`
        }
      </section>
      <section aria-labelledby="rooms-h">
        <h2 id="rooms-h">${uiText('admin.roomsTitle')}</h2>
        <form @submit=${this.onClose} aria-label=${uiText('admin.roomsTitle')}>
          <label>${uiText('admin.roomId')}<input name="room" required autocomplete="off" /></label>
          <button type="submit">${uiText('admin.closeButton')}</button>
        </form>
        <h3>${uiText('admin.closed')}</h3>
        ${
          this._closed.length === 0
            ? html`<p>${uiText('admin.noClosed')}</p>`
            : html`<ul>
                ${this._closed.map(
                  (g) =>
                    html`<li data-closed=${g}>
                      ${g}
                      <button
                        type="button"
                        @click=${() =>
                          this.act(uiText('admin.reopen', { room: g }), () =>
                            p.setRoomClosed(g, false),
                          )}
                      >
                        ${uiText('admin.reopen', { room: g })}
                      </button>
                    </li>`,
                )}
              </ul>`
        }
      </section>
      <section aria-labelledby="log-h">
        <h2 id="log-h">${uiText('admin.log')}</h2>
        <ol data-log>
          ${this._log.map(
            (e) =>
              html`<li>
                ${uiText('admin.logLine', {
                  time: dateTimeText(e.at),
                  actor: e.actor,
                  action: e.action,
                  target: e.target,
                })}${e.detail ? ` · ${e.detail}` : ''}
              </li>`,
          )}
        </ol>
      </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'admin-view': AdminView;
  }
}
