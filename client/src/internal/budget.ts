/**
 * Per-sender budgets for envelopes that fail (PROTOCOL.md §6.7, docs/SECURITY.md): anyone may
 * publish to an inbox, and a forged RATCHET envelope that asks for the largest skip costs the
 * receiver ~3 ms of key derivation before its AEAD fails; a forged PREKEY envelope from an
 * unknown user costs a directory look-up. Each claimed sender (user, device) may fail
 * {@link PER_SENDER} times per window, and all senders together {@link OVERALL} times; past
 * that their envelopes are dropped untried until the window ends. A legitimate envelope never
 * fails, so it never spends budget; at worst a flood forged in a peer's name delays that
 * peer's messages until the window ends (its outbox re-sends what was not acknowledged).
 */

/** Failures one claimed sender may cause per window. */
export const PER_SENDER = 50;
/** Failures all senders together may cause per window. */
export const OVERALL = 500;
/** Window length. */
export const WINDOW_MS = 60_000;

interface Count {
  start: number;
  failures: number;
}

/** Failure budgets of claimed senders. */
export class SenderBudget {
  readonly #counts = new Map<string, Count>();
  #overall: Count = { start: 0, failures: 0 };

  constructor(private readonly now: () => number) {}

  #fresh(c: Count | undefined, at: number): Count {
    return c && at - c.start < WINDOW_MS ? c : { start: at, failures: 0 };
  }

  /** True while `sender` (and everyone together) still has budget. */
  allows(sender: string): boolean {
    const at = this.now();
    const c = this.#fresh(this.#counts.get(sender), at);
    this.#overall = this.#fresh(this.#overall, at);
    return c.failures < PER_SENDER && this.#overall.failures < OVERALL;
  }

  /** Spend one failure of `sender`. True when this one used up a budget (report it once). */
  charge(sender: string): boolean {
    const at = this.now();
    const c = this.#fresh(this.#counts.get(sender), at);
    c.failures += 1;
    this.#counts.set(sender, c);
    this.#overall = this.#fresh(this.#overall, at);
    this.#overall.failures += 1;
    // Forget finished windows now and then, so forged sender names cannot grow the map.
    if (this.#counts.size > 10_000) {
      for (const [k, v] of this.#counts) if (at - v.start >= WINDOW_MS) this.#counts.delete(k);
    }
    return c.failures === PER_SENDER || this.#overall.failures === OVERALL;
  }
}
