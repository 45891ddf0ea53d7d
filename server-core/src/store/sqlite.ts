/**
 * SQLite store (better-sqlite3) — the embedded-mode default. One file in the
 * data dir, WAL journal, versioned migrations in `schema_migrations`.
 * better-sqlite3 is synchronous, and every multi-step change runs in one
 * `BEGIN IMMEDIATE` transaction, so claims and compare-and-set appends are
 * atomic even with several processes on the same file.
 */
/* eslint-disable @typescript-eslint/require-await --
   better-sqlite3 is synchronous; the methods are `async` so that the Store
   contract holds and a thrown SQLite error becomes a rejected promise. */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { checkThingSecret } from './secrets.ts';
import type {
  BlobRecord,
  ClaimedBundle,
  ClaimQuota,
  DeviceKind,
  DeviceRecord,
  GroupMember,
  IssuedToken,
  PrekeyCounts,
  RefreshTokenRecord,
  Store,
  ThingRecord,
  UserSettings,
} from './types.ts';

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file, or `:memory:` (tests). */
  filename: string;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Ordered migrations; the index + 1 is the schema version. Never edit a shipped entry. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    uik BLOB,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE devices (
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'user',
    active INTEGER NOT NULL DEFAULT 1,
    certificate BLOB,
    signed_prekey BLOB,
    kem_prekey BLOB,
    log_index INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (username, device_id)
  );
  CREATE TABLE one_time_prekeys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    kind INTEGER NOT NULL, -- 0 = X25519, 1 = X-Wing
    key_id INTEGER NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (username, device_id, kind, key_id)
  );
  CREATE INDEX one_time_prekeys_device ON one_time_prekeys (username, device_id, kind, seq);
  CREATE TABLE issued_tokens (
    jti TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX issued_tokens_device ON issued_tokens (username, device_id);
  CREATE INDEX issued_tokens_expiry ON issued_tokens (expires_at);
  CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
  CREATE TABLE refresh_families (
    family_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX refresh_families_device ON refresh_families (username, device_id);
  CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
  CREATE TABLE groups (
    group_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
  );
  CREATE TABLE group_records (
    group_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (group_id, seq)
  );
  CREATE TABLE group_members (
    group_id TEXT NOT NULL,
    username TEXT NOT NULL,
    admin INTEGER NOT NULL,
    PRIMARY KEY (group_id, username)
  );
  CREATE TABLE things (
    owner TEXT NOT NULL,
    thing TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner, thing)
  );
  CREATE TABLE blobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE kt_log (
    idx INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL
  );
  `,
  // v2: per-user settings (presence visibility).
  `
  ALTER TABLE users ADD COLUMN presence_visible INTEGER NOT NULL DEFAULT 1;
  `,
  // v3 (issue 14): the auth time a refresh family started from, and one-time prekeys taken
  // per (device, claiming account) in the current window.
  `
  ALTER TABLE refresh_tokens ADD COLUMN auth_time INTEGER;
  CREATE TABLE otk_claims (
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    claimant TEXT NOT NULL,
    taken INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (username, device_id, claimant)
  );
  CREATE INDEX otk_claims_expiry ON otk_claims (expires_at);
  `,
];

/** Apply pending migrations inside one transaction each. */
function migrate(db: Db, now: number): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
  );
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as {
    v: number | null;
  };
  const current = row.v ?? 0;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema v${current} is newer than this key server (v${MIGRATIONS.length})`,
    );
  }
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v - 1] ?? '';
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, now);
    }).immediate();
  }
}

const u8 = (b: Buffer | null | undefined): Uint8Array | null => (b ? new Uint8Array(b) : null);
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

interface DeviceRow {
  username: string;
  device_id: string;
  kind: string;
  active: number;
  certificate: Buffer | null;
  signed_prekey: Buffer | null;
  kem_prekey: Buffer | null;
  log_index: number | null;
  updated_at: number;
}

