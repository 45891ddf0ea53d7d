/**
 * Process-local cache of access tokens that passed every check (EdDSA
 * signature, claims, not revoked, device active), so a token's next request
 * skips the signature check and both store lookups. Only valid with an ACL
 * bus that delivers every event to this process before `publish` resolves
 * (the in-process bus of embedded mode, `AclEvents.synchronous`): a
 * `token-revoked`, `device-revoked` or `user-revoked` event drops the matching
 * entries at once, so a logged-out token is refused on its very next request.
 * Entries live until the token's `exp` at most; the cache is bounded.
 */
import type { AclEvent, AclEvents } from './store/types.ts';
import type { AccessClaims } from './tokens.ts';

/** Verified, unrevoked tokens of this process. */
export interface AuthCache {
  /** The claims of `token` if it is cached and not expired at `nowMs`. */
  get(token: string, nowMs: number): AccessClaims | null;
  /**
   * Read before the store lookups of a token; pass it to {@link put}. A
   * revocation heard in between bumps it and the stale result is not cached.
   */
  epoch(): number;
  /** Remember a token whose checks all passed (ignored if a revocation came since `epoch`). */
  put(token: string, claims: AccessClaims, epoch: number): void;
  /** Stop listening to the bus and forget everything. */
  close(): void;
}

/** Build a cache fed by `events`; at most `maxEntries` tokens (oldest dropped first). */
export function createAuthCache(opts: { events: AclEvents; maxEntries?: number }): AuthCache {
  const max = opts.maxEntries ?? 10_000;
  const entries = new Map<string, AccessClaims>();
  let epoch = 0;

  const drop = (match: (c: AccessClaims) => boolean): void => {
    for (const [token, c] of entries) if (match(c)) entries.delete(token);
  };
  const onEvent = (e: AclEvent): void => {
    switch (e.type) {
      case 'token-revoked':
        epoch += 1;
        drop((c) => c.jti === e.jti);
        return;
      case 'device-revoked':
        epoch += 1;
        drop((c) => c.sub === e.username && c.dev === e.deviceId);
        return;
      case 'user-revoked':
        epoch += 1;
        drop((c) => c.sub === e.username);
        return;
      default:
        return;
    }
  };
  const unsubscribe = opts.events.subscribe(onEvent);

  return {
    get(token, nowMs) {
      const c = entries.get(token);
      if (!c) return null;
      if (c.exp * 1000 <= nowMs) {
        entries.delete(token);
        return null;
      }
      return c;
    },
    epoch: () => epoch,
    put(token, claims, seen) {
      if (seen !== epoch) return;
      if (entries.size >= max) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(token, claims);
    },
    close() {
      unsubscribe();
      entries.clear();
    },
  };
}
