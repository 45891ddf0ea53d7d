/**
 * Short-lived cache of group member lists for the ACL. Subscribe and publish
 * checks read through it; the synchronous `authorizeForward` hook can only
 * peek. Only *positive* answers are trusted from the cache: removals are
 * pushed by `group-changed` events (applied at once, then refetched), but an
 * addition may reach the store before its event reaches this broker (or a
 * cluster peer's event may lag), so a cached "not a member" is always
 * re-checked against the store before a subscribe or publish is refused, and
 * an old negative entry is "unknown" to the forward hook. A generation counter
 * keeps a query that started before a change from writing its stale answer back.
 *
 * Who may *publish* (every member, or only the admins of an announcement-only group) is
 * cached beside it the same way: a positive answer for the TTL, dropped at once by any
 * change event of the group (a policy change sends one too), a negative one re-checked.
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

  readonly #posters = new Map<string, Entry>();

  constructor(
    private readonly store: Pick<AclStoreQueries, 'groupMembers' | 'groupPosters'>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** Is `username` a current member? Queries the store when the entry is missing or older than the TTL. */
  async isMember(groupId: string, username: string): Promise<boolean> {
    const e = this.#entries.get(groupId);
    if (e && Date.now() - e.at < this.ttlMs && e.members?.has(username)) return true;
    // Missing, old, or negative: ask the store now (not a query that may predate an addition).
    const members = await this.#fetch(groupId);
    return members?.has(username) ?? false;
  }

  /** May `username` publish to the group? A current poster per the store (cached like members). */
  async mayPost(groupId: string, username: string): Promise<boolean> {
    const e = this.#posters.get(groupId);
    if (e && Date.now() - e.at < this.ttlMs && e.members?.has(username)) return true;
    const gen = this.#generation.get(groupId) ?? 0;
    const list = await this.store.groupPosters(groupId);
    const posters = list === null ? null : new Set(list);
    if ((this.#generation.get(groupId) ?? 0) === gen) {
      this.#posters.delete(groupId);
      this.#posters.set(groupId, { members: posters, at: Date.now() });
      if (this.#posters.size > this.maxEntries) {
        const oldest = this.#posters.keys().next().value;
        if (oldest !== undefined) this.#posters.delete(oldest);
      }
    }
    return posters?.has(username) ?? false;
  }

  /**
   * Synchronous look-up for the forward hook: `true`/`false` from the cache, `undefined` when
   * not cached or when only an old negative answer is cached (the user may have been added since).
   */
  peek(groupId: string, username: string): boolean | undefined {
    const e = this.#entries.get(groupId);
    if (!e) return undefined;
    if (e.members?.has(username)) return true;
    return Date.now() - e.at < this.ttlMs ? false : undefined;
  }

  /** Fetch the member list now (shared between concurrent callers). */
  refresh(groupId: string): Promise<ReadonlySet<string> | null> {
    const pending = this.#inflight.get(groupId);
    if (pending) return pending;
    const p = this.#fetch(groupId).finally(() => {
      if (this.#inflight.get(groupId) === p) this.#inflight.delete(groupId);
    });
    this.#inflight.set(groupId, p);
    return p;
  }

  /** One store query; its answer is cached unless a change event arrived meanwhile. */
  #fetch(groupId: string): Promise<ReadonlySet<string> | null> {
    const gen = this.#generation.get(groupId) ?? 0;
    return this.store.groupMembers(groupId).then((list) => {
      const members = list === null ? null : new Set(list);
      if ((this.#generation.get(groupId) ?? 0) === gen) this.#set(groupId, members);
      return members;
    });
  }

  /** Membership changed: forget the removed users at once and refetch. */
  changed(groupId: string, removed: readonly string[]): Promise<unknown> {
    this.#generation.set(groupId, (this.#generation.get(groupId) ?? 0) + 1);
    this.#inflight.delete(groupId);
    this.#posters.delete(groupId);
    const e = this.#entries.get(groupId);
    if (e?.members) {
      const next = new Set(e.members);
      for (const r of removed) next.delete(r);
      // Authoritative for the removed users right now; the refetch below brings additions.
      this.#entries.set(groupId, { members: next, at: Date.now() });
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
