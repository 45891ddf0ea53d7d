/**
 * `<block-report>`: blocking and reporting one user (issue 17; docs/WEB.md "Blocking and
 * reports"), each after a confirmation that says what happens and what is shared.
 *
 * - Block: the engine puts the user on this account's block list (kept by the key server,
 *   synced to every device): the brokers drop their direct messages to us without telling
 *   them, and every device of ours drops their messages, invites and typing.
 * - Report: the chosen messages, as this device shows them, with sender and times and an
 *   optional note, go end-to-end encrypted to the server's operators; the key server records
 *   only who reported whom, where and when.
 *
 * `mode` picks what shows: `full` (contact info: block or unblock, report), `menu` (the
 * conversation header: block or unblock) or `banner` (the conversation: "You blocked bob" with
 * Unblock, nothing otherwise). Every mode can report single messages ({@link reportMessage}).
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { MAX_REPORTED_MESSAGES } from '@sotto/crypto/wire';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import { dmId } from '../services/messenger.ts';
import { isNotice } from '../services/history.ts';
import type { MessageRecord } from '../services/engine-types.ts';
import type { ChatSession } from '../services/session.ts';
import { shared } from '../styles.ts';
import './confirm-dialog.ts';
import type { ConfirmDialog } from './confirm-dialog.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';

/** Block, unblock and report one user. */
@customElement('block-report')
export class BlockReport extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: contents;
      }
      .banner {
        display: flex;
        gap: 0.6rem;
        align-items: center;
        justify-content: center;
        padding: 0.4rem 1rem;
        background: var(--bg-2);
        border-bottom: 1px solid var(--border);
        margin: 0;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** The user. */
  @property() username = '';
  /** What shows (see the module comment). */
  @property() mode: 'full' | 'menu' | 'banner' = 'full';

  @state() private _status = '';
  @state() private _busy = false;
  @query('confirm-dialog') private _confirm!: ConfirmDialog;

  protected readonly events = new SessionEvents(this, () => this.session, {
    live: () => this.requestUpdate(),
  });

  private blocked(): boolean {
    return this.session?.messenger.moderation.isBlocked(this.username) === true;
  }

  private async act(action: () => Promise<string>): Promise<void> {
    this._busy = true;
    try {
      this._status = await action();
    } catch (err) {
      this._status = uiText('common.failed', {
        why: err instanceof Error ? err.message : String(err),
      });
    } finally {
      this._busy = false;
    }
  }

  private async block(): Promise<void> {
    const u = this.username;
    const ok = await this._confirm.ask({
      title: uiText('block.confirmTitle', { user: u }),
      text: uiText('block.confirmText', { user: u }),
      confirm: uiText('block.block', { user: u }),
    });
    if (ok === null) return;
    await this.act(async () => {
      await this.session!.messenger.moderation.setBlocked(u, true);
      return uiText('block.blocked', { user: u });
    });
  }

  private unblock(): Promise<void> {
    const u = this.username;
    return this.act(async () => {
      await this.session!.messenger.moderation.setBlocked(u, false);
      return uiText('block.unblocked', { user: u });
    });
  }

  /** Ask, then report `messages` (all from one other user) of `conversationId`. */
  async reportMessages(conversationId: string, messages: readonly MessageRecord[]): Promise<void> {
    const u = messages[0]?.sender ?? this.username;
    const n = messages.length;
    const ok = await this._confirm.ask({
      title: uiText('report.confirmTitle', { user: u }),
      text: uiPlural('report', n, { user: u, shared: uiText('report.shared') }),
      confirm: uiText('report.send'),
      note: uiText('report.note'),
    });
    if (ok === null) return;
    await this.act(async () => {
      const to = await this.session!.messenger.moderation.report(
        conversationId,
        messages.map((m) => m.id),
        ok.note,
      );
      return to.length > 0 ? uiPlural('report.sent', to.length) : uiText('report.noOperator');
    });
  }

  /** Report the user from their chat with us: their latest messages there. */
  private async reportUser(): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const conversationId = dmId(this.username);
    const recent = await s.messenger.local().store.listMessages(conversationId, { limit: 200 });
    const theirs = recent
      .filter((m) => m.sender === this.username && !isNotice(m) && !m.deleted)
      .slice(-MAX_REPORTED_MESSAGES);
    if (theirs.length === 0) {
      this._status = uiText('report.nothing', { user: this.username });
      return;
    }
    await this.reportMessages(conversationId, theirs);
  }

  private status(): TemplateResult {
    return html`<span role="status" data-block-status>${this._status}</span>`;
  }

  override render(): TemplateResult {
    const u = this.username;
    const blocked = u !== '' && this.blocked();
    const unblock = html`<button
      type="button"
      ?disabled=${this._busy}
      @click=${() => void this.unblock()}
    >
      ${uiText('block.unblock', { user: u })}
    </button>`;
    const block = html`<button
      type="button"
      class="danger"
      ?disabled=${this._busy}
      @click=${() => void this.block()}
    >
      ${uiText('block.block', { user: u })}
    </button>`;
    const dialog = html`<confirm-dialog></confirm-dialog>`;
    if (this.mode === 'banner') {
      return html`${
        blocked
          ? html`<p class="banner" data-blocked>
              ${uiText('block.blocked', { user: u })} ${unblock}
            </p>`
          : this._status !== ''
            ? html`<p class="banner">${this.status()}</p>`
            : nothing
      }${dialog}`;
    }
    if (this.mode === 'menu') return html`${blocked ? unblock : block}${dialog}`;
    return html`<div class="row">
        ${blocked ? unblock : block}
        <button type="button" ?disabled=${this._busy} @click=${() => void this.reportUser()}>
          ${uiText('report.user', { user: u })}
        </button>
      </div>
      ${blocked ? html`<p data-blocked>${uiText('block.blocked', { user: u })}</p>` : nothing}
      ${this.status()} ${dialog}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'block-report': BlockReport;
  }
}
