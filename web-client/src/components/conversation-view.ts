/**
 * `<conversation-view>`: one conversation. A virtualized message list (only the rows on screen
 * are in the DOM; heights estimated then measured; pages of rows read from IndexedDB on
 * demand) that stays smooth at 100k messages, with day separators, sender names in groups,
 * replies, reactions, edits, deletion, ticks, typing and last seen; images decrypted in the
 * page; file upload/download progress; drag-and-drop and paste.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { ref } from 'lit/directives/ref.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { GroupRecord, MessageRecord } from '../services/engine-types.ts';
import { parseConversationId } from '../services/messenger.ts';
import type { HistoryEventDetail, ChatSession } from '../services/session.ts';
import { HeightIndex } from '../services/virtual.ts';
import {
  isNotice,
  mergeLastPage,
  noticeText,
  placeNew,
  reuseUnchanged,
  singleFlight,
  throttled,
} from '../services/history.ts';
import { makeThumbnail } from '../services/thumbnail.ts';
import { icons } from '../icons.ts';
import { colorFor, shared } from '../styles.ts';
import { fileOf, replyToOf, type ReactDetail } from './message-bubble.ts';
import './message-bubble.ts';
import './chat-composer.ts';
import './key-change-banner.ts';
import './group-key-banner.ts';
import './security-notice-strip.ts';
import { frozenComposerReason } from './group-frozen-banner.ts';

/** Rows read from IndexedDB at a time. */
export const PAGE_SIZE = 100;
/** Estimated row height before measuring (px). */
export const ROW_ESTIMATE = 56;
/** Extra px rendered above and below the viewport. */
export const OVERSCAN_PX = 800;
/** Pages kept in memory. */
export const MAX_PAGES = 24;
/** Shortest gap between two re-reads of the open conversation during a burst (ms). */
export const REFRESH_GAP_MS = 150;
/** Images up to this size are decrypted and shown inline automatically. */
export const AUTO_IMAGE_BYTES = 8 * 1024 * 1024;

/** Calendar-day label for separators ("Today", "Yesterday", "Mon 3 March 2025"). */
export function dayLabel(at: number, now = Date.now()): string {
  const d = new Date(at);
  const today = new Date(now);
  const y = new Date(now - 86_400_000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === y.toDateString()) return 'Yesterday';
  return d.toLocaleDateString(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  });
}

/** "last seen today at 14:02" style label. */
export function lastSeenLabel(at: number, now = Date.now()): string {
  const day = dayLabel(at, now);
  const time = new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return `last seen ${day === 'Today' || day === 'Yesterday' ? day.toLowerCase() : day} at ${time}`;
}

interface Page {
  rows: MessageRecord[];
  generation: number;
}

interface Upload {
  key: number;
  name: string;
  progress: number;
  error?: string;
}

