/**
 * Receipt batching (DESIGN.md §5.1, PROTOCOL.md §12 `receipt`): `delivered` receipts go back to
 * the sending device for every acknowledged payload, and `read` receipts on demand. Receipts
 * for the same device and status travel as one encrypted `receipt` payload (up to 1000 ids), so
 * a burst of messages does not cost a burst of receipts:
 *
 * - a batch goes out once no receipt was added for `delayMs` (an isolated message is
 *   acknowledged within ~50 ms), but while a burst keeps adding, at most once per `maxDelayMs`
 *   — so a burst of thousands of messages arriving over many seconds costs about one receipt
 *   per device and status per second, not one per message;
 * - while more received messages wait to be handled (`busy`: the inbound backlog), the quiet
 *   time is not over: the receive batches of a burst come a batch's work apart, longer than
 *   `delayMs`, and each used to send its own receipts — a send under the engine's lock, a
 *   session read and a commit, about a sixth of a queued burst's time (issue 23);
 * - `read` supersedes `delivered`, and `played` (voice notes) supersedes both (receipt states
 *   only move forward, and each one clears the sender's outbox entry): a message read before
 *   its `delivered` receipt went out is sent only in the `read` receipt.
 */
import { RECEIPT_ORDER, type ReceiptStatus } from '../store/types.ts';

/** A status a receipt carries. */
export type SentReceiptStatus = Exclude<ReceiptStatus, 'sent'>;

const SENT_STATUSES: readonly SentReceiptStatus[] = ['delivered', 'read', 'played'];

/** How receipts are sent once batched. */
export type SendReceipt = (
  user: string,
  device: string,
  status: SentReceiptStatus,
  ids: string[],
) => Promise<void>;

/** Ids per `receipt` payload (PROTOCOL.md §12: 1–1000). */
export const MAX_RECEIPT_IDS = 1000;

/** Timing of {@link ReceiptBatcher} (ms). */
export interface ReceiptTiming {
  /** Quiet time after the last added receipt before a batch goes out. */
  delayMs: number;
  /** Longest a receipt waits while a burst keeps adding more. */
  maxDelayMs: number;
}

/** Default {@link ReceiptTiming}. */
export const RECEIPT_TIMING: ReceiptTiming = { delayMs: 50, maxDelayMs: 1000 };

/** Collects receipts per (user, device, status) and flushes them in batches. */
export class ReceiptBatcher {
  readonly #pending = new Map<
    string,
    { user: string; device: string; status: SentReceiptStatus; ids: Set<string> }
  >();
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** When the oldest pending receipt was added (for {@link ReceiptTiming.maxDelayMs}). */
  #since = 0;
  /** When the newest one was added (for {@link ReceiptTiming.delayMs}). */
  #last = 0;
  readonly #timing: ReceiptTiming;
  readonly #now: () => number;
  /** More received messages wait to be handled: their receipts will join this batch. */
  readonly #busy: () => boolean;

  constructor(
    private readonly send: SendReceipt,
    private readonly onError: (err: unknown) => void,
    options: {
      timing?: Partial<ReceiptTiming>;
      now?: () => number;
      /** More received messages wait to be handled (the inbound backlog). */
      busy?: () => boolean;
    } = {},
  ) {
    this.#timing = { ...RECEIPT_TIMING, ...options.timing };
    this.#now = options.now ?? (() => Date.now());
    this.#busy = options.busy ?? (() => false);
  }

  /** Queue a receipt for message `id` to one device. */
  add(user: string, device: string, status: SentReceiptStatus, id: string): void {
    const key = (s: string): string => `${user}|${device}|${s}`;
    for (const other of SENT_STATUSES) {
      if (RECEIPT_ORDER[other] > RECEIPT_ORDER[status]) {
        if (this.#pending.get(key(other))?.ids.has(id) === true) return;
      } else if (other !== status) {
        this.#pending.get(key(other))?.ids.delete(id);
      }
    }
    let p = this.#pending.get(key(status));
    if (!p) this.#pending.set(key(status), (p = { user, device, status, ids: new Set() }));
    p.ids.add(id);
    this.#schedule();
  }

  /** Number of receipt ids waiting to be sent. */
  get pending(): number {
    let n = 0;
    for (const p of this.#pending.values()) n += p.ids.size;
    return n;
  }

  /**
   * One timer for the batch: an added receipt only moves the quiet deadline, and the timer,
   * when it fires early, waits again for the deadline left. (Clearing and setting a timer for
   * every receipt was 2 % of a queued burst's CPU, issue 23.)
   */
  #schedule(): void {
    const now = this.#now();
    this.#last = now;
    if (this.#timer !== null) return;
    this.#since = now;
    this.#arm(now);
  }

  /**
   * Wait until the batch is due: quiet for `delayMs` with nothing more waiting to be received,
   * or `maxDelayMs` after its first.
   */
  #arm(now: number): void {
    const { delayMs, maxDelayMs } = this.#timing;
    const latest = this.#since + maxDelayMs;
    let due = Math.min(this.#last + delayMs, latest);
    if (due <= now && now < latest && this.#busy()) due = Math.min(now + delayMs, latest);
    if (due <= now) {
      this.#timer = null;
      void this.flush();
      return;
    }
    this.#timer = setTimeout(() => this.#arm(this.#now()), due - now);
  }

  /** Send everything queued now. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batches = [...this.#pending.values()].filter((b) => b.ids.size > 0);
    this.#pending.clear();
    for (const b of batches) {
      const ids = [...b.ids];
      for (let i = 0; i < ids.length; i += MAX_RECEIPT_IDS) {
        try {
          await this.send(b.user, b.device, b.status, ids.slice(i, i + MAX_RECEIPT_IDS));
        } catch (err) {
          this.onError(err);
        }
      }
    }
  }

  /** Drop the timer (engine closing); call {@link flush} first to send what is queued. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
