/**
 * `<message-list>`: the messages of one conversation as a virtualized list — only the rows on
 * screen are in the DOM, heights are estimated then measured, pages of rows are read from
 * IndexedDB on demand — that stays smooth at 100k messages. Day separators, sender names in
 * groups, the engine's timeline notices, quotes, inline images and download progress; it
 * follows the newest message while the reader is at the bottom and sends read receipts then.
 *
 * Why not `@lit-labs/virtualizer` (2.1, in the registry): its flow layout anchors to the top —
 * it has no stick-to-bottom for a chat and no way to keep the reader's row in place while
 * rows above it get measured or older history arrives — and it wants the items as an array,
 * where this list knows only the count and reads pages of rows on demand (100k messages are
 * never all in memory). Both would have to be built around it again, so the list keeps its own
 * small height index (`services/virtual.ts`) and controllers: `PagedRows` (pages of rows),
 * `ScrollAnchor` (heights, window, bottom-stickiness), `MessageMedia`, `ReadReceipts`.
 *
 * Events from `<message-bubble>` (`reply`, `edit`, `react`, `pick-reaction`, `delete`) pass
 * through to the conversation; `jump` and `download` are handled here.
 *
 * @fires sender-kind - `detail` is `bot` or `bridge` when the rows on screen of a DM come from
 *   one, otherwise empty; fired when it changes
 * @fires action-error - `detail` is why a download failed
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { ref } from 'lit/directives/ref.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import { avatarFace, userName } from './profile-name.ts';
import type { MessageRecord } from '../services/engine-types.ts';
import { parseConversationId } from '../services/messenger.ts';
import type { HistoryEventDetail, ChatSession } from '../services/session.ts';
import { frameGate, isNotice, noticeText, throttled } from '../services/history.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';
import { PagedRows } from './controllers/paged-rows.ts';
import { ROW_ESTIMATE, ScrollAnchor } from './controllers/scroll-anchor.ts';
import { MessageMedia } from './controllers/message-media.ts';
import { ReadReceipts } from './controllers/read-receipts.ts';
import { OpenConversation } from './controllers/open-conversation.ts';
import { UnreadMarker } from './controllers/unread-marker.ts';
import { dayLabel } from './time-labels.ts';
import './message-bubble.ts';
import { dmId } from '../services/messenger.ts';
import { styleProps } from './style-props.ts';
import { uiText } from '../services/ui-strings.ts';
import { benchTrace } from '../services/bench-trace.ts';

/** Shortest gap between two re-reads of the open conversation during a burst (ms). */
export const REFRESH_GAP_MS = 150;
/** How long a message jumped to stays highlighted (ms). */
const HIGHLIGHT_MS = 2000;

