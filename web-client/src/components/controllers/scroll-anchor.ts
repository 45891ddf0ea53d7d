/**
 * Scroll anchoring of the virtual message list: row heights (estimated, then measured with a
 * `ResizeObserver` as rows render), the window of rows to render for the scroll position, and
 * where the list stays while heights and rows change — stuck to the newest row while the
 * reader is at the bottom, otherwise on what the reader looks at (rows above it getting their
 * real heights do not push it away). Non-visual: `<message-list>` draws the rows it names.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { HeightIndex } from '../../services/virtual.ts';

/** Estimated row height before measuring (px). */
export const ROW_ESTIMATE = 56;
/** Extra px rendered above and below the viewport. */
export const OVERSCAN_PX = 800;
/** Within this many px of the end the reader counts as at the bottom. */
const BOTTOM_SLACK_PX = 48;

/** Whether the reader sees the end of the list (against the rendered height: rows appended
 * since the last render are not there yet). */
function atEnd(el: HTMLElement): boolean {
  return el.scrollTop + el.clientHeight >= el.scrollHeight - BOTTOM_SLACK_PX;
}

/** Heights, visible window and bottom-stickiness of one list. */
export class ScrollAnchor implements ReactiveController {
  readonly heights = new HeightIndex(ROW_ESTIMATE);
  /** Rows `[start, end)` to render. */
  range: readonly [number, number] = [0, 0];
  /** The reader is at the bottom: new rows scroll into view. */
  stick = true;

  private observer: ResizeObserver | undefined;
  private observingScroller = false;
  /** Scroller height from the ResizeObserver (0 until measured): no layout read per refresh. */
  private viewport = 0;
  /** `heights.total()` last written to `scrollTop` while stuck to the bottom (-1: none). */
  private stuckAt = -1;
  private rowElements = new Set<Element>();

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: {
      scroller: () => HTMLElement | null;
      /** The window or the heights changed: read the rows now in it. */
      moved: () => void;
      /** The reader's bottom-stickiness changed (from a scroll, a jump or "jump to latest"). */
      stickChanged: (stick: boolean) => void;
    },
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    if (typeof ResizeObserver !== 'undefined') {
      this.observer = new ResizeObserver((entries) => this.onResize(entries));
    }
  }

  hostDisconnected(): void {
    this.observer?.disconnect();
    this.observingScroller = false;
  }

  hostUpdated(): void {
    const el = this.options.scroller();
    if (el !== null && this.observer !== undefined && !this.observingScroller) {
      this.observingScroller = true;
      this.observer.observe(el);
      this.update();
      this.options.moved();
    }
    if (this.stick) this.stickToBottom();
    this.unobserveGone();
  }

  /** Start over with `count` rows, at the bottom. */
  reset(count = 0): void {
    this.heights.reset(count);
    this.range = [0, 0];
    this.setStick(true);
    this.stuckAt = -1;
  }

  /** Recompute the window of rows for the scroll position (or the bottom, while stuck). */
  update(): void {
    const el = this.options.scroller();
    const viewport = this.viewport || el?.clientHeight || 800;
    // Stuck to the bottom, the window is the last rows; `hostUpdated()` scrolls there once the
    // spacer has its new height (a write before that would be cut to the old height).
    const top =
      this.stick && el !== null
        ? Math.max(0, this.heights.total() - viewport)
        : (el?.scrollTop ?? 0);
    const [a, b] = this.heights.visible(top, viewport, OVERSCAN_PX);
    if (a !== this.range[0] || b !== this.range[1]) {
      this.range = [a, b];
      this.host.requestUpdate();
    }
  }

  /** Keep the newest row in view; writes (and so lays out) only when the list grew. */
  private stickToBottom(): void {
    const el = this.options.scroller();
    const total = this.heights.total();
    if (el === null || total === this.stuckAt) return;
    this.stuckAt = total;
    el.scrollTop = total;
  }

  private setStick(stick: boolean): void {
    if (stick !== this.stick) this.stuckAt = -1;
    this.stick = stick;
    this.options.stickChanged(stick);
  }

  /** The scroller's `scroll` event. */
  readonly onScroll = (): void => {
    const el = this.options.scroller();
    if (el === null) return;
    this.setStick(atEnd(el));
    this.update();
    this.options.moved();
  };

  private onResize(entries: ResizeObserverEntry[]): void {
    const el = this.options.scroller();
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
    this.update();
    this.options.moved();
    this.host.requestUpdate();
  }

  /**
   * Rows are measured from the moment they are rendered until they leave the DOM (Lit's `ref`
   * calls this once per row element, and with undefined when it goes): no DOM query per render.
   */
  readonly observeRow = (el: Element | undefined): void => {
    if (this.observer === undefined || el === undefined) return;
    this.rowElements.add(el);
    this.observer.observe(el);
  };

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

  /** Scroll so that row `index` is in view (a third from the top). */
  scrollToIndex(index: number): void {
    const el = this.options.scroller();
    if (el === null) return;
    this.setStick(false);
    el.scrollTop = Math.max(0, this.heights.offset(index) - el.clientHeight / 3);
    // A row near the end cannot go a third from the top: the list is at its end, and no scroll
    // event says so when `scrollTop` was there already.
    if (atEnd(el)) this.setStick(true);
    this.update();
    this.options.moved();
  }

  /** Go to the newest row and stay there. */
  followLatest(): void {
    this.setStick(true);
    this.update();
    this.options.moved();
  }
}
