/**
 * SQLite store: guest accounts (docs/API.md "Guests"). A guest is a `users` row with an empty
 * password hash — no password verifies against it — and `guest` set to its state. A rename moves
 * the row to the new name and leaves a tombstone row (`guest = 'renamed'`) under the old one.
 */
import type { GuestRenameRecord, GuestState } from '../types.ts';
import type { GuestPart } from '../parts.ts';
import { buf, type SqliteContext } from './schema.ts';

/** Tables whose rows of the guest's device move with it on a rename (no tokens: see Store). */
const MOVED_WITH_DEVICE = ['devices', 'one_time_prekeys', 'push_subscriptions', 'push_slots'];

interface RenameRow {
  from_name: string;
  to_name: string;
  statement: Buffer;
  arrival_index: number;
  tombstone_index: number;
  at: number;
}

/** Guest accounts of the SQLite store. */
export function sqliteGuests({ db }: SqliteContext): GuestPart {
  const state = db.prepare('SELECT guest FROM users WHERE username = ?');
  const appendLeaf = db.prepare(
    'INSERT INTO kt_log (idx, leaf) VALUES ((SELECT COALESCE(MAX(idx) + 1, 0) FROM kt_log), ?) RETURNING idx',
  );
  const renameTx = db.transaction(
    (r: Parameters<GuestPart['renameGuest']>[0]): Awaited<ReturnType<GuestPart['renameGuest']>> => {
      const g = state.get(r.from) as { guest: string | null } | undefined;
      if (g?.guest !== 'active') return { ok: false, reason: 'not-guest' };
      if (state.get(r.to)) return { ok: false, reason: 'taken' };
      db.prepare(
        'UPDATE users SET username = ?, guest = NULL, password_hash = ? WHERE username = ?',
      ).run(r.to, r.passwordHash, r.from);
      db.prepare(
        "INSERT INTO users (username, password_hash, created_at, guest) VALUES (?, '', ?, 'renamed')",
      ).run(r.from, r.at);
      for (const table of MOVED_WITH_DEVICE) {
        db.prepare(`UPDATE ${table} SET username = ? WHERE username = ?`).run(r.to, r.from);
      }
      const logIndexes = r.leaves.map((l) => (appendLeaf.get(buf(l)) as { idx: number }).idx);
      db.prepare(
        'UPDATE devices SET certificate = ?, log_index = ?, updated_at = ? WHERE username = ? AND device_id = ?',
      ).run(buf(r.certificate), logIndexes[0], r.at, r.to, r.deviceId);
      db.prepare(
        'INSERT INTO guest_renames (from_name, to_name, statement, arrival_index, tombstone_index, at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(r.from, r.to, buf(r.statement), logIndexes[1], logIndexes[2], r.at);
      return { ok: true, logIndexes };
    },
  );
  return {
    async createGuest(username, createdAt) {
      const r = db
        .prepare(
          "INSERT INTO users (username, password_hash, created_at, guest) VALUES (?, '', ?, 'active') ON CONFLICT DO NOTHING",
        )
        .run(username, createdAt);
      return r.changes === 1;
    },
    async guestState(username) {
      const r = state.get(username) as { guest: string | null } | undefined;
      return (r?.guest ?? null) as GuestState | null;
    },
    async listGuests() {
      const rows = db
        .prepare("SELECT username FROM users WHERE guest = 'active' ORDER BY username")
        .all() as { username: string }[];
      return rows.map((r) => r.username);
    },
    async endGuest(username, how) {
      const r =
        how.as === 'expired'
          ? db
              .prepare("UPDATE users SET guest = 'expired' WHERE username = ? AND guest = 'active'")
              .run(username)
          : db
              .prepare(
                "UPDATE users SET guest = NULL, password_hash = ? WHERE username = ? AND guest = 'active'",
              )
              .run(how.passwordHash, username);
      return r.changes === 1;
    },
    async renameGuest(r) {
      return renameTx.immediate(r);
    },
    async getRename(username): Promise<GuestRenameRecord | null> {
      const row = db
        .prepare('SELECT * FROM guest_renames WHERE from_name = ? OR to_name = ?')
        .get(username, username) as RenameRow | undefined;
      if (!row) return null;
      return {
        from: row.from_name,
        to: row.to_name,
        statement: new Uint8Array(row.statement),
        arrivalIndex: row.arrival_index,
        tombstoneIndex: row.tombstone_index,
        at: row.at,
      };
    },
  };
}
