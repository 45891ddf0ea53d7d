/**
 * The SQLite schema: ordered migrations recorded in `schema_migrations`, the
 * context every part of the SQLite store gets, and the BLOB conversions.
 */
import type { Database as Db } from 'better-sqlite3';

/** What each part of the SQLite store is built from. */
export interface SqliteContext {
  db: Db;
  /** Clock in ms. */
  now: () => number;
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
  // v4 (issue 17): name and policy derived from each group's chain (directory, announce ACL).
  `
  CREATE TABLE group_info (
    group_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    topic TEXT NOT NULL,
    join_policy TEXT NOT NULL,
    announce INTEGER NOT NULL,
    listed INTEGER NOT NULL
  );
  CREATE INDEX group_info_listed ON group_info (listed, join_policy);
  `,
  // v5 (issue 19): device names and activity, TOTP, recovery codes, passkeys.
  `
  ALTER TABLE devices ADD COLUMN name TEXT;
  ALTER TABLE devices ADD COLUMN platform TEXT;
  ALTER TABLE devices ADD COLUMN created_at INTEGER;
  ALTER TABLE devices ADD COLUMN last_active_at INTEGER;
  CREATE TABLE totp (
    username TEXT PRIMARY KEY,
    sealed_secret BLOB NOT NULL,
    enabled INTEGER NOT NULL,
    last_step INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE recovery_codes (
    username TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (username, code_hash)
  );
  CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    public_key BLOB NOT NULL,
    counter INTEGER NOT NULL,
    transports TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
  );
  CREATE INDEX passkeys_user ON passkeys (username, created_at);
  `,
  // v6 (issue 17): operators, bans, closed rooms, blocks, reports and the moderation log.
  `
  ALTER TABLE users ADD COLUMN operator INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE groups ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE bans (
    username TEXT PRIMARY KEY,
    banned_by TEXT NOT NULL,
    banned_at INTEGER NOT NULL,
    reason TEXT NOT NULL
  );
  CREATE TABLE blocks (
    blocker TEXT NOT NULL,
    blocked TEXT NOT NULL,
    PRIMARY KEY (blocker, blocked)
  );
  CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    reporter TEXT NOT NULL,
    reported TEXT NOT NULL,
    group_id TEXT,
    at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    handled_by TEXT
  );
  CREATE INDEX reports_at ON reports (at);
  CREATE TABLE moderation_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
  );
  `,
  // v7 (issue 18): Web Push subscriptions and the per-device push slot.
  `
  CREATE TABLE push_subscriptions (
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (username, device_id)
  );
  CREATE TABLE push_slots (
    username TEXT NOT NULL,
    device_id TEXT NOT NULL,
    until INTEGER NOT NULL,
    PRIMARY KEY (username, device_id)
  );
  `,
  // v8 (issue 17): guest accounts ('active' | 'expired'; NULL for a full account), and the
  // member index a guest's "shares a room with" check reads.
  `
  ALTER TABLE users ADD COLUMN guest TEXT;
  CREATE INDEX users_guest ON users (guest) WHERE guest IS NOT NULL;
  CREATE INDEX group_members_user ON group_members (username);
  `,
  // v9 (issue 17): a guest's upgrade to a new username; the old name keeps a `users` row
  // (guest = 'renamed') so it is never given out again.
  `
  CREATE TABLE guest_renames (
    from_name TEXT PRIMARY KEY,
    to_name TEXT NOT NULL UNIQUE,
    statement BLOB NOT NULL,
    arrival_index INTEGER NOT NULL,
    tombstone_index INTEGER NOT NULL,
    at INTEGER NOT NULL
  );
  `,
];

/** Apply pending migrations inside one transaction each. */
export function migrate(db: Db, now: number): void {
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

/** A BLOB column as bytes (null stays null). */
export const u8 = (b: Buffer | null | undefined): Uint8Array | null =>
  b ? new Uint8Array(b) : null;
/** Bytes as a Buffer view for binding to a statement (no copy). */
export const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