/** One conversation. */
@customElement('conversation-view')
export class ConversationView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        min-height: 0;
        position: relative;
      }
      .tag {
        font-size: 0.7rem;
        font-weight: 600;
        border: 1px solid var(--border);
        border-radius: 999px;
        padding: 0 0.45rem;
        vertical-align: middle;
        color: var(--fg-2);
      }
      .sub {
        display: block;
        font-size: 0.8rem;
        font-weight: 400;
        color: var(--fg-2);
      }
      .scroller {
        flex: 1;
        min-height: 0;
        overflow-y: auto;
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
      .typing {
        min-height: 1.4rem;
        padding: 0 0.9rem;
        font-size: 0.85rem;
        color: var(--fg-2);
        font-style: italic;
      }
      .uploads {
        padding: 0 0.75rem 0.4rem;
        display: grid;
        gap: 0.25rem;
        font-size: 0.85rem;
      }
      .uploads progress {
        width: 100%;
      }
      .drop {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        background: rgb(47 111 222 / 0.15);
        border: 3px dashed var(--accent);
        z-index: 10;
        font-size: 1.2rem;
        pointer-events: none;
      }
      .overlay {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        background: rgb(0 0 0 / 0.3);
        z-index: 20;
      }
      .empty {
        text-align: center;
        padding: 2rem 1rem;
        color: var(--fg-2);
      }
      a.icon.back {
        display: none;
      }
      .jump {
        position: absolute;
        right: 1rem;
        bottom: 5.5rem;
        border-radius: 999px;
        box-shadow: var(--shadow);
        z-index: 3;
      }
      @media (max-width: 759px) {
        a.icon.back {
          display: inline-grid;
        }
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

  @state() private _count = -1;
  @state() private _range: [number, number] = [0, 0];
  @state() private _replyTo: MessageRecord | undefined;
  @state() private _editing: MessageRecord | undefined;
  @state() private _uploads: Upload[] = [];
  @state() private _group: GroupRecord | undefined;
  @state() private _dragging = false;
  @state() private _reactFor: MessageRecord | undefined;
  @state() private _highlight = '';
  @state() private _atBottom = true;
  @state() private _progress = new Map<string, number>();
  @state() private _tick = 0;

  @query('.scroller') private _scroller!: HTMLElement | null;

  private heights = new HeightIndex(ROW_ESTIMATE);
  private pages = new Map<number, Page>();
  private loading = new Set<number>();
  private generation = 0;
  private quotes = new Map<string, MessageRecord | null>();
  private fetchingImages = new Set<string>();
  private stick = true;
  private boundConversation = '';
  private observer: ResizeObserver | undefined;
  private observingScroller = false;
  /** Scroller height from the ResizeObserver (0 until measured): no layout read per refresh. */
  private viewport = 0;
  /** `heights.total()` last written to `scrollTop` while stuck to the bottom (-1: none). */
  private stuckAt = -1;
  /** Messages appended since the conversation opened (a page read that started before one merges it). */
  private appendSeq = 0;
  private uploadSeq = 0;
  private lastJump = '';

  private readonly onHistory = (e: Event): void => {
    const { reread, added } = (e as CustomEvent<HistoryEventDetail>).detail;
    const id = this.conversationId;
    if (reread.has(id)) this.scheduleRefresh();
    else {
      const fresh = added.get(id);
      if (fresh !== undefined && !this.addNew(fresh)) this.scheduleRefresh();
    }
  };
  private readonly onLive = (): void => {
    this._tick++;
  };
  protected readonly events = new SessionEvents(this, () => this.session, {
    history: this.onHistory,
    live: this.onLive,
  });
  /**
   * History changes re-read the count and the visible pages: an isolated change at once, a
   * burst at most every {@link REFRESH_GAP_MS}, so rendering does not starve the engine's
   * decryption and writes (a live burst of 2,000 messages: 30 → 95 stored per second).
   */
  private readonly scheduleRefresh = throttled(() => this.refresh(), REFRESH_GAP_MS);
  private readonly onVisible = (): void => {
    if (document.visibilityState === 'visible') this.markRead();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    if (typeof ResizeObserver !== 'undefined') {
      this.observer = new ResizeObserver((entries) => this.onResize(entries));
    }
    document.addEventListener('visibilitychange', this.onVisible);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.observer?.disconnect();
    this.observingScroller = false;
    document.removeEventListener('visibilitychange', this.onVisible);
    if (this.session !== undefined && this.session.active === this.boundConversation) {
      this.session.active = null;
    }
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (
      (changed.has('conversationId') || changed.has('session')) &&
      this.session !== undefined &&
      this.boundConversation !== this.conversationId
    ) {
      this.boundConversation = this.conversationId;
      this.session.active = this.conversationId;
      this.resetConversation();
      // Messages held for a verified contact's new key (after a reload the engine is asked).
      const { kind, ref } = parseConversationId(this.conversationId);
      if (kind === 'dm') void this.session.refreshHeld(ref);
    }
  }

  private resetConversation(): void {
    this.pages.clear();
    this.loading.clear();
    this.quotes.clear();
    this.generation++;
    this.heights.reset(0);
    this._count = -1;
    this._range = [0, 0];
    this._replyTo = undefined;
    this._editing = undefined;
    this._group = undefined;
    this._highlight = '';
    this.stick = true;
    this.stuckAt = -1;
    this.appendSeq = 0;
    this.lastJump = '';
    void this.refresh();
  }

  /**
   * Renders at most once per animation frame: during a burst the page reads, resize
   * measurements and scroll events that each ask for an update share one render.
   */
  protected override async scheduleUpdate(): Promise<void> {
    if (typeof requestAnimationFrame === 'function' && this.hasUpdated) {
      await new Promise<void>((r) => requestAnimationFrame(() => r()));
    }
    await super.scheduleUpdate();
  }

  /**
   * New messages of the open conversation (the engine's `message` events) go straight into the
   * rows in memory when the end of the list is loaded — no re-read of the count and pages, and
   * only their own rows render. Returns false when one belongs before the loaded end (an old
   * timestamp): the caller re-reads.
   */
  addNew(messages: readonly MessageRecord[]): boolean {
    const count = this._count;
    if (count < 0) return false;
    const lastPage = count === 0 ? 0 : Math.floor((count - 1) / PAGE_SIZE);
    const start = lastPage * PAGE_SIZE;
    const tail = count === start ? [] : this.pages.get(lastPage)?.rows;
    if (tail === undefined || tail.length !== count - start) return false;
    // A re-read that landed after the engine stored these may show some already.
    const before = this.pages.get(lastPage - 1)?.rows ?? [];
    const placed = placeNew(tail, start, messages, (id) => before.some((m) => m.id === id));
    if (placed === null) return false;
    if (placed.added === 0) return true;
    // Rows that moved down keep their measured heights.
    const measured = new Map<string, number>();
    for (let i = placed.first; i < count; i++) {
      const m = this.row(i);
      if (m !== undefined) measured.set(m.id, this.heights.height(i));
    }
    for (let i = 0; i < placed.rows.length; i += PAGE_SIZE) {
      this.pages.set(lastPage + i / PAGE_SIZE, {
        rows: placed.rows.slice(i, i + PAGE_SIZE),
        generation: this.generation,
      });
    }
    const total = count + placed.added;
    this.appendSeq++;
    this.heights.resize(total);
    for (let i = placed.first; i < total; i++) {
      const m = this.row(i);
      this.heights.set(i, (m !== undefined ? measured.get(m.id) : undefined) ?? ROW_ESTIMATE);
    }
    this._count = total;
    this.updateRange();
    const old = new Set(tail.map((m) => m.id));
    this.loadExtras(placed.rows.filter((m) => !old.has(m.id)));
    this.requestUpdate();
    this.markRead();
    return true;
  }

  /** Re-read the count and visible pages after history changed. */
  async refresh(): Promise<void> {
    const s = this.session;
    const id = this.conversationId;
    if (s === undefined || id === '') return;
    const { kind, ref } = parseConversationId(id);
    const [count, group] = await Promise.all([
      s.history.count(id),
      kind === 'group' ? s.history.group(ref) : Promise.resolve(undefined),
    ]);
    if (id !== this.conversationId) return;
    this.generation++;
    // Messages are never removed from a conversation: a count read before an append landed
    // must not take the appended rows away.
    const total = Math.max(count, this._count);
    this.heights.resize(total);
    this._count = total;
    this._group = group;
    this.updateRange();
    this.ensurePages();
    this.markRead();
    if (this.jumpTo !== '' && this.jumpTo !== this.lastJump) {
      this.lastJump = this.jumpTo;
      void this.jumpToMessage(this.jumpTo);
    }
  }

  private updateRange(): void {
    const el = this._scroller;
    const viewport = this.viewport || el?.clientHeight || 800;
    // Stuck to the bottom, the window is the last rows; `updated()` scrolls there once the
    // spacer has its new height (a write before that would be cut to the old height).
    const top =
      this.stick && el !== null
        ? Math.max(0, this.heights.total() - viewport)
        : (el?.scrollTop ?? 0);
    const [a, b] = this.heights.visible(top, viewport, OVERSCAN_PX);
    if (a !== this._range[0] || b !== this._range[1]) this._range = [a, b];
  }

  private ensurePages(): void {
    const s = this.session;
    if (s === undefined) return;
    const [a, b] = this._range;
    if (b <= a) return;
    const first = Math.floor(a / PAGE_SIZE);
    const last = Math.floor((b - 1) / PAGE_SIZE);
    const id = this.conversationId;
    for (let p = first; p <= last; p++) {
      const page = this.pages.get(p);
      if (page?.generation === this.generation || this.loading.has(p)) continue;
      this.loading.add(p);
      const gen = this.generation;
      const seq = this.appendSeq;
      void s.history.range(id, p * PAGE_SIZE, PAGE_SIZE).then((read) => {
        this.loading.delete(p);
        if (id !== this.conversationId) return;
        const shown = this.pages.get(p)?.rows;
        // Rows appended while this read was on its way may be missing from it.
        const fresh = seq !== this.appendSeq ? mergeLastPage(read, shown, PAGE_SIZE) : read;
        // Keep the objects of unchanged messages: their bubbles then skip re-rendering, and a
        // page re-read that changed nothing (the usual case in a burst) renders nothing.
        const { rows, changed } = reuseUnchanged(shown, fresh);
        this.pages.set(p, { rows, generation: gen });
        this.evictPages(first, last);
        if (changed) {
          this.loadExtras(rows);
          this.requestUpdate();
        }
        if (gen !== this.generation) this.ensurePages();
      });
    }
  }

  private evictPages(first: number, last: number): void {
    if (this.pages.size <= MAX_PAGES) return;
    const far = [...this.pages.keys()]
      .filter((p) => p < first - 2 || p > last + 2)
      .sort((x, y) => Math.abs(y - first) - Math.abs(x - first));
    for (const p of far.slice(0, this.pages.size - MAX_PAGES)) this.pages.delete(p);
  }

  private row(i: number): MessageRecord | undefined {
    return this.pages.get(Math.floor(i / PAGE_SIZE))?.rows[i % PAGE_SIZE];
  }

  /** Load quoted messages and decrypt inline images of freshly loaded rows. */
  private loadExtras(rows: MessageRecord[]): void {
    const s = this.session;
    if (s === undefined) return;
    for (const m of rows) {
      const reply = replyToOf(m);
      if (reply !== undefined && !this.quotes.has(reply)) {
        this.quotes.set(reply, null);
        void s.history.get(reply).then((q) => {
          this.quotes.set(reply, q ?? null);
          this.requestUpdate();
        });
      }
      const file = fileOf(m);
      if (
        file !== null &&
        !m.deleted &&
        file.mime.startsWith('image/') &&
        file.size <= AUTO_IMAGE_BYTES &&
        !s.media.has(m.id) &&
        !this.fetchingImages.has(m.id) &&
        s.messenger.capabilities.has('files')
      ) {
        this.fetchingImages.add(m.id);
        void s.messenger
          .downloadFile(m)
          .then((blob) => {
            if (s.media.has(m.id)) return; // the sender's own copy got there first
            s.media.set(m.id, URL.createObjectURL(blob));
            this.requestUpdate();
          })
          .catch(() => {
            // Not downloadable now (offline, expired blob): the thumbnail stays; retry later.
          })
          .finally(() => this.fetchingImages.delete(m.id));
      }
    }
  }

  /** Keep the newest row in view; writes (and so lays out) only when the list grew. */
  private stickToBottom(): void {
    const el = this._scroller;
    const total = this.heights.total();
    if (el === null || total === this.stuckAt) return;
    this.stuckAt = total;
    el.scrollTop = total;
  }

  private onScroll(): void {
    const el = this._scroller;
    if (el === null) return;
    // Against the rendered height: rows appended since the last render are not there yet.
    const stick = el.scrollTop + el.clientHeight >= el.scrollHeight - 48;
    if (stick !== this.stick) this.stuckAt = -1;
    this.stick = stick;
    this._atBottom = this.stick;
    this.updateRange();
    this.ensurePages();
    if (this.stick) this.markRead();
  }

  private onResize(entries: ResizeObserverEntry[]): void {
    const el = this._scroller;
    let changed = false;
    let aboveDelta = 0;
    const firstVisible = el === null ? 0 : this.heights.indexAt(el.scrollTop);
    for (const entry of entries) {
      const target = entry.target as HTMLElement;
      if (target === el) {
        this.viewport = entry.contentRect.height;
        this.stuckAt = -1;
        changed = true;
        continue;
      }
      const index = Number(target.dataset.index);
      if (!Number.isFinite(index)) continue;
      const h = entry.borderBoxSize?.[0]?.blockSize ?? target.offsetHeight;
      const delta = this.heights.set(index, h);
      if (delta !== 0) {
        changed = true;
        if (index < firstVisible) aboveDelta += delta;
      }
    }
    if (!changed || el === null) return;
    // Keep what the reader looks at in place while rows above it get their real heights.
    if (!this.stick && aboveDelta !== 0) el.scrollTop += aboveDelta;
    this.updateRange();
    this.ensurePages();
    this.requestUpdate();
  }

  override updated(): void {
    const el = this._scroller;
    if (el !== null && this.observer !== undefined && !this.observingScroller) {
      this.observingScroller = true;
      this.observer.observe(el);
      this.updateRange();
      this.ensurePages();
    }
    if (this.stick) this.stickToBottom();
    this.unobserveGone();
  }

  /**
   * Rows are measured from the moment they are rendered until they leave the DOM (Lit's `ref`
   * calls this once per row element, and with undefined when it goes): no DOM query per render.
   */
  private readonly observeRow = (el: Element | undefined): void => {
    if (this.observer === undefined) return;
    if (el !== undefined) {
      this.rowElements.add(el);
      this.observer.observe(el);
    }
  };
  private rowElements = new Set<Element>();

  /** Stop measuring rows that left the DOM. */
  private unobserveGone(): void {
    if (this.observer === undefined) return;
    for (const el of this.rowElements) {
      if (!el.isConnected) {
        this.observer.unobserve(el);
        this.rowElements.delete(el);
      }
    }
  }

  /** Scroll to a message by id (search result, quote). */
  async jumpToMessage(id: string): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const m = await s.history.get(id);
    if (m === undefined || m.conversationId !== this.conversationId) return;
    const index = await s.history.indexOf(m);
    this.scrollToIndex(index);
    this._highlight = id;
    setTimeout(() => {
      if (this._highlight === id) this._highlight = '';
    }, 2000);
  }

  /** Scroll so that row `index` is in view. */
  scrollToIndex(index: number): void {
    const el = this._scroller;
    if (el === null) return;
    this.stick = false;
    this._atBottom = false;
    el.scrollTop = Math.max(0, this.heights.offset(index) - el.clientHeight / 3);
    this.updateRange();
    this.ensurePages();
  }

  private scrollToBottom(): void {
    this.stick = true;
    this._atBottom = true;
    this.updateRange();
    this.ensurePages();
    this.markRead();
  }

  /** Read receipts: the engine re-reads the conversation, so at most one call per 500 ms. */
  private readonly markRead = singleFlight(() => this.sendReadReceipts(), 500);

  private async sendReadReceipts(): Promise<void> {
    const s = this.session;
    if (s === undefined || typeof document === 'undefined') return;
    if (document.visibilityState !== 'visible' || !this.stick) return;
    const id = this.conversationId;
    const unread = await s.history.unreadIncoming(id);
    if (unread.length === 0) return;
    s.messenger.markRead(
      id,
      unread.map((m) => ({ id: m.id, sender: m.sender })),
    );
  }

  private async send(e: CustomEvent<{ text: string }>): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const id = this.conversationId;
    const { text } = e.detail;
    try {
      if (this._editing !== undefined) {
        const target = this._editing;
        this._editing = undefined;
        await s.messenger.edit(id, target.id, text);
      } else {
        const replyTo = this._replyTo?.id;
        this._replyTo = undefined;
        this.stick = true;
        await s.messenger.sendText(id, text, replyTo !== undefined ? { replyTo } : {});
        s.pendingDms.delete(parseConversationId(id).ref);
      }
      s.touch(id);
    } catch (err) {
      this.toast(err);
    }
  }

  private toast(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this._uploads = [
      ...this._uploads,
      { key: ++this.uploadSeq, name: '', progress: 0, error: msg },
    ];
    const key = this.uploadSeq;
    setTimeout(() => (this._uploads = this._uploads.filter((u) => u.key !== key)), 6000);
  }

  /** Encrypt, upload and send files (picker, paste, drop). */
  async sendFiles(files: File[]): Promise<void> {
    const s = this.session;
    if (s === undefined || !s.messenger.capabilities.has('files')) return;
    const id = this.conversationId;
    for (const file of files) {
      const key = ++this.uploadSeq;
      this._uploads = [...this._uploads, { key, name: file.name, progress: 0 }];
      const set = (patch: Partial<Upload>): void => {
        this._uploads = this._uploads.map((u) => (u.key === key ? { ...u, ...patch } : u));
      };
      try {
        const thumb = await makeThumbnail(file);
        this.stick = true;
        const sent = await s.messenger.sendFile(id, file, (progress) => set({ progress }), thumb);
        // The sender has the image already: show it without downloading it back.
        if (file.type.startsWith('image/') && !s.media.has(sent.id)) {
          s.media.set(sent.id, URL.createObjectURL(file));
          this.requestUpdate();
        }
        this._uploads = this._uploads.filter((u) => u.key !== key);
        s.touch(id);
      } catch (err) {
        set({ error: err instanceof Error ? err.message : String(err) });
        setTimeout(() => (this._uploads = this._uploads.filter((u) => u.key !== key)), 8000);
      }
    }
  }

  private async react(e: CustomEvent<ReactDetail>): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    try {
      await s.messenger.react(
        this.conversationId,
        e.detail.message.id,
        e.detail.emoji,
        e.detail.remove,
      );
      s.touch(this.conversationId);
    } catch (err) {
      this.toast(err);
    }
  }

  private async pickReaction(e: CustomEvent<MessageRecord>): Promise<void> {
    await import('./emoji-picker.ts');
    this._reactFor = e.detail;
  }

  private async deleteMessage(e: CustomEvent<MessageRecord>): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    if (!confirm('Delete this message for everyone?')) return;
    try {
      await s.messenger.deleteForEveryone(this.conversationId, e.detail.id);
      s.touch(this.conversationId);
    } catch (err) {
      this.toast(err);
    }
  }

  private async download(e: CustomEvent<MessageRecord>): Promise<void> {
    const s = this.session;
    const m = e.detail;
    const file = fileOf(m);
    if (s === undefined || file === null) return;
    try {
      let url = s.media.get(m.id);
      if (url === undefined) {
        this._progress = new Map(this._progress).set(m.id, 0);
        const blob = await s.messenger.downloadFile(m, (p) => {
          this._progress = new Map(this._progress).set(m.id, p);
        });
        url = URL.createObjectURL(blob);
        s.media.set(m.id, url);
      }
      const a = document.createElement('a');
      a.href = url;
      a.download = file.name;
      a.click();
    } catch (err) {
      this.toast(err);
    } finally {
      const next = new Map(this._progress);
      next.delete(m.id);
      this._progress = next;
    }
  }

  private onDragOver(e: DragEvent): void {
    if (!this.session?.messenger.capabilities.has('files')) return;
    if (e.dataTransfer?.types.includes('Files') !== true) return;
    e.preventDefault();
    this._dragging = true;
  }

  private onDrop(e: DragEvent): void {
    this._dragging = false;
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length === 0) return;
    e.preventDefault();
    void this.sendFiles(files);
  }

  private subtitle(s: ChatSession): string {
    const { kind, ref } = parseConversationId(this.conversationId);
    const typing = s.typingIn(this.conversationId);
    if (kind === 'dm') {
      if (typing.length > 0) return 'typing…';
      const p = s.presence.get(ref);
      if (p?.online === true) return 'online';
      if (p?.lastSeen !== undefined) return lastSeenLabel(p.lastSeen);
      return '';
    }
    if (typing.length > 0) return `${typing.join(', ')} typing…`;
    return this._group !== undefined ? `${this._group.members.length} members` : '';
  }

  private renderRow(i: number, isGroup: boolean, me: string): TemplateResult {
    const m = this.row(i);
    const top = this.heights.offset(i);
    if (m === undefined) {
      return html`<div
        class="row"
        data-index=${i}
        style="transform:translateY(${top}px)"
        ${ref(this.observeRow)}
      >
        <div class="placeholder" aria-hidden="true"></div>
      </div>`;
    }
    const prev = i > 0 ? this.row(i - 1) : undefined;
    const newDay =
      i === 0 ||
      (prev !== undefined &&
        new Date(prev.timestamp).toDateString() !== new Date(m.timestamp).toDateString());
    const showSender =
      isGroup && !m.outgoing && (newDay || prev === undefined || prev.sender !== m.sender);
    if (isNotice(m)) return this.renderNotice(m, i, top, newDay);
    const reply = replyToOf(m);
    const s = this.session;
    return html`<div
      class="row ${this._highlight === m.id ? 'highlight' : ''}"
      data-index=${i}
      style="transform:translateY(${top}px)"
      ${ref(this.observeRow)}
    >
      ${
        newDay
          ? html`<div class="day" role="separator"><span>${dayLabel(m.timestamp)}</span></div>`
          : nothing
      }
      <message-bubble
        .message=${m}
        .me=${me}
        .showSender=${showSender}
        .quoted=${reply !== undefined ? (this.quotes.get(reply) ?? undefined) : undefined}
        .imageUrl=${s?.media.get(m.id) ?? ''}
        .progress=${this._progress.get(m.id) ?? -1}
        .can=${s?.messenger.capabilities ?? new Set()}
      ></message-bubble>
    </div>`;
  }

  /** A line the engine wrote into the timeline (a contact's key changed): no bubble, no actions. */
  private renderNotice(m: MessageRecord, i: number, top: number, newDay: boolean): TemplateResult {
    const user = typeof m.body.user === 'string' ? m.body.user : '';
    const review = `#/c/${encodeURIComponent(`dm:${user}`)}/info`;
    return html`<div
      class="row"
      data-index=${i}
      style="transform:translateY(${top}px)"
      ${ref(this.observeRow)}
    >
      ${
        newDay
          ? html`<div class="day" role="separator"><span>${dayLabel(m.timestamp)}</span></div>`
          : nothing
      }
      <div class="notice" role="note" data-notice=${String(m.body.notice)}>
        <span>${noticeText(m)}</span>
        ${
          user !== ''
            ? html`<button
                aria-label="Review safety number with ${user}"
                @click=${() => (location.hash = review)}
              >
                Review
              </button>`
            : nothing
        }
      </div>
    </div>`;
  }

  override render(): TemplateResult {
    const s = this.session;
    if (s === undefined) return html``;
    const { kind, ref } = parseConversationId(this.conversationId);
    const isGroup = kind === 'group';
    const title = isGroup ? (this._group?.name ?? 'Group') : ref;
    const me = s.account.username;
    const [a, b] = this._range;
    const indexes: number[] = [];
    for (let i = a; i < b; i++) indexes.push(i);
    const keyChangedUsers = isGroup
      ? (this._group?.members ?? []).filter((u) => s.keyChanges.has(u))
      : s.keyChanges.has(ref) || (s.held.get(ref) ?? 0) > 0
        ? [ref]
        : [];
    const blocking = keyChangedUsers.some(
      (u) => s.keyChanges.get(u) === true || (s.held.get(u) ?? 0) > 0,
    );
    const frozen = isGroup ? (s.frozenGroups.get(ref) ?? this._group?.frozen?.reason) : undefined;
    const removed =
      isGroup && this._group !== undefined && !this._group.members.includes(me)
        ? 'You are no longer a member of this group.'
        : isGroup && this._group === undefined && this._count >= 0
          ? 'This group is not available on this device.'
          : '';
    const typing = s.typingIn(this.conversationId);
    let badge = '';
    if (!isGroup) {
      for (let i = b - 1; i >= a && badge === ''; i--) {
        const kind = this.row(i)?.senderKind;
        if (kind === 'bot' || kind === 'bridge') badge = kind;
      }
    }
    const presence = kind === 'dm' ? s.presence.get(ref) : undefined;
    return html`<header class="bar">
        <a class="icon back" href="#/" aria-label="Back to chats">${icons.back}</a>
        <span class="avatar" style="background:${colorFor(title)}" aria-hidden="true"
          >${isGroup ? '#' : title.slice(0, 1)}${
            presence?.online === true ? html`<span class="dot"></span>` : nothing
          }</span
        >
        <h2>
          ${title}${badge !== '' ? html` <span class="tag" data-badge>${badge}</span>` : nothing}
          <span class="sub" aria-live="polite" data-subtitle>${this.subtitle(s)}</span>
        </h2>
        <a
          class="icon"
          href="#/c/${encodeURIComponent(this.conversationId)}/info"
          aria-label=${isGroup ? 'Group settings' : 'Contact info and safety number'}
          title=${isGroup ? 'Group settings' : 'Contact info'}
          >${icons.info}</a
        >
      </header>
      ${keyChangedUsers.map(
        (u) =>
          html`<key-change-banner
            .username=${u}
            .verified=${s.keyChanges.get(u) === true}
            .held=${isGroup ? 0 : (s.held.get(u) ?? 0)}
            .conversationId=${this.conversationId}
          ></key-change-banner>`,
      )}
      ${frozen !== undefined ? html`<group-frozen-banner .reason=${frozen}></group-frozen-banner>` : nothing}
      ${isGroup && removed === '' && frozen === undefined ? html`<group-key-banner .groupId=${ref}></group-key-banner>` : nothing}
      <security-notice-strip .scope=${this.conversationId}></security-notice-strip>
      <div
        class="scroller"
        role="log"
        aria-label="Messages"
        aria-live="polite"
        tabindex="0"
        @scroll=${this.onScroll}
        @dragover=${this.onDragOver}
        @dragleave=${() => (this._dragging = false)}
        @drop=${this.onDrop}
        @reply=${(e: CustomEvent<MessageRecord>) => {
          this._editing = undefined;
          this._replyTo = e.detail;
        }}
        @edit=${(e: CustomEvent<MessageRecord>) => {
          this._replyTo = undefined;
          this._editing = e.detail;
        }}
        @react=${this.react}
        @pick-reaction=${this.pickReaction}
        @delete=${this.deleteMessage}
        @download=${this.download}
        @jump=${(e: CustomEvent<string>) => void this.jumpToMessage(e.detail)}
      >
        ${
          this._count === 0
            ? html`<div class="empty">
                No messages yet. Say hello — it is end-to-end encrypted.
              </div>`
            : nothing
        }
        <div class="spacer" style="height:${this.heights.total()}px">
          ${repeat(
            indexes,
            (i) => this.row(i)?.id ?? `i${i}`,
            (i) => this.renderRow(i, isGroup, me),
          )}
        </div>
      </div>
      ${
        !this._atBottom
          ? html`<button class="jump" aria-label="Jump to latest" @click=${this.scrollToBottom}>
              ${icons.down}
            </button>`
          : nothing
      }
      <div class="typing" aria-live="polite">
        ${
          typing.length > 0
            ? isGroup
              ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`
              : `${ref} is typing…`
            : ''
        }
      </div>
      ${
        this._uploads.length > 0
          ? html`<div class="uploads" role="status">
              ${this._uploads.map((u) =>
                u.error !== undefined
                  ? html`<div class="error">${u.name ? `${u.name}: ` : ''}${u.error}</div>`
                  : html`<div>
                      Uploading ${u.name}…
                      <progress
                        max="1"
                        .value=${u.progress}
                        aria-label="Uploading ${u.name}"
                      ></progress>
                    </div>`,
              )}
            </div>`
          : nothing
      }
      <chat-composer
        .replyTo=${this._replyTo}
        .editing=${this._editing}
        .canFiles=${s.messenger.capabilities.has('files')}
        .disabledReason=${
          removed !== ''
            ? removed
            : frozen !== undefined
              ? frozenComposerReason(frozen)
              : blocking
                ? 'Sending is paused until you review the new safety number.'
                : ''
        }
        @send=${this.send}
        @typing=${(e: CustomEvent<{ typing: boolean }>) =>
          s.messenger.setTyping(this.conversationId, e.detail.typing)}
        @files=${(e: CustomEvent<{ files: File[] }>) => void this.sendFiles(e.detail.files)}
        @cancel=${() => {
          this._replyTo = undefined;
          this._editing = undefined;
        }}
      ></chat-composer>
      ${this._dragging ? html`<div class="drop">Drop to send encrypted</div>` : nothing}
      ${
        this._reactFor !== undefined
          ? html`<div
              class="overlay"
              @click=${(e: Event) => {
                if (e.target === e.currentTarget) this._reactFor = undefined;
              }}
            >
              <emoji-picker
                @emoji-selected=${(e: CustomEvent<string>) => {
                  const m = this._reactFor;
                  this._reactFor = undefined;
                  if (m !== undefined) {
                    void this.react(
                      new CustomEvent<ReactDetail>('react', {
                        detail: { message: m, emoji: e.detail, remove: false },
                      }),
                    );
                  }
                }}
                @close=${() => (this._reactFor = undefined)}
              ></emoji-picker>
            </div>`
          : nothing
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'conversation-view': ConversationView;
  }
}
