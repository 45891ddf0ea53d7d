/**
 * SQLite store: one-time prekeys and bundle claims. Concurrent claims are
 * committed together (see `flushClaims`).
 */
import type { ClaimedBundle, ClaimQuota, PrekeyCounts } from '../types.ts';
import type { PrekeyPart } from '../parts.ts';
import type { DeviceRow } from './accounts.ts';
import { buf, type SqliteContext } from './schema.ts';

/** One-time prekeys and bundle claims of the SQLite store. */
export function sqlitePrekeys({ db, now }: SqliteContext): PrekeyPart {
  const q = {
    getDevice: db.prepare('SELECT * FROM devices WHERE username = ? AND device_id = ?'),
    countOtk: db.prepare(
      'SELECT kind, COUNT(*) AS n FROM one_time_prekeys WHERE username = ? AND device_id = ? GROUP BY kind',
    ),
    firstOtk: db.prepare(
      'SELECT seq, data FROM one_time_prekeys WHERE username = ? AND device_id = ? AND kind = ? ORDER BY seq LIMIT 1',
    ),
    deleteOtk: db.prepare('DELETE FROM one_time_prekeys WHERE seq = ?'),
    quotaGet: db.prepare(
      'SELECT taken, expires_at FROM otk_claims WHERE username = ? AND device_id = ? AND claimant = ?',
    ),
    quotaPut: db.prepare(
      `INSERT INTO otk_claims (username, device_id, claimant, taken, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (username, device_id, claimant) DO UPDATE SET taken = excluded.taken,
         expires_at = excluded.expires_at`,
    ),
    quotaSweep: db.prepare('DELETE FROM otk_claims WHERE expires_at <= ?'),
  };

  function counts(username: string, deviceId: string): PrekeyCounts {
    const rows = q.countOtk.all(username, deviceId) as { kind: number; n: number }[];
    return {
      oneTimePrekeys: rows.find((r) => r.kind === 0)?.n ?? 0,
      oneTimeKemPrekeys: rows.find((r) => r.kind === 1)?.n ?? 0,
    };
  }

  function takeOtk(username: string, deviceId: string, kind: 0 | 1): Uint8Array | null {
    const row = q.firstOtk.get(username, deviceId, kind) as
      { seq: number; data: Buffer } | undefined;
    if (!row) return null;
    q.deleteOtk.run(row.seq);
    return new Uint8Array(row.data);
  }

  // Hot path (one per bundle claim); runs inside the batch transaction below.
  const claimOne = (
    username: string,
    deviceId: string,
    quota: ClaimQuota | undefined,
  ): ClaimedBundle | null => {
    const d = q.getDevice.get(username, deviceId) as DeviceRow | undefined;
    if (!d || d.active !== 1 || !d.certificate || !d.signed_prekey || !d.kem_prekey) return null;
    // The claimant's count in its current window (none, or an expired one, counts as 0).
    let taken = 0;
    let windowEnd = 0;
    if (quota) {
      const row = q.quotaGet.get(username, deviceId, quota.claimant) as
        { taken: number; expires_at: number } | undefined;
      if (row && row.expires_at > now()) ({ taken, expires_at: windowEnd } = row);
    }
    const allowed = !quota || taken < quota.max;
    const otk = allowed ? takeOtk(username, deviceId, 0) : null;
    const kemOtk = allowed ? takeOtk(username, deviceId, 1) : null;
    if (quota && (otk || kemOtk)) {
      // A new window starts at the first counted claim; a running one keeps its end.
      const end = windowEnd || now() + quota.windowMs;
      q.quotaPut.run(username, deviceId, quota.claimant, taken + 1, end);
    }
    return {
      certificate: new Uint8Array(d.certificate),
      signedPrekey: new Uint8Array(d.signed_prekey),
      kemPrekey: kemOtk ?? new Uint8Array(d.kem_prekey),
      kemLastResort: kemOtk === null,
      oneTimePrekey: otk,
      remaining: counts(username, deviceId),
    };
  };

  /**
   * Group commit of concurrent claims: the claims that arrive in one turn of the
   * event loop run in one `BEGIN IMMEDIATE` transaction, one after another, so
   * each one-time prekey still goes to exactly one caller, and every caller is
   * answered only after the commit that made its claim durable. One commit (and
   * its WAL append) per batch instead of per claim is most of a claim's cost.
   */
  interface PendingClaim {
    username: string;
    deviceId: string;
    quota: ClaimQuota | undefined;
    resolve: (b: ClaimedBundle | null) => void;
    reject: (err: unknown) => void;
  }
  let pendingClaims: PendingClaim[] = [];
  const claimBatchTx = db.transaction((batch: PendingClaim[]) =>
    batch.map((c) => claimOne(c.username, c.deviceId, c.quota)),
  );
  /** Expired claim counters are dropped at most once a minute, off the per-claim path. */
  let quotaSweptAt = 0;
  const flushClaims = (): void => {
    const batch = pendingClaims;
    pendingClaims = [];
    const t = now();
    if (t - quotaSweptAt >= 60_000) {
      quotaSweptAt = t;
      q.quotaSweep.run(t);
    }
    let results: (ClaimedBundle | null)[];
    try {
      results = claimBatchTx.immediate(batch);
    } catch (err) {
      // Nothing of the batch was committed: every caller hears the error.
      for (const c of batch) c.reject(err);
      return;
    }
    batch.forEach((c, i) => c.resolve(results[i] ?? null));
  };

  return {
    async addOneTimePrekeys(username, deviceId, prekeys, cap) {
      const insert = db.prepare(
        `INSERT INTO one_time_prekeys (username, device_id, kind, key_id, data) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (username, device_id, kind, key_id) DO UPDATE SET data = excluded.data`,
      );
      const trim = db.prepare(
        `DELETE FROM one_time_prekeys WHERE seq IN (
           SELECT seq FROM one_time_prekeys WHERE username = ? AND device_id = ? AND kind = ?
           ORDER BY seq DESC LIMIT -1 OFFSET ?)`,
      );
      return db
        .transaction(() => {
          for (const p of prekeys.x25519) insert.run(username, deviceId, 0, p.id, buf(p.data));
          for (const p of prekeys.kem) insert.run(username, deviceId, 1, p.id, buf(p.data));
          trim.run(username, deviceId, 0, cap);
          trim.run(username, deviceId, 1, cap);
          return counts(username, deviceId);
        })
        .immediate();
    },
    async clearOneTimePrekeys(username, deviceId) {
      db.prepare('DELETE FROM one_time_prekeys WHERE username = ? AND device_id = ?').run(
        username,
        deviceId,
      );
    },
    async countOneTimePrekeys(username, deviceId) {
      return counts(username, deviceId);
    },
    claimPrekeyBundle(username, deviceId, quota) {
      return new Promise<ClaimedBundle | null>((resolve, reject) => {
        pendingClaims.push({ username, deviceId, quota, resolve, reject });
        if (pendingClaims.length === 1) setImmediate(flushClaims);
      });
    },
  };
}