function toDevice(r: DeviceRow): DeviceRecord {
  return {
    username: r.username,
    deviceId: r.device_id,
    kind: r.kind as DeviceKind,
    active: r.active === 1,
    certificate: u8(r.certificate),
    signedPrekey: u8(r.signed_prekey),
    kemPrekey: u8(r.kem_prekey),
    logIndex: r.log_index,
    updatedAt: r.updated_at,
  };
}

/** Open (creating and migrating if needed) a SQLite store. */
export function createSqliteStore(opts: SqliteStoreOptions): Store {
  const now = opts.now ?? Date.now;
  const db = new Database(opts.filename);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db, now());

  const q = {
    getUser: db.prepare('SELECT * FROM users WHERE username = ?'),
    userExists: db.prepare('SELECT 1 FROM users WHERE username = ?'),
    settings: db.prepare('SELECT presence_visible FROM users WHERE username = ?'),
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
    isRevoked: db.prepare('SELECT 1 FROM revoked_tokens WHERE jti = ? AND expires_at > ?'),
    revoke: db.prepare(
      'INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
    ),
    isMember: db.prepare('SELECT 1 FROM group_members WHERE group_id = ? AND username = ?'),
    thing: db.prepare('SELECT * FROM things WHERE owner = ? AND thing = ?'),
    deviceActive: db.prepare('SELECT active FROM devices WHERE username = ? AND device_id = ?'),
    tokenUsable: db.prepare(
      `SELECT 1 FROM devices WHERE username = ? AND device_id = ? AND active = 1
         AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ? AND expires_at > ?)`,
    ),
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

  const readSettings = (username: string): UserSettings | null => {
    const r = q.settings.get(username) as { presence_visible: number } | undefined;
    return r ? { presenceVisible: r.presence_visible === 1 } : null;
  };

  const revokeWhere = (where: string, args: string[]): IssuedToken[] => {
    const t = now();
    const rows = db
      .prepare(`SELECT * FROM issued_tokens WHERE ${where} AND expires_at > ?`)
      .all(...args, t) as {
      jti: string;
      username: string;
      device_id: string;
      expires_at: number;
    }[];
    for (const r of rows) q.revoke.run(r.jti, r.expires_at);
    db.prepare(`DELETE FROM issued_tokens WHERE ${where}`).run(...args);
    db.prepare(`UPDATE refresh_families SET revoked = 1 WHERE ${where}`).run(...args);
    return rows.map((r) => ({
      jti: r.jti,
      username: r.username,
      deviceId: r.device_id,
      expiresAt: r.expires_at,
    }));
  };

  const store: Store = {
    async createUser(user) {
      const r = db
        .prepare(
          'INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(user.username, user.passwordHash, user.createdAt);
      return r.changes === 1;
    },
    async getUser(username) {
      const r = q.getUser.get(username) as
        | { username: string; password_hash: string; uik: Buffer | null; created_at: number }
        | undefined;
      if (!r) return null;
      return {
        username: r.username,
        passwordHash: r.password_hash,
        uik: u8(r.uik),
        createdAt: r.created_at,
      };
    },
    async setPasswordHash(username, passwordHash) {
      db.prepare('UPDATE users SET password_hash = ? WHERE username = ?').run(
        passwordHash,
        username,
      );
    },
    async setUserIdentity(username, uik) {
      db.prepare('UPDATE users SET uik = ? WHERE username = ?').run(buf(uik), username);
    },
    async getUserSettings(username) {
      return readSettings(username);
    },
    async updateUserSettings(username, patch) {
      if (patch.presenceVisible !== undefined) {
        db.prepare('UPDATE users SET presence_visible = ? WHERE username = ?').run(
          patch.presenceVisible ? 1 : 0,
          username,
        );
      }
      return readSettings(username);
    },

    async activateDevice(username, deviceId) {
      db.prepare(
        `INSERT INTO devices (username, device_id, active, updated_at) VALUES (?, ?, 1, ?)
         ON CONFLICT (username, device_id) DO UPDATE SET active = 1`,
      ).run(username, deviceId, now());
    },
    async getDevice(username, deviceId) {
      const r = q.getDevice.get(username, deviceId) as DeviceRow | undefined;
      return r ? toDevice(r) : null;
    },
    async listDevices(username) {
      const rows = db
        .prepare('SELECT * FROM devices WHERE username = ? ORDER BY device_id')
        .all(username) as DeviceRow[];
      return rows.map(toDevice);
    },
    async deactivateDevice(username, deviceId) {
      db.transaction(() => {
        db.prepare(
          `UPDATE devices SET active = 0, certificate = NULL, signed_prekey = NULL, kem_prekey = NULL,
           log_index = NULL, updated_at = ? WHERE username = ? AND device_id = ?`,
        ).run(now(), username, deviceId);
        db.prepare('DELETE FROM one_time_prekeys WHERE username = ? AND device_id = ?').run(
          username,
          deviceId,
        );
      }).immediate();
    },
    async removeOtherDevices(username, keep) {
      return db
        .transaction(() => {
          const ids = (
            db
              .prepare('SELECT device_id FROM devices WHERE username = ? AND device_id <> ?')
              .all(username, keep) as { device_id: string }[]
          ).map((r) => r.device_id);
          db.prepare('DELETE FROM devices WHERE username = ? AND device_id <> ?').run(
            username,
            keep,
          );
          db.prepare('DELETE FROM one_time_prekeys WHERE username = ? AND device_id <> ?').run(
            username,
            keep,
          );
          return ids;
        })
        .immediate();
    },
    async setDeviceKeys(username, deviceId, keys) {
      db.prepare(
        `INSERT INTO devices (username, device_id, kind, active, certificate, signed_prekey, kem_prekey, log_index, updated_at)
         VALUES (@username, @deviceId, @kind, 1, @certificate, @signedPrekey, @kemPrekey, @logIndex, @now)
         ON CONFLICT (username, device_id) DO UPDATE SET
           kind = excluded.kind,
           certificate = excluded.certificate,
           signed_prekey = COALESCE(excluded.signed_prekey, signed_prekey),
           kem_prekey = COALESCE(excluded.kem_prekey, kem_prekey),
           log_index = COALESCE(excluded.log_index, log_index),
           updated_at = excluded.updated_at`,
      ).run({
        username,
        deviceId,
        kind: keys.kind,
        certificate: buf(keys.certificate),
        signedPrekey: keys.signedPrekey ? buf(keys.signedPrekey) : null,
        kemPrekey: keys.kemPrekey ? buf(keys.kemPrekey) : null,
        logIndex: keys.logIndex,
        now: now(),
      });
    },
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

    async recordAccessToken(token) {
      const t = now();
      db.prepare('DELETE FROM issued_tokens WHERE expires_at <= ?').run(t);
      db.prepare(
        'INSERT OR REPLACE INTO issued_tokens (jti, username, device_id, expires_at) VALUES (?, ?, ?, ?)',
      ).run(token.jti, token.username, token.deviceId, token.expiresAt);
    },
    async revokeToken(jti, expiresAt) {
      db.prepare('DELETE FROM revoked_tokens WHERE expires_at <= ?').run(now());
      q.revoke.run(jti, expiresAt);
    },
    async revokeDeviceTokens(username, deviceId) {
      return db
        .transaction(() => revokeWhere('username = ? AND device_id = ?', [username, deviceId]))
        .immediate();
    },
    async revokeUserTokens(username) {
      return db.transaction(() => revokeWhere('username = ?', [username])).immediate();
    },
    async putRefreshToken(r: RefreshTokenRecord) {
      db.transaction(() => {
        db.prepare('DELETE FROM refresh_tokens WHERE expires_at <= ?').run(now());
        db.prepare(
          'INSERT INTO refresh_families (family_id, username, device_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        ).run(r.familyId, r.username, r.deviceId);
        db.prepare(
          'INSERT INTO refresh_tokens (token_hash, family_id, username, device_id, expires_at, auth_time) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(r.tokenHash, r.familyId, r.username, r.deviceId, r.expiresAt, r.authTime ?? null);
      }).immediate();
    },
    async useRefreshToken(tokenHash, t) {
      return db
        .transaction(() => {
          const row = db
            .prepare(
              `SELECT t.*, f.revoked FROM refresh_tokens t JOIN refresh_families f USING (family_id)
               WHERE t.token_hash = ?`,
            )
            .get(tokenHash) as
            | {
                token_hash: string;
                family_id: string;
                username: string;
                device_id: string;
                expires_at: number;
                auth_time: number | null;
                used: number;
                revoked: number;
              }
            | undefined;
          if (!row || row.expires_at <= t) return { status: 'unknown' as const };
          const record: RefreshTokenRecord = {
            tokenHash: row.token_hash,
            familyId: row.family_id,
            username: row.username,
            deviceId: row.device_id,
            expiresAt: row.expires_at,
            ...(row.auth_time === null ? {} : { authTime: row.auth_time }),
          };
          if (row.used === 1 || row.revoked === 1) return { status: 'reused' as const, record };
          db.prepare('UPDATE refresh_tokens SET used = 1 WHERE token_hash = ?').run(tokenHash);
          return { status: 'ok' as const, record };
        })
        .immediate();
    },
    async revokeRefreshFamily(familyId) {
      db.prepare('UPDATE refresh_families SET revoked = 1 WHERE family_id = ?').run(familyId);
    },

    async createGroup(groupId, record, members) {
      return db
        .transaction(() => {
          const r = db
            .prepare('INSERT INTO groups (group_id, seq) VALUES (?, 0) ON CONFLICT DO NOTHING')
            .run(groupId);
          if (r.changes !== 1) return false;
          db.prepare('INSERT INTO group_records (group_id, seq, record) VALUES (?, 0, ?)').run(
            groupId,
            buf(record),
          );
          setMembers(groupId, members);
          return true;
        })
        .immediate();
    },
    async appendGroupRecord(groupId, seq, record, members) {
      return db
        .transaction(() => {
          const r = db
            .prepare('UPDATE groups SET seq = ? WHERE group_id = ? AND seq = ?')
            .run(seq, groupId, seq - 1);
          if (r.changes !== 1) return false;
          db.prepare('INSERT INTO group_records (group_id, seq, record) VALUES (?, ?, ?)').run(
            groupId,
            seq,
            buf(record),
          );
          setMembers(groupId, members);
          return true;
        })
        .immediate();
    },
    async getGroupChain(groupId) {
      const g = db.prepare('SELECT 1 FROM groups WHERE group_id = ?').get(groupId);
      if (!g) return null;
      const rows = db
        .prepare('SELECT record FROM group_records WHERE group_id = ? ORDER BY seq')
        .all(groupId) as { record: Buffer }[];
      return rows.map((r) => new Uint8Array(r.record));
    },
    async getGroup(groupId) {
      const g = db.prepare('SELECT seq FROM groups WHERE group_id = ?').get(groupId) as
        { seq: number } | undefined;
      if (!g) return null;
      const rows = db
        .prepare('SELECT username, admin FROM group_members WHERE group_id = ? ORDER BY username')
        .all(groupId) as { username: string; admin: number }[];
      return {
        groupId,
        seq: g.seq,
        members: rows.map((r) => ({ username: r.username, admin: r.admin === 1 })),
      };
    },

    async createThing(t) {
      const r = db
        .prepare(
          `INSERT INTO things (owner, thing, secret_hash, active, created_at) VALUES (?, ?, ?, 1, ?)
           ON CONFLICT (owner, thing) DO UPDATE SET secret_hash = excluded.secret_hash, active = 1,
             created_at = excluded.created_at
           WHERE things.active = 0`,
        )
        .run(t.owner, t.thing, buf(t.secretHash), t.createdAt);
      return r.changes === 1;
    },
    async listThings(owner) {
      const rows = db
        .prepare(
          'SELECT owner, thing, active, created_at FROM things WHERE owner = ? ORDER BY thing',
        )
        .all(owner) as { owner: string; thing: string; active: number; created_at: number }[];
      return rows.map((r): ThingRecord => ({
        owner: r.owner,
        thing: r.thing,
        active: r.active === 1,
        createdAt: r.created_at,
      }));
    },
    async revokeThing(owner, thing) {
      const r = db
        .prepare('UPDATE things SET active = 0 WHERE owner = ? AND thing = ? AND active = 1')
        .run(owner, thing);
      return r.changes === 1;
    },

    async putBlob(b: BlobRecord) {
      const r = db
        .prepare(
          'INSERT INTO blobs (id, owner, size, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(b.id, b.owner, b.size, b.createdAt);
      return r.changes === 1;
    },
    async getBlob(id) {
      const r = db.prepare('SELECT * FROM blobs WHERE id = ?').get(id) as
        { id: string; owner: string; size: number; created_at: number } | undefined;
      return r ? { id: r.id, owner: r.owner, size: r.size, createdAt: r.created_at } : null;
    },
    async deleteBlob(id) {
      return db.prepare('DELETE FROM blobs WHERE id = ?').run(id).changes === 1;
    },

    async appendLogLeaf(leaf) {
      const row = db
        .prepare(
          'INSERT INTO kt_log (idx, leaf) VALUES ((SELECT COALESCE(MAX(idx) + 1, 0) FROM kt_log), ?) RETURNING idx',
        )
        .get(buf(leaf)) as { idx: number };
      return row.idx;
    },
    async logSize() {
      const r = db.prepare('SELECT COUNT(*) AS n FROM kt_log').get() as { n: number };
      return r.n;
    },
    async getLogLeaves(start, end) {
      const rows = db
        .prepare('SELECT leaf FROM kt_log WHERE idx >= ? AND idx < ? ORDER BY idx')
        .all(start, end) as { leaf: Buffer }[];
      return rows.map((r) => new Uint8Array(r.leaf));
    },

    async isTokenRevoked(jti) {
      return q.isRevoked.get(jti, now()) !== undefined;
    },
    async isDeviceActive(username, deviceId) {
      const r = q.deviceActive.get(username, deviceId) as { active: number } | undefined;
      return r?.active === 1;
    },
    async isTokenUsable(jti, username, deviceId) {
      return q.tokenUsable.get(username, deviceId, jti, now()) !== undefined;
    },
    async groupMembers(groupId) {
      const g = db.prepare('SELECT 1 FROM groups WHERE group_id = ?').get(groupId);
      if (!g) return null;
      const rows = db
        .prepare('SELECT username FROM group_members WHERE group_id = ? ORDER BY username')
        .all(groupId) as { username: string }[];
      return rows.map((r) => r.username);
    },
    async isGroupMember(groupId, username) {
      return q.isMember.get(groupId, username) !== undefined;
    },
    async verifyThingCredential(owner, thing, secret) {
      const r = q.thing.get(owner, thing) as { secret_hash: Buffer; active: number } | undefined;
      const ok = checkThingSecret(secret, r ? new Uint8Array(r.secret_hash) : null);
      return ok && r?.active === 1;
    },
    async isThingActive(owner, thing) {
      const r = q.thing.get(owner, thing) as { active: number } | undefined;
      return r?.active === 1;
    },
    async userExists(username) {
      return q.userExists.get(username) !== undefined;
    },

    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (db.open) db.close();
    },
  };

  function setMembers(groupId: string, members: GroupMember[]): void {
    db.prepare('DELETE FROM group_members WHERE group_id = ?').run(groupId);
    const ins = db.prepare(
      'INSERT INTO group_members (group_id, username, admin) VALUES (?, ?, ?)',
    );
    for (const m of members) ins.run(groupId, m.username, m.admin ? 1 : 0);
  }

  return store;
}
