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

/** Moderation data of the SQLite store. */
export function sqliteModeration({ db }: SqliteContext): ModerationPart {
  return {
    async setOperator(username, operator) {
      const r = db
        .prepare('UPDATE users SET operator = ? WHERE username = ?')
        .run(operator ? 1 : 0, username);
      return r.changes === 1;
    },
    async isOperator(username) {
      const r = db.prepare('SELECT operator FROM users WHERE username = ?').get(username) as
        { operator: number } | undefined;
      return r?.operator === 1;
    },
    async listOperators() {
      const rows = db
        .prepare('SELECT username FROM users WHERE operator = 1 ORDER BY username')
        .all() as { username: string }[];
      return rows.map((r) => r.username);
    },
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
        { username: string; banned_by: string; banned_at: number; reason: string } | undefined;
      return r
        ? { username: r.username, by: r.banned_by, at: r.banned_at, reason: r.reason }
        : null;
    },
    async listBans() {
      const rows = db.prepare('SELECT * FROM bans ORDER BY banned_at DESC, username').all() as {
        username: string;
        banned_by: string;
        banned_at: number;
        reason: string;
      }[];
      return rows.map((r) => ({
        username: r.username,
        by: r.banned_by,
        at: r.banned_at,
        reason: r.reason,
      }));
    },
    async setGroupClosed(groupId, closed) {
      const r = db
        .prepare('UPDATE groups SET closed = ? WHERE group_id = ?')
        .run(closed ? 1 : 0, groupId);
      return r.changes === 1;
    },
    async isGroupClosed(groupId) {
      const r = db.prepare('SELECT closed FROM groups WHERE group_id = ?').get(groupId) as
        { closed: number } | undefined;
      return r?.closed === 1;
    },
    async listClosedGroups() {
      const rows = db
        .prepare('SELECT group_id FROM groups WHERE closed = 1 ORDER BY group_id')
        .all() as { group_id: string }[];
      return rows.map((r) => r.group_id);
    },
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
