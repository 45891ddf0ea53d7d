/**
 * Redis store: operators, bans, closed rooms, blocks, report metadata and the moderation log
 * (issue 17; docs/OPERATIONS.md "Moderation"). Accounts are never deleted, so "does the user
 * exist" followed by a write needs no script.
 */
import type { BanRecord, ModerationLogEntry, ReportRecord, ReportStatus } from '../types.ts';
import type { ModerationPart } from '../parts.ts';
import { script, type RedisContext } from './support.ts';

// KEYS: report hash. ARGV: new status, operator. Only an open report changes.
const CLOSE_REPORT = script(`
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'handledBy', ARGV[2])
return 1`);

/** Moderation data of the Redis store. */
export function redisModeration({ client, prefix, k, run }: RedisContext): ModerationPart {
  const key = {
    operators: `${prefix}operators`,
    ban: (u: string) => `${prefix}ban:${u}`,
    bans: `${prefix}bans`,
    blocks: (u: string) => `${prefix}blocks:${u}`,
    report: (id: string) => `${prefix}report:${id}`,
    reports: `${prefix}reports`,
    log: `${prefix}modlog`,
    logSeq: `${prefix}modlog:seq`,
  };

  const readReport = async (id: string): Promise<ReportRecord | null> => {
    const h = await client.hGetAll(key.report(id));
    if (!h.reporter) return null;
    return {
      id,
      reporter: h.reporter,
      reported: h.reported ?? '',
      groupId: h.groupId ? h.groupId : null,
      at: Number(h.at),
      status: (h.status ?? 'open') as ReportStatus,
      handledBy: h.handledBy ? h.handledBy : null,
    };
  };

  const getBan = async (username: string): Promise<BanRecord | null> => {
    const h = await client.hGetAll(key.ban(username));
    if (!h.by) return null;
    return { username, by: h.by, at: Number(h.at), reason: h.reason ?? '' };
  };

  return {
    async setOperator(username, operator) {
      if (!(await client.exists(k.user(username)))) return false;
      if (operator) await client.sAdd(key.operators, username);
      else await client.sRem(key.operators, username);
      return true;
    },
    async isOperator(username) {
      return (await client.sIsMember(key.operators, username)) === 1;
    },
    async listOperators() {
      return (await client.sMembers(key.operators)).sort();
    },
    async setBan(username, ban) {
      if (!(await client.exists(k.user(username)))) return false;
      if (ban === null) {
        await client.multi().del(key.ban(username)).zRem(key.bans, username).exec();
      } else {
        await client
          .multi()
          .hSet(key.ban(username), { by: ban.by, at: String(ban.at), reason: ban.reason })
          .zAdd(key.bans, { score: ban.at, value: username })
          .exec();
      }
      return true;
    },
    getBan,
    async listBans() {
      const names = await client.zRange(key.bans, 0, -1, { REV: true });
      const out: BanRecord[] = [];
      for (const u of names) {
        const b = await getBan(u);
        if (b) out.push(b);
      }
      return out;
    },
    async setGroupClosed(groupId, closed) {
      if (!(await client.exists(k.group(groupId)))) return false;
      if (closed) await client.sAdd(k.closedGroups, groupId);
      else await client.sRem(k.closedGroups, groupId);
      return true;
    },
    async isGroupClosed(groupId) {
      return (await client.sIsMember(k.closedGroups, groupId)) === 1;
    },
    async listClosedGroups() {
      return (await client.sMembers(k.closedGroups)).sort();
    },
    async setBlocked(blocker, blocked, on) {
      if (on) await client.sAdd(key.blocks(blocker), blocked);
      else await client.sRem(key.blocks(blocker), blocked);
    },
    async listBlocked(blocker) {
      return (await client.sMembers(key.blocks(blocker))).sort();
    },
    async createReport(report) {
      const created = await client.hSetNX(key.report(report.id), 'reporter', report.reporter);
      if (created !== 1) return false;
      await client
        .multi()
        .hSet(key.report(report.id), {
          reported: report.reported,
          groupId: report.groupId ?? '',
          at: String(report.at),
          status: 'open',
          handledBy: '',
        })
        .zAdd(key.reports, { score: report.at, value: report.id })
        .exec();
      return true;
    },
    async listReports(options = {}) {
      const limit = options.limit ?? 100;
      const ids = await client.zRange(key.reports, 0, -1, { REV: true });
      const out: ReportRecord[] = [];
      for (const id of ids) {
        if (out.length >= limit) break;
        const r = await readReport(id);
        if (r && (!options.status || r.status === options.status)) out.push(r);
      }
      return out;
    },
    async setReportStatus(id, status, by) {
      return (await run(CLOSE_REPORT, [key.report(id)], [status, by])) === 1;
    },
    async appendModerationLog(entry) {
      const seq = await client.incr(key.logSeq);
      const full: ModerationLogEntry = { seq, ...entry };
      await client.zAdd(key.log, { score: seq, value: JSON.stringify(full) });
      return full;
    },
    async listModerationLog(options = {}) {
      const limit = options.limit ?? 100;
      const max = options.before === undefined ? '+inf' : `(${options.before}`;
      const rows = await client.zRange(key.log, max, '-inf', {
        BY: 'SCORE',
        REV: true,
        LIMIT: { offset: 0, count: limit },
      });
      return rows.map((r) => JSON.parse(r) as ModerationLogEntry);
    },
  };
}
