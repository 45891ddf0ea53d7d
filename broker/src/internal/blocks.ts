/**
 * Short-lived cache of block lists for [ACL-12] (issue 17): a DM from a user the recipient
 * blocks is accepted (PUBACK) and dropped, so the sender learns nothing. The publish hook asks
 * for every DM, so a fresh entry answers synchronously; a missing or old one costs one store
 * read, shared by concurrent callers. A `blocks-changed` event drops the entry at once (and a
 * generation counter keeps a read that started before it from writing the old list back); the
 * TTL bounds how long a change missed by a network bus goes unseen.
 */
import type { AclStoreQueries } from '../types.ts';

interface Entry {
  blocked: ReadonlySet<string>;
  at: number;
}

/** Block lists keyed by the blocking user. */
export class BlockCache {
  readonly #entries = new Map<string, Entry>();
  readonly #generation = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<ReadonlySet<string>>>();

  constructor(
    private readonly store: Pick<AclStoreQueries, 'listBlocked'>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** Does `blocker` block `sender`? A boolean from a fresh entry, else a promise. */
  blocks(blocker: string, sender: string): boolean | Promise<boolean> {
    const e = this.#entries.get(blocker);
    if (e && Date.now() - e.at < this.ttlMs) return e.blocked.has(sender);
    return this.#fetch(blocker).then((set) => set.has(sender));
  }

  /** `blocker`'s list changed: forget it now; the next DM to them reads it again. */
  changed(blocker: string): void {
    this.#generation.set(blocker, (this.#generation.get(blocker) ?? 0) + 1);
    this.#entries.delete(blocker);
    this.#inflight.delete(blocker);
  }

  #fetch(blocker: string): Promise<ReadonlySet<string>> {
    const pending = this.#inflight.get(blocker);
    if (pending) return pending;
    const gen = this.#generation.get(blocker) ?? 0;
    const p = this.store.listBlocked(blocker).then((list) => {
      const set = new Set(list);
      if ((this.#generation.get(blocker) ?? 0) === gen) {
        this.#entries.delete(blocker);
        this.#entries.set(blocker, { blocked: set, at: Date.now() });
        if (this.#entries.size > this.maxEntries) {
          const oldest = this.#entries.keys().next().value;
          if (oldest !== undefined) this.#entries.delete(oldest);
        }
      }
      return set;
    });
    const forget = () => {
      if (this.#inflight.get(blocker) === p) this.#inflight.delete(blocker);
    };
    p.then(forget, forget);
    this.#inflight.set(blocker, p);
    return p;
  }
}
