/**
 * The rows of one conversation, read from the local history in pages on demand: only the pages
 * around what is on screen are in memory (at most {@link MAX_PAGES}), a re-read keeps the
 * objects of unchanged messages (their bubbles skip re-rendering), and new messages go straight
 * into the last page instead of re-reading it. Non-visual and without a lifecycle of its own:
 * `<message-list>` drives it and draws the rows; it only asks the host to render.
 */
import type { ReactiveControllerHost } from 'lit';
import type { MessageRecord } from '../../services/engine-types.ts';
import type { HistoryStore } from '../../services/history.ts';
import { mergeLastPage, placeNew, reuseUnchanged } from '../../services/history.ts';

/** Rows read from IndexedDB at a time. */
export const PAGE_SIZE = 100;
/** Pages kept in memory. */
export const MAX_PAGES = 24;

interface Page {
  rows: MessageRecord[];
  generation: number;
}

/** What an append changed (see {@link PagedRows.append}). */
export interface Appended {
  /** Index of the first row that moved or is new. */
  first: number;
  /** Ids of the rows that were at `first…` before, in order (they moved down). */
  moved: string[];
  /** The messages that were not shown before. */
  fresh: MessageRecord[];
}

/** Pages of a conversation's rows. */
export class PagedRows {
  /** Rows in the conversation; -1 until first read. */
  count = -1;
  private pages = new Map<number, Page>();
  private loading = new Set<number>();
  private generation = 0;
  /** Messages appended since the conversation opened (a page read that started before one merges it). */
  private appendSeq = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly source: {
      history: () => HistoryStore | undefined;
      conversationId: () => string;
      /** Rows `[start, end)` on screen now (with overscan). */
      range: () => readonly [number, number];
      /** Rows shown for the first time or changed (to load their quotes and images). */
      loaded: (rows: MessageRecord[]) => void;
    },
  ) {}

  /** Forget every row (another conversation). */
  reset(): void {
    this.pages.clear();
    this.loading.clear();
    this.generation++;
    this.count = -1;
    this.appendSeq = 0;
  }

  /** The row at `index`, when its page is loaded. */
  row(index: number): MessageRecord | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.rows[index % PAGE_SIZE];
  }

  /**
   * Re-read the number of rows and mark every page stale (re-read when next shown). Resolves
   * false when the conversation changed meanwhile.
   */
  async readCount(): Promise<boolean> {
    const history = this.source.history();
    const id = this.source.conversationId();
    if (history === undefined || id === '') return false;
    const count = await history.count(id);
    if (id !== this.source.conversationId()) return false;
    this.generation++;
    // Messages are never removed from a conversation: a count read before an append landed
    // must not take the appended rows away.
    this.count = Math.max(count, this.count);
    return true;
  }

  /** Read the pages of the rows on screen that are missing or stale. */
  ensure(): void {
    const [a, b] = this.source.range();
    const history = this.source.history();
    if (history === undefined || b <= a) return;
    const first = Math.floor(a / PAGE_SIZE);
    const last = Math.floor((b - 1) / PAGE_SIZE);
    const id = this.source.conversationId();
    for (let p = first; p <= last; p++) {
      const page = this.pages.get(p);
      if (page?.generation === this.generation || this.loading.has(p)) continue;
      this.loading.add(p);
      const gen = this.generation;
      const seq = this.appendSeq;
      void history.range(id, p * PAGE_SIZE, PAGE_SIZE).then((read) => {
        this.loading.delete(p);
        if (id !== this.source.conversationId()) return;
        const shown = this.pages.get(p)?.rows;
        // Rows appended while this read was on its way may be missing from it.
        const fresh = seq !== this.appendSeq ? mergeLastPage(read, shown, PAGE_SIZE) : read;
        // Keep the objects of unchanged messages: their bubbles then skip re-rendering, and a
        // page re-read that changed nothing (the usual case in a burst) renders nothing.
        const { rows, changed } = reuseUnchanged(shown, fresh);
        this.pages.set(p, { rows, generation: gen });
        this.evict(first, last);
        if (changed) {
          this.source.loaded(rows);
          this.host.requestUpdate();
        }
        if (gen !== this.generation) this.ensure();
      });
    }
  }

  private evict(first: number, last: number): void {
    if (this.pages.size <= MAX_PAGES) return;
    const far = [...this.pages.keys()]
      .filter((p) => p < first - 2 || p > last + 2)
      .sort((x, y) => Math.abs(y - first) - Math.abs(x - first));
    for (const p of far.slice(0, this.pages.size - MAX_PAGES)) this.pages.delete(p);
  }

  /**
   * Put new messages (the engine's `message` events) into the rows in memory when the end of
   * the list is loaded. Returns null when one belongs before the loaded end (an old timestamp)
   * or the end is not loaded: the caller re-reads.
   */
  append(messages: readonly MessageRecord[]): Appended | null {
    const count = this.count;
    if (count < 0) return null;
    const lastPage = count === 0 ? 0 : Math.floor((count - 1) / PAGE_SIZE);
    const start = lastPage * PAGE_SIZE;
    const tail = count === start ? [] : this.pages.get(lastPage)?.rows;
    if (tail === undefined || tail.length !== count - start) return null;
    // A re-read that landed after the engine stored these may show some already.
    const before = this.pages.get(lastPage - 1)?.rows ?? [];
    const placed = placeNew(tail, start, messages, (id) => before.some((m) => m.id === id));
    if (placed === null) return null;
    if (placed.added === 0) return { first: count, moved: [], fresh: [] }; // all shown already
    const moved: string[] = [];
    for (let i = placed.first; i < count; i++) moved.push(this.row(i)?.id ?? '');
    for (let i = 0; i < placed.rows.length; i += PAGE_SIZE) {
      this.pages.set(lastPage + i / PAGE_SIZE, {
        rows: placed.rows.slice(i, i + PAGE_SIZE),
        generation: this.generation,
      });
    }
    this.count = count + placed.added;
    this.appendSeq++;
    const old = new Set(tail.map((m) => m.id));
    return { first: placed.first, moved, fresh: placed.rows.filter((m) => !old.has(m.id)) };
  }
}
