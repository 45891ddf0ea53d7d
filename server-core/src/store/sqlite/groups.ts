/**
 * SQLite store: group chains (compare-and-set appends) and membership.
 */
import type { GroupInfo, GroupMember } from '../types.ts';
import type { GroupPart } from '../parts.ts';
import { buf, type SqliteContext } from './schema.ts';

interface InfoRow {
  name: string;
  topic: string;
  join_policy: string;
  announce: number;
  listed: number;
}

function infoOf(row: InfoRow): GroupInfo {
  return {
    name: row.name,
    topic: row.topic,
    join:
      row.join_policy === 'open' || row.join_policy === 'invite' ? row.join_policy : 'admins-add',
    announce: row.announce === 1,
    listed: row.listed === 1,
  };
}

/** Group chains and membership of the SQLite store. */
export function sqliteGroups({ db }: SqliteContext): GroupPart {
  const isMember = db.prepare('SELECT 1 FROM group_members WHERE group_id = ? AND username = ?');
  const shares = db.prepare(
    `SELECT 1 FROM group_members a
       JOIN group_members b ON b.group_id = a.group_id AND b.username = ?
       JOIN groups g ON g.group_id = a.group_id AND g.closed = 0
     WHERE a.username = ? LIMIT 1`,
  );

  function setMembers(groupId: string, members: GroupMember[]): void {
    db.prepare('DELETE FROM group_members WHERE group_id = ?').run(groupId);
    const ins = db.prepare(
      'INSERT INTO group_members (group_id, username, admin) VALUES (?, ?, ?)',
    );
    for (const m of members) ins.run(groupId, m.username, m.admin ? 1 : 0);
  }

  return {
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
    async groupMembers(groupId) {
      const g = db.prepare('SELECT closed FROM groups WHERE group_id = ?').get(groupId) as
        { closed: number } | undefined;
      if (!g) return null;
      // A room closed by an operator: nobody may use its topic (docs/OPERATIONS.md "Moderation").
      if (g.closed === 1) return [];
      const rows = db
        .prepare('SELECT username FROM group_members WHERE group_id = ? ORDER BY username')
        .all(groupId) as { username: string }[];
      return rows.map((r) => r.username);
    },
    async sharesGroup(a, b) {
      return shares.get(b, a) !== undefined;
    },
    async isGroupMember(groupId, username) {
      return isMember.get(groupId, username) !== undefined;
    },
    async setGroupInfo(groupId, info) {
      db.prepare(
        `INSERT INTO group_info (group_id, name, topic, join_policy, announce, listed)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (group_id) DO UPDATE SET name = excluded.name, topic = excluded.topic,
           join_policy = excluded.join_policy, announce = excluded.announce, listed = excluded.listed`,
      ).run(groupId, info.name, info.topic, info.join, info.announce ? 1 : 0, info.listed ? 1 : 0);
    },
    async getGroupInfo(groupId) {
      const row = db
        .prepare(
          'SELECT name, topic, join_policy, announce, listed FROM group_info WHERE group_id = ?',
        )
        .get(groupId) as InfoRow | undefined;
      return row ? infoOf(row) : null;
    },
    async listDirectory(query, limit) {
      const like = `%${query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = db
        .prepare(
          `SELECT i.group_id, i.name, i.topic,
             (SELECT COUNT(*) FROM group_members m WHERE m.group_id = i.group_id) AS n
           FROM group_info i
           WHERE i.listed = 1 AND i.join_policy = 'open'
             AND (lower(i.name) LIKE ? ESCAPE '\\' OR lower(i.topic) LIKE ? ESCAPE '\\')
           ORDER BY n DESC, i.name, i.group_id LIMIT ?`,
        )
        .all(like, like, limit) as { group_id: string; name: string; topic: string; n: number }[];
      return rows.map((r) => ({
        groupId: r.group_id,
        name: r.name,
        topic: r.topic,
        memberCount: r.n,
      }));
    },
    async groupPosters(groupId) {
      const g = db.prepare('SELECT closed FROM groups WHERE group_id = ?').get(groupId) as
        { closed: number } | undefined;
      if (!g) return null;
      // A room closed by an operator: nobody may post (as nobody may use its topic).
      if (g.closed === 1) return [];
      const info = db.prepare('SELECT announce FROM group_info WHERE group_id = ?').get(groupId) as
        { announce: number } | undefined;
      const rows = db
        .prepare(
          info?.announce === 1
            ? 'SELECT username FROM group_members WHERE group_id = ? AND admin = 1 ORDER BY username'
            : 'SELECT username FROM group_members WHERE group_id = ? ORDER BY username',
        )
        .all(groupId) as { username: string }[];
      return rows.map((r) => r.username);
    },
  };
}
