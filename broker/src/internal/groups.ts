/**
 * Short-lived cache of group member lists for the ACL. Subscribe and publish
 * checks read through it (one store query per group per `ttlMs`); the
 * synchronous `authorizeForward` hook can only peek. A `group-changed` event
 * drops the entry at once and refetches it, and a generation counter keeps a
 * query that started before the change from writing its stale answer back.
 */
import type { AclStoreQueries } from '../types.ts';

interface Entry {
  members: ReadonlySet<string> | null;
  at: number;
}

/** Member-list cache keyed by group id. */
export class GroupCache {
  readonly #entries = new Map<string, Entry>();
  readonly #generation = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<ReadonlySet<string> | null>>();

  constructor(
    private readonly store: Pick<AclStoreQueries, 'groupMembers'>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** Is `username` a current member? Queries the store when the entry is missing or older than the TTL. */
  async isMember(groupId: string, username: string): Promise<boolean> {
    const e = this.#entries.get(groupId);
    if (e && Date.now() - e.at < this.ttlMs) return e.members?.has(username) ?? false;
    const members = await this.refresh(groupId);
    return members?.has(username) ?? false;
  }

  /** Synchronous look-up for the forward hook: `undefined` when not cached (any age counts). */
  peek(groupId: string, username: string): boolean | undefined {
    const e = this.#entries.get(groupId);
    if (!e) return undefined;
    return e.members?.has(username) ?? false;
  }

  /** Fetch the member list now (shared between concurrent callers). */
  refresh(groupId: string): Promise<ReadonlySet<string> | null> {
    const pending = this.#inflight.get(groupId);
    if (pending) return pending;
    const gen = this.#generation.get(groupId) ?? 0;
    const p = this.store
      .groupMembers(groupId)
      .then((list) => {
        const members = list === null ? null : new Set(list);
        if ((this.#generation.get(groupId) ?? 0) === gen) this.#set(groupId, members);
        return members;
      })
      .finally(() => {
        if (this.#inflight.get(groupId) === p) this.#inflight.delete(groupId);
      });
    this.#inflight.set(groupId, p);
    return p;
  }

  /** Membership changed: forget the removed users at once and refetch. */
  changed(groupId: string, removed: readonly string[]): Promise<unknown> {
    this.#generation.set(groupId, (this.#generation.get(groupId) ?? 0) + 1);
    this.#inflight.delete(groupId);
    const e = this.#entries.get(groupId);
    if (e?.members) {
      const next = new Set(e.members);
      for (const r of removed) next.delete(r);
      this.#entries.set(groupId, { members: next, at: 0 });
    }
    return this.refresh(groupId).catch(() => undefined);
  }

  #set(groupId: string, members: ReadonlySet<string> | null): void {
    this.#entries.delete(groupId);
    this.#entries.set(groupId, { members, at: Date.now() });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}
