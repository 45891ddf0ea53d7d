/**
 * The SQLite store's search postings (PROTOCOL.md §14.1): one row per blinded term key and
 * written batch, `(k, ids)` with `ids` a JSON array of message ids — not one row per key and
 * message. A receive batch's messages share most of their keys (words, and the 1–3 character
 * prefixes above all), and every row is a B-tree insert at a random place of the index that the
 * commit then writes out: with a row per key and message these were most of a queued burst's
 * cost (issue 23, PERFORMANCE.md). The blinds and ids stored are the same as before.
 *
 * Runtime: Node only.
 */
import type Database from 'better-sqlite3';

/** Tables of the postings. */
export const POSTINGS_SCHEMA = `
CREATE TABLE IF NOT EXISTS sealed_postings (k TEXT NOT NULL, ids TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sealed_postings_by_key ON sealed_postings (k);
`;

/** Postings changes of one write, stored by {@link PostingsWrite.write}. */
export interface PostingsWrite {
  /** Message `id` gains the blinded keys `added` and loses `stale`. */
  change(id: string, added: readonly string[], stale: readonly string[]): void;
  /** Store the gained keys: one row per key. Run inside the write's transaction. */
  write(): void;
}

/** The postings of one open SQLite store. */
export interface SqlitePostings {
  /** A new write (one `putMessages` call). */
  begin(): PostingsWrite;
  /** Ids of the messages indexed under blinded key `k`, newest first by clear timestamp. */
  ids(k: string): string[];
}

/** Postings over `db` (its schema made, {@link migrateTermRows} run). */
export function sqlitePostings(db: Database.Database): SqlitePostings {
  const q = {
    add: db.prepare('INSERT INTO sealed_postings (k, ids) VALUES (?, ?)'),
    holding: db.prepare<[string, string], { rowid: number; ids: string }>(
      `SELECT rowid, ids FROM sealed_postings
       WHERE k = ? AND EXISTS (SELECT 1 FROM json_each(ids) WHERE value = ?)`,
    ),
    set: db.prepare('UPDATE sealed_postings SET ids = ? WHERE rowid = ?'),
    del: db.prepare('DELETE FROM sealed_postings WHERE rowid = ?'),
    ids: db.prepare<[string], { id: string }>(
      `SELECT id FROM sealed_messages WHERE id IN
         (SELECT j.value FROM sealed_postings p, json_each(p.ids) j WHERE p.k = ?)
       ORDER BY t DESC, id DESC`,
    ),
  };
  /** Take message `id` out of the stored postings of key `k`. */
  const drop = (k: string, id: string): void => {
    for (const row of q.holding.all(k, id)) {
      const rest = (JSON.parse(row.ids) as string[]).filter((x) => x !== id);
      if (rest.length > 0) q.set.run(JSON.stringify(rest), row.rowid);
      else q.del.run(row.rowid);
    }
  };
  return {
    begin() {
      const added = new Map<string, string[]>();
      return {
        change(id, keys, stale) {
          for (const k of stale) {
            // A message written twice in one call drops what its first version added here.
            const pending = added.get(k);
            if (pending !== undefined)
              added.set(
                k,
                pending.filter((x) => x !== id),
              );
            drop(k, id);
          }
          for (const k of keys) {
            const ids = added.get(k);
            if (ids === undefined) added.set(k, [id]);
            else if (!ids.includes(id)) ids.push(id);
          }
        },
        write() {
          for (const [k, ids] of added) if (ids.length > 0) q.add.run(k, JSON.stringify(ids));
          added.clear();
        },
      };
    },
    ids: (k) => q.ids.all(k).map((r) => r.id),
  };
}

/**
 * A file written before postings were packed has one `sealed_terms (k, id)` row per blinded key
 * and message: they become one {@link POSTINGS_SCHEMA} row per key (the same blinds and ids; no
 * storage key needed) and the old table goes, in one transaction.
 */
export function migrateTermRows(db: Database.Database): void {
  const old = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sealed_terms'")
    .get();
  if (old === undefined) return;
  db.transaction(() => {
    db.exec(`INSERT INTO sealed_postings (k, ids)
      SELECT k, json_group_array(id) FROM sealed_terms GROUP BY k;
      DROP TABLE sealed_terms;`);
  })();
}
