/**
 * Receipt batching (DESIGN.md §5.1): `delivered` receipts go back to the
 * sending device for every acknowledged payload, and `read` receipts on
 * demand. Receipts for the same device and status that pile up within a few
 * milliseconds travel as one encrypted `receipt` payload (up to 1000 ids), so
 * a burst of messages does not cost a burst of receipts.
 */
import type { ReceiptStatus } from '../store/types.ts';

/** How receipts are sent once batched. */
export type SendReceipt = (
  user: string,
  device: string,
  status: Exclude<ReceiptStatus, 'sent'>,
  ids: string[],
) => Promise<void>;

const MAX_IDS = 1000;

/** Collects receipts per (user, device, status) and flushes them shortly after. */
export class ReceiptBatcher {
  readonly #pending = new Map<
    string,
    { user: string; device: string; status: 'delivered' | 'read'; ids: Set<string> }
  >();
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly send: SendReceipt,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = 50,
  ) {}

  /** Queue a receipt for message `id` to one device. */
  add(user: string, device: string, status: 'delivered' | 'read', id: string): void {
    const key = `${user}|${device}|${status}`;
    let p = this.#pending.get(key);
    if (!p) this.#pending.set(key, (p = { user, device, status, ids: new Set() }));
    p.ids.add(id);
    this.#timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Send everything queued now. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    for (const b of batches) {
      const ids = [...b.ids];
      for (let i = 0; i < ids.length; i += MAX_IDS) {
        try {
          await this.send(b.user, b.device, b.status, ids.slice(i, i + MAX_IDS));
        } catch (err) {
          this.onError(err);
        }
      }
    }
  }

  /** Drop the timer (engine closing). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
