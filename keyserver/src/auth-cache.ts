/**
 * Process-local cache of access tokens that passed every check (EdDSA
 * signature, claims, not revoked, device active), so a token's next request
 * skips the signature check and the store lookups. Revocations reach it two
 * ways: {@link AuthCache.apply} with every event this process publishes (so
 * the key server that revokes refuses the token on its very next request),
 * and the ACL bus with the events of every other process.
 *
 * - In-process bus (embedded mode, `AclEvents.synchronous`): every event is
 *   delivered before `publish` resolves and none can be lost; entries live
 *   until the token's `exp`.
 * - Network bus (cluster mode, Redis pub/sub, `AclEvents.hearing`): another key
 *   server's revocation arrives with the bus's delay (the same message brokers
 *   act on), and events published while the subscriber connection is down are
 *   lost. So the cache is emptied whenever the bus stops hearing, filled only
 *   while it hears, and an entry is trusted for at most `maxAgeMs` (default
 *   5 s) before the store is read again.
 *
 * A bus with neither property gets no cache ({@link createAuthCache} returns
 * null): every request reads the store. The cache is bounded.
 */
import type { AclEvent, AclEvents } from '@sotto/server-core/store';
import type { AccessClaims } from '@sotto/server-core/tokens';

/** Verified, unrevoked tokens of this process. */
export interface AuthCache {
  /** The claims of `token` if it is cached, fresh and not expired at `nowMs`. */
  get(token: string, nowMs: number): AccessClaims | null;
  /**
   * Read before the store lookups of a token; pass it to {@link put}. A
   * revocation heard in between bumps it and the stale result is not cached.
   */
  epoch(): number;
  /** Remember a token whose checks all passed at `nowMs` (ignored if a revocation came since `epoch`). */
  put(token: string, claims: AccessClaims, epoch: number, nowMs: number): void;
  /** Drop what `event` revokes (events this process publishes, before they go on the bus). */
  apply(event: AclEvent): void;
  /** Stop listening to the bus and forget everything. */
  close(): void;
}

/** Entries of a network bus are re-checked against the store after this long. */
export const NETWORK_BUS_MAX_AGE_MS = 5_000;

/**
 * Build a cache fed by `events`, or null when the bus cannot keep one correct
 * (neither synchronous nor able to report whether it hears every event).
 */
export function createAuthCache(opts: {
  events: AclEvents;
  maxEntries?: number;
  maxAgeMs?: number;
}): AuthCache | null {
  const { events } = opts;
  const synchronous = events.synchronous === true;
  if (!synchronous && !(events.hearing && events.onHearingChange)) return null;
  const max = opts.maxEntries ?? 10_000;
  const maxAge = synchronous ? Infinity : (opts.maxAgeMs ?? NETWORK_BUS_MAX_AGE_MS);
  const hearing = synchronous ? () => true : () => events.hearing?.() === true;
  const entries = new Map<string, { claims: AccessClaims; until: number }>();
  let epoch = 0;

  const drop = (match: (c: AccessClaims) => boolean): void => {
    epoch += 1;
    for (const [token, e] of entries) if (match(e.claims)) entries.delete(token);
  };
  const apply = (e: AclEvent): void => {
    switch (e.type) {
      case 'token-revoked':
        drop((c) => c.jti === e.jti);
        return;
      case 'device-revoked':
        drop((c) => c.sub === e.username && c.dev === e.deviceId);
        return;
      case 'user-revoked':
        drop((c) => c.sub === e.username);
        return;
      default:
        return;
    }
  };
  const unsubscribe = events.subscribe(apply);
  const stopHearing = events.onHearingChange?.((now) => {
    if (now) return;
    // Events may be lost from here until the subscriber is back: forget everything.
    epoch += 1;
    entries.clear();
  });

  return {
    get(token, nowMs) {
      const e = entries.get(token);
      if (!e) return null;
      if (e.until <= nowMs) {
        entries.delete(token);
        return null;
      }
      return e.claims;
    },
    epoch: () => epoch,
    put(token, claims, seen, nowMs) {
      if (seen !== epoch || !hearing()) return;
      if (entries.size >= max) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(token, { claims, until: Math.min(claims.exp * 1000, nowMs + maxAge) });
    },
    apply,
    close() {
      unsubscribe();
      stopHearing?.();
      entries.clear();
    },
  };
}