/** The virtualized messages of one conversation. */
@customElement('message-list')
export class MessageList extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        flex-direction: column;
        flex: 1;
        min-height: 0;
        position: relative;
      }
      .scroller {
        flex: 1;
        min-height: 0;
        overflow-y: auto;
        /* Nothing in a row may scroll the list sideways (a focused toolbar button once did). */
        overflow-x: hidden;
        overflow-anchor: none;
        position: relative;
        contain: strict;
      }
      .spacer {
        position: relative;
        width: 100%;
      }
      .row {
        position: absolute;
        top: 0;
        left: 0;
        right: 0;
        padding-top: 2px;
      }
      .row.highlight message-bubble {
        animation: flash 1.6s ease-out;
      }
      @keyframes flash {
        0% {
          background: var(--warn-bg);
        }
        100% {
          background: transparent;
        }
      }
      .day {
        text-align: center;
        margin: 0.6rem 0 0.3rem;
      }
      .day span {
        background: var(--bg-2);
        border: 1px solid var(--border);
        border-radius: 999px;
        padding: 0.1rem 0.7rem;
        font-size: 0.78rem;
        color: var(--fg-2);
      }
      .placeholder {
        height: ${ROW_ESTIMATE}px;
      }
      .notice {
        display: flex;
        flex-wrap: wrap;
        justify-content: center;
        align-items: center;
        gap: 0.2rem 0.6rem;
        margin: 0.4rem 1rem;
        font-size: 0.82rem;
        color: var(--fg-2);
        text-align: center;
      }
      .notice button {
        min-height: 28px;
        padding: 0.1rem 0.6rem;
        font-size: 0.82rem;
      }
      .empty {
        text-align: center;
        padding: 2rem 1rem;
        color: var(--fg-2);
      }
      .jump {
        position: absolute;
        right: 1rem;
        bottom: 1rem;
        border-radius: 999px;
        box-shadow: var(--shadow);
        z-index: 3;
      }
      .jump .count {
        position: absolute;
        top: -0.5rem;
        right: -0.4rem;
        min-width: 1.3rem;
        padding: 0 0.3rem;
        border-radius: 999px;
        background: var(--accent);
        color: var(--on-accent);
        font-size: 0.75rem;
        line-height: 1.3rem;
      }
      .unread-divider {
        display: flex;
        align-items: center;
        gap: 0.6rem;
        margin: 0.5rem 0.8rem 0.3rem;
        font-size: 0.8rem;
        color: var(--fg-2);
      }
      .unread-divider::before,
      .unread-divider::after {
        content: '';
        flex: 1;
        border-top: 1px solid var(--border);
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** `dm:{user}` or `group:{id}`. */
  @property() conversationId = '';
  /** Message id to scroll to once loaded (search results). */
  @property() jumpTo = '';
  /** Ids of the conversation's pinned messages (their bubbles show the pin mark). */
  @property({ attribute: false }) pinned: ReadonlySet<string> = new Set();
  /** This account may pin here (the bubbles offer Pin). */
  @property({ type: Boolean }) canPin = false;

  @state() private _highlight = '';
  @state() private _atBottom = true;

  @query('.scroller') private _scroller!: HTMLElement | null;

  private lastJump = '';
  /** Messages added since the last render, for the benchmark's trace (bench-trace.ts). */
  private readonly untraced: string[] = [];
  private senderKind = '';

  /** Another conversation: start over with its rows, at the bottom. */
  private readonly open = new OpenConversation(
    this,
    () => this,
    () => {
      this.rows.reset();
      this.anchor.reset();
      this.media.reset();
      this._highlight = '';
      this.lastJump = '';
      void this.openAtUnread();
    },
  );
  private readonly rows = new PagedRows(this, {
    history: () => this.session?.history,
    conversationId: () => this.conversationId,
    range: () => this.anchor.range,
    loaded: (rows) => this.media.load(rows),
  });
  private readonly anchor = new ScrollAnchor(this, {
    scroller: () => this._scroller,
    moved: () => this.rows.ensure(),
    stickChanged: (stick) => {
      this._atBottom = stick;
      if (stick) this.receipts.mark();
      this.unread.recount();
    },
  });
  private readonly media = new MessageMedia(this, () => this.session);
  private readonly receipts = new ReadReceipts(this, {
    session: () => this.session,
    conversationId: () => this.conversationId,
    atBottom: () => this.anchor.stick && this.unread.ready,
  });
  private readonly unread = new UnreadMarker(this, {
    session: () => this.session,
    conversationId: () => this.conversationId,
    atBottom: () => this.anchor.stick,
  });

  private readonly onHistory = (e: Event): void => {
    const { conversations, reread, added } = (e as CustomEvent<HistoryEventDetail>).detail;
    const id = this.conversationId;
    if (conversations.has(id)) this.unread.recount();
    if (reread.has(id)) this.scheduleRefresh();
    else {
      const fresh = added.get(id);
      if (fresh !== undefined && !this.addNew(fresh)) this.scheduleRefresh();
    }
  };
  /** Profiles revision last drawn: a loaded name or picture re-renders the senders. */
  private profilesDrawn = -1;
  protected readonly events = new SessionEvents(this, () => this.session, {
    history: this.onHistory,
    live: () => {
      if (this.session && this.session.profiles.revision !== this.profilesDrawn) {
        this.profilesDrawn = this.session.profiles.revision;
        this.requestUpdate();
      }
    },
  });
  /**
   * History changes re-read the count and the visible pages: an isolated change at once, a
   * burst at most every {@link REFRESH_GAP_MS}, so rendering does not starve the engine's
   * decryption and writes (a live burst of 2,000 messages: 30 → 95 stored per second).
   */
  private readonly scheduleRefresh = throttled(() => this.refresh(), REFRESH_GAP_MS);

  /**
   * Renders at once when the last render is a frame old or older (a new message is in the DOM
   * in the task that stored it, painted with the next frame — issue 23), else on the next
   * animation frame: during a burst the page reads, resize measurements and scroll events that
   * each ask for an update share one render per frame.
   */
  private readonly frame = frameGate();
  protected override async scheduleUpdate(): Promise<void> {
    if (this.hasUpdated) await this.frame();
    await super.scheduleUpdate();
  }

  /**
   * New messages of the open conversation (the engine's `message` events) go straight into the
   * rows in memory when the end of the list is loaded — no re-read of the count and pages, and
   * only their own rows render. Returns false when one belongs before the loaded end (an old
   * timestamp): the caller re-reads.
   */
  addNew(messages: readonly MessageRecord[]): boolean {
    const { heights } = this.anchor;
    const appended = this.rows.append(messages);
    if (appended === null) return false;
    const { first, moved, fresh } = appended;
    if (fresh.length === 0) return true;
    // Rows that moved down keep their measured heights.
    const measured = new Map(moved.map((id, k) => [id, heights.height(first + k)]));
    const total = this.rows.count;
    heights.resize(total);
    for (let i = first; i < total; i++) {
      const m = this.rows.row(i);
      heights.set(i, (m !== undefined ? measured.get(m.id) : undefined) ?? ROW_ESTIMATE);
    }
    this.anchor.update();
    this.media.load(fresh);
    if (benchTrace) for (const m of fresh) this.untraced.push(m.id);
    this.requestUpdate();
    this.receipts.mark();
    return true;
  }

  /** Re-read the count and visible pages after history changed. */
  async refresh(): Promise<void> {
    if (!(await this.rows.readCount())) return;
    this.anchor.heights.resize(this.rows.count);
    this.anchor.update();
    this.rows.ensure();
    this.requestUpdate();
    this.receipts.mark();
    if (this.jumpTo !== '' && this.jumpTo !== this.lastJump) {
      this.lastJump = this.jumpTo;
      void this.jumpToMessage(this.jumpTo);
    }
  }

  /**
   * Open the conversation: learn its unread messages first (read receipts wait for that), then
   * read its rows and, unless a search result is to be shown, scroll to the first unread one.
   */
  private async openAtUnread(): Promise<void> {
    const opened = await this.unread.open();
    if (opened === undefined) return;
    const { first, opening } = opened;
    await this.refresh();
    const s = this.session;
    if (first !== undefined && this.jumpTo === '' && s !== undefined) {
      const index = await s.history.indexOf(first);
      // After the render that gives the spacer its height: a scroll before it would be cut short.
      await this.updateComplete;
      if (first.id === this.unread.first) this.anchor.scrollToIndex(index);
    }
    // Only now: until the list scrolled to the first unread message it counts as at the bottom.
    this.unread.settle(opening);
    this.receipts.mark();
  }

  /** Scroll to the newest message and stay there (the user sent something). */
  followLatest(): void {
    this.anchor.followLatest();
  }

  /** Scroll to a message by id (search result, quote). */
  async jumpToMessage(id: string): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const m = await s.history.get(id);
    if (m === undefined || m.conversationId !== this.conversationId) return;
    this.anchor.scrollToIndex(await s.history.indexOf(m));
    this._highlight = id;
    setTimeout(() => {
      if (this._highlight === id) this._highlight = '';
    }, HIGHLIGHT_MS);
  }

  override updated(): void {
    if (benchTrace) for (const id of this.untraced.splice(0)) benchTrace('rendered', id);
    // A DM's badge: the newest row on screen from a bot or a bridge says what the peer is.
    let kind = '';
    if (parseConversationId(this.conversationId).kind === 'dm') {
      const [a, b] = this.anchor.range;
      for (let i = b - 1; i >= a && kind === ''; i--) {
        const k = this.rows.row(i)?.senderKind;
        if (k === 'bot' || k === 'bridge') kind = k;
      }
    }
    if (kind !== this.senderKind) {
      this.senderKind = kind;
      this.dispatchEvent(new CustomEvent<string>('sender-kind', { detail: kind }));
    }
  }

  private async download(e: CustomEvent<MessageRecord>): Promise<void> {
    try {
      await this.media.download(e.detail);
    } catch (err) {
      this.dispatchEvent(new CustomEvent<unknown>('action-error', { detail: err }));
    }
  }

  /** The separator above the first row of a calendar day. */
  private day(m: MessageRecord, newDay: boolean): TemplateResult | typeof nothing {
    return newDay
      ? html`<div class="day" role="separator"><span>${dayLabel(m.timestamp)}</span></div>`
      : nothing;
  }

  private renderRow(i: number, isGroup: boolean, me: string): TemplateResult {
    const m = this.rows.row(i);
    const top = this.anchor.heights.offset(i);
    const row = (content: unknown, highlight = false): TemplateResult =>
      html`<div
        class="row ${highlight ? 'highlight' : ''}"
        data-index=${i}
        style=${styleProps({ transform: `translateY(${top}px)` })}
        ${ref(this.anchor.observeRow)}
      >
        ${content}
      </div>`;
    if (m === undefined) return row(html`<div class="placeholder" aria-hidden="true"></div>`);
    const prev = i > 0 ? this.rows.row(i - 1) : undefined;
    const newDay =
      i === 0 ||
      (prev !== undefined &&
        new Date(prev.timestamp).toDateString() !== new Date(m.timestamp).toDateString());
    if (isNotice(m)) return row(html`${this.day(m, newDay)}${this.renderNotice(m)}`);
    const divider =
      m.id === this.unread.first
        ? html`<div class="unread-divider" role="separator" data-unread-divider>
            ${uiText(this.unread.count === 1 ? 'messages.unreadOne' : 'messages.unreadMany', {
              count: this.unread.count,
            })}
          </div>`
        : nothing;
    // A run of one sender's bubbles names them once; a timeline line in between (its sender is
    // the one who made the change) starts a new run.
    const showSender =
      isGroup &&
      !m.outgoing &&
      (newDay || prev === undefined || prev.kind === 'notice' || prev.sender !== m.sender);
    const s = this.session;
    const media = s?.media.get(m.id);
    return row(
      html`${this.day(m, newDay)}${divider}
        <message-bubble
          .message=${m}
          .me=${me}
          .showSender=${showSender}
          .senderName=${showSender ? userName(s, m.sender) : nothing}
          .senderFace=${showSender ? avatarFace(s, m.sender) : nothing}
          .quoted=${this.media.quoteOf(m)}
          .imageUrl=${media?.inlineUrl ?? ''}
          .playUrl=${media?.playUrl ?? ''}
          .playKind=${media?.playKind ?? ''}
          .saveOnly=${
            media !== undefined && media.inlineUrl === undefined && media.playUrl === undefined
          }
          .progress=${this.media.progressOf(m)}
          .can=${s?.messenger.capabilities ?? new Set()}
          .pinned=${this.pinned.has(m.id)}
          .canPin=${this.canPin}
        ></message-bubble>`,
      this._highlight === m.id,
    );
  }

  /** A line the engine wrote into the timeline (a contact's key changed): no bubble, no actions. */
  private renderNotice(m: MessageRecord): TemplateResult {
    const user = typeof m.body.user === 'string' ? m.body.user : '';
    // Call lines name no `user` (no review button); dmId('') would throw.
    const review = user !== '' ? `#/c/${encodeURIComponent(dmId(user))}/info` : '';
    return html`<div class="notice" role="note" data-notice=${String(m.body.notice)}>
      <span>${noticeText(m)}</span>
      ${
        user !== ''
          ? html`<button
              aria-label=${uiText('messages.reviewWith', { user })}
              @click=${() => (location.hash = review)}
            >
              ${uiText('messages.review')}
            </button>`
          : nothing
      }
    </div>`;
  }

  override render(): TemplateResult {
    const s = this.session;
    if (s === undefined) return html``;
    const isGroup = parseConversationId(this.conversationId).kind === 'group';
    const me = s.account.username;
    const [a, b] = this.anchor.range;
    const indexes: number[] = [];
    for (let i = a; i < b; i++) indexes.push(i);
    return html`<div
        class="scroller"
        role="log"
        aria-label=${uiText('messages.label')}
        aria-live="polite"
        tabindex="0"
        @scroll=${this.anchor.onScroll}
        @download=${this.download}
        @voice-played=${(e: CustomEvent<MessageRecord>) => {
          if (!e.detail.outgoing) this.session?.messenger.markPlayed(e.detail.id);
        }}
        @jump=${(e: CustomEvent<string>) => void this.jumpToMessage(e.detail)}
      >
        ${
          this.rows.count === 0
            ? html`<div class="empty">${uiText('messages.empty')}</div>`
            : nothing
        }
        <div class="spacer" style=${styleProps({ height: `${this.anchor.heights.total()}px` })}>
          ${repeat(
            indexes,
            (i) => this.rows.row(i)?.id ?? `i${i}`,
            (i) => this.renderRow(i, isGroup, me),
          )}
        </div>
      </div>
      ${
        !this._atBottom
          ? html`<button
              class="jump"
              aria-label=${
                this.unread.below > 0
                  ? uiText('messages.jumpLatestNew', { count: this.unread.below })
                  : uiText('messages.jumpLatest')
              }
              @click=${this.followLatest}
            >
              ${icons.down}${
                this.unread.below > 0
                  ? html`<span class="count" data-new=${this.unread.below}
                      >${this.unread.below}</span
                    >`
                  : nothing
              }
            </button>`
          : nothing
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'message-list': MessageList;
  }
}
