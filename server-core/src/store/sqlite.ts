/**
 * SQLite store (better-sqlite3) — the embedded-mode default. One file in the
 * data dir, WAL journal, versioned migrations in `schema_migrations`.
 * better-sqlite3 is synchronous, and every multi-step change runs in one
 * `BEGIN IMMEDIATE` transaction, so claims and compare-and-set appends are
 * atomic even with several processes on the same file. The parts are in
 * `sqlite/` by concern (schema, accounts, prekeys, tokens, groups, things, mfa).
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Store } from './types.ts';
import { sqliteAccounts } from './sqlite/accounts.ts';
import { sqliteGroups } from './sqlite/groups.ts';
import { sqliteGuests } from './sqlite/guests.ts';
import { sqliteMfa } from './sqlite/mfa.ts';
import { sqliteModeration } from './sqlite/moderation.ts';
import { sqlitePrekeys } from './sqlite/prekeys.ts';
import { sqlitePush } from './sqlite/push.ts';
import { migrate, type SqliteContext } from './sqlite/schema.ts';
import { sqliteThings } from './sqlite/things.ts';
import { sqliteTokens } from './sqlite/tokens.ts';

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file, or `:memory:` (tests). */
  filename: string;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Open (creating and migrating if needed) a SQLite store. */
export function createSqliteStore(opts: SqliteStoreOptions): Store {
  const now = opts.now ?? Date.now;
  // Password and token hashes: whichever process creates the file (key server or a broker
  // sharing it) creates it 0600, and SQLite gives the -wal and -shm files the same mode.
  if (opts.filename !== ':memory:') closeSync(openSync(opts.filename, 'a', 0o600));
  const db = new Database(opts.filename);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db, now());

  const ctx: SqliteContext = { db, now };
  return {
    ...sqliteAccounts(ctx),
    ...sqlitePrekeys(ctx),
    ...sqliteTokens(ctx),
    ...sqliteGroups(ctx),
    ...sqliteThings(ctx),
    ...sqliteMfa(ctx),
    ...sqliteModeration(ctx),
    ...sqlitePush(ctx),
    ...sqliteGuests(ctx),
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
