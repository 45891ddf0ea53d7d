/**
 * SQLite store: things, blob metadata and the key-transparency log.
 */
import { checkThingSecret } from '../secrets.ts';
import type { BlobRecord, ThingRecord } from '../types.ts';
import type { ThingPart } from '../parts.ts';
import { buf, type SqliteContext } from './schema.ts';

/** Things, blobs and the key-transparency log of the SQLite store. */
export function sqliteThings({ db }: SqliteContext): ThingPart {
  const thingRow = db.prepare('SELECT * FROM things WHERE owner = ? AND thing = ?');

  return {
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
    async verifyThingCredential(owner, thing, secret) {
      const r = thingRow.get(owner, thing) as { secret_hash: Buffer; active: number } | undefined;
      const ok = checkThingSecret(secret, r ? new Uint8Array(r.secret_hash) : null);
      return ok && r?.active === 1;
    },
    async isThingActive(owner, thing) {
      const r = thingRow.get(owner, thing) as { active: number } | undefined;
      return r?.active === 1;
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
  };
}
