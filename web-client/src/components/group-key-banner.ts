/**
 * `<group-key-banner>`: shown in a group conversation (and on its settings page) when an
 * identity reset left the group with an old key. The user who reset reads that they wait for an
 * admin to re-add them (or that no admin is left who could); admins see which members' keys
 * changed with "Re-add with new key" (or a link to review a verified contact's new safety number
 * first); other members see that the change waits for an admin. Nothing is shown otherwise.
 */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { GroupKeys } from '../services/messenger.ts';
import type { ChatSession, HistoryEventDetail } from '../services/session.ts';
import { banner, shared } from '../styles.ts';
import { groupConversationId, dmId } from '../services/messenger.ts';
import { uiText } from '../services/ui-strings.ts';

/**
 * Identity-key state of one group.
 *
 * @fires rekeyed - `CustomEvent<string>` a member was re-added with their new key
 */
@customElement('group-key-banner')
export class GroupKeyBanner extends LitElement {
  static override styles = [
    shared,
    banner,
    css`
      .banner {
        display: grid;
        gap: 0.4rem;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: center;
      }
      .row span {
        flex: 1 1 200px;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** The group. */
  @property() groupId = '';
  /**
   * Look the members' keys up at the key server when shown (the settings page). Off in the
   * conversation, where a large group would cost a look-up per member each time it opens: there
   * the banner shows what the engine already learned (key changes, chain updates).
   */
  @property({ type: Boolean }) lookup = false;

  @state() private _keys: GroupKeys | undefined;
  @state() private _busy = false;
  @state() private _error = '';

  /** The key changes the session knew at the last load (reload when they change). */
  private seenKeyChanges = '';

  private readonly onHistory = (e: Event): void => {
    const detail = (e as CustomEvent<HistoryEventDetail>).detail;
    if (detail?.reread.has(groupConversationId(this.groupId))) void this.load(false);
  };

  private readonly onLive = (): void => {
    const now = this.keyChangesNow();
    if (now !== this.seenKeyChanges) void this.load(false);
  };

  private keyChangesNow(): string {
    return [...(this.session?.keyChanges ?? new Map<string, boolean>())]
      .map(([u, v]) => `${u}:${String(v)}`)
      .join(',');
  }

  protected readonly events = new SessionEvents(this, () => this.session, {
    history: this.onHistory,
    live: this.onLive,
  });

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('groupId') || changed.has('session')) void this.load(this.lookup);
  }

  /** Read the state; `lookup` also re-reads the members' keys from the key server. */
  private async load(lookup: boolean): Promise<void> {
    const s = this.session;
    if (s === undefined || this.groupId === '') return;
    this.seenKeyChanges = this.keyChangesNow();
    try {
      this._keys = await s.messenger.groupKeys(this.groupId, { lookup });
    } catch {
      // Not (or no longer) a member: the conversation says so; nothing to show here.
      this._keys = undefined;
    }
  }

  private async rekey(username: string): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    this._busy = true;
    this._error = '';
    try {
      await s.messenger.rekeyMember(this.groupId, username);
      s.touch(groupConversationId(this.groupId));
      this.dispatchEvent(
        new CustomEvent<string>('rekeyed', { detail: username, bubbles: true, composed: true }),
      );
      await this.load(false);
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  }

  private member(m: GroupKeys['changed'][number], keys: GroupKeys): TemplateResult {
    const review = `#/c/${encodeURIComponent(dmId(m.username))}/info`;
    let action: TemplateResult | typeof nothing = nothing;
    let text: string;
    if (keys.noAdmin) {
      text = uiText('groupKey.noAdmin', { user: m.username });
    } else if (!keys.canRekey) {
      text = uiText('groupKey.waiting', { user: m.username });
    } else if (m.awaitingAcceptance) {
      text = uiText('groupKey.verified', { user: m.username });
      action = html`<a href=${review}>${uiText('common.reviewSafetyNumber')}</a>`;
    } else {
      text = uiText('groupKey.stale', { user: m.username });
      action = html`<button
        class="primary"
        ?disabled=${this._busy}
        aria-label=${uiText('groupKey.rekeyLabel', { user: m.username })}
        @click=${() => this.rekey(m.username)}
      >
        ${uiText('groupKey.rekey')}
      </button>`;
    }
    return html`<p class="row" data-changed=${m.username}><span>${text}</span>${action}</p>`;
  }

  override render(): TemplateResult | typeof nothing {
    const keys = this._keys;
    if (keys === undefined || (!keys.selfStale && keys.changed.length === 0)) return nothing;
    if (keys.selfStale) {
      return html`<div class="banner" role="alert" data-self-stale>
        <p>
          <strong>${uiText('groupKey.selfStale')}</strong>
          ${uiText(keys.noAdmin ? 'groupKey.selfNoAdmin' : 'groupKey.selfWait')}
        </p>
      </div>`;
    }
    return html`<div class="banner" role="status">
      ${keys.changed.map((m) => this.member(m, keys))}
      ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'group-key-banner': GroupKeyBanner;
  }
}
