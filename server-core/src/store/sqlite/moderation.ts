/**
 * SQLite store: operators, bans, closed rooms, blocks, report metadata and the moderation log
 * (issue 17; docs/OPERATIONS.md "Moderation").
 */
import type { ModerationAction, ModerationLogEntry, ReportRecord, ReportStatus } from '../types.ts';
import type { ModerationPart } from '../parts.ts';
import type { SqliteContext } from './schema.ts';

interface ReportRow {
  id: string;
  reporter: string;
  reported: string;
  group_id: string | null;
  at: number;
  status: string;
  handled_by: string | null;
}

interface LogRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

const toReport = (r: ReportRow): ReportRecord => ({
  id: r.id,
  reporter: r.reporter,
  reported: r.reported,
  groupId: r.group_id,
  at: r.at,
  status: r.status as ReportStatus,
  handledBy: r.handled_by,
});

const toLog = (r: LogRow): ModerationLogEntry => ({
  seq: r.seq,
  at: r.at,
  actor: r.actor,
  action: r.action as ModerationAction,
  target: r.target,
  detail: r.detail,
});

interface BanRow {
  username: string;
  banned_by: string;
  banned_at: number;
  reason: string;
}

const toBan = (r: BanRow) => ({
  username: r.username,
  by: r.banned_by,
  at: r.banned_at,
  reason: r.reason,
});

/**
 * One 0/1 column of a table keyed by one column (`users.operator`, `groups.closed`): set it on an
 * existing row (false when there is none), read it, list the keys where it is on.
 */
function flagColumn(db: SqliteContext['db'], table: string, key: string, column: string) {
  const set = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${key} = ?`);
  const get = db.prepare(`SELECT ${column} AS flag FROM ${table} WHERE ${key} = ?`);
  const list = db.prepare(`SELECT ${key} AS k FROM ${table} WHERE ${column} = 1 ORDER BY ${key}`);
  return {
    set: (id: string, on: boolean) => set.run(on ? 1 : 0, id).changes === 1,
    is: (id: string) => (get.get(id) as { flag: number } | undefined)?.flag === 1,
    list: () => (list.all() as { k: string }[]).map((r) => r.k),
  };
}

/** Moderation data of the SQLite store. */
export function sqliteModeration({ db }: SqliteContext): ModerationPart {
  const operator = flagColumn(db, 'users', 'username', 'operator');
  const closed = flagColumn(db, 'groups', 'group_id', 'closed');
  return {
    setOperator: async (username, on) => operator.set(username, on),
    isOperator: async (username) => operator.is(username),
    listOperators: async () => operator.list(),
    async setBan(username, ban) {
      if (!db.prepare('SELECT 1 FROM users WHERE username = ?').get(username)) return false;
      if (ban === null) db.prepare('DELETE FROM bans WHERE username = ?').run(username);
      else
        db.prepare(
          'INSERT OR REPLACE INTO bans (username, banned_by, banned_at, reason) VALUES (?, ?, ?, ?)',
        ).run(username, ban.by, ban.at, ban.reason);
      return true;
    },
    async getBan(username) {
      const r = db.prepare('SELECT * FROM bans WHERE username = ?').get(username) as
        BanRow | undefined;
      return r ? toBan(r) : null;
    },
    async listBans() {
      const rows = db
        .prepare('SELECT * FROM bans ORDER BY banned_at DESC, username')
        .all() as BanRow[];
      return rows.map(toBan);
    },
    setGroupClosed: async (groupId, on) => closed.set(groupId, on),
    isGroupClosed: async (groupId) => closed.is(groupId),
    listClosedGroups: async () => closed.list(),
    async setBlocked(blocker, blocked, on) {
      if (on)
        db.prepare('INSERT OR IGNORE INTO blocks (blocker, blocked) VALUES (?, ?)').run(
          blocker,
          blocked,
        );
      else db.prepare('DELETE FROM blocks WHERE blocker = ? AND blocked = ?').run(blocker, blocked);
    },
    async listBlocked(blocker) {
      const rows = db
        .prepare('SELECT blocked FROM blocks WHERE blocker = ? ORDER BY blocked')
        .all(blocker) as { blocked: string }[];
      return rows.map((r) => r.blocked);
    },
    async createReport(report) {
      const r = db
        .prepare(
          'INSERT INTO reports (id, reporter, reported, group_id, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(report.id, report.reporter, report.reported, report.groupId, report.at);
      return r.changes === 1;
    },
    async listReports(options = {}) {
      const limit = options.limit ?? 100;
      const rows = (
        options.status
          ? db
              .prepare('SELECT * FROM reports WHERE status = ? ORDER BY at DESC, id LIMIT ?')
              .all(options.status, limit)
          : db.prepare('SELECT * FROM reports ORDER BY at DESC, id LIMIT ?').all(limit)
      ) as ReportRow[];
      return rows.map(toReport);
    },
    async setReportStatus(id, status, by) {
      const r = db
        .prepare("UPDATE reports SET status = ?, handled_by = ? WHERE id = ? AND status = 'open'")
        .run(status, by, id);
      return r.changes === 1;
    },
    async appendModerationLog(entry) {
      const r = db
        .prepare(
          'INSERT INTO moderation_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)',
        )
        .run(entry.at, entry.actor, entry.action, entry.target, entry.detail);
      return { seq: Number(r.lastInsertRowid), ...entry };
    },
    async listModerationLog(options = {}) {
      const limit = options.limit ?? 100;
      const rows = db
        .prepare('SELECT * FROM moderation_log WHERE seq < ? ORDER BY seq DESC LIMIT ?')
        .all(options.before ?? Number.MAX_SAFE_INTEGER, limit) as LogRow[];
      return rows.map(toLog);
    },
  };
}
