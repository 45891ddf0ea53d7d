/**
 * SQLite store: guest accounts (docs/API.md "Guests"). A guest is a `users` row with an empty
 * password hash — no password verifies against it — and `guest` set to its state.
 */
import type { GuestState } from '../types.ts';
import type { GuestPart } from '../parts.ts';
import type { SqliteContext } from './schema.ts';

/** Guest accounts of the SQLite store. */
export function sqliteGuests({ db }: SqliteContext): GuestPart {
  const state = db.prepare('SELECT guest FROM users WHERE username = ?');
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
  };
}
