/**
 * Blocking, reports and the operators' Administration page as the views see them (issue 17;
 * docs/WEB.md "Administration"). {@link createModerationPort} builds it on the engine: the block
 * list and report sending go through `engine.safety`, the operator actions through the key
 * server's `/v1/admin/*` routes; a report's messages come from this device's end-to-end
 * encrypted copy, paired with the server's record only when the reporter matches.
 */
import type { SottoClient } from '@sotto/client';

/** A report as the Administration page shows it. */
export interface AdminReport {
  id: string;
  reporter: string;
  reported: string;
  /** The room, `null` for a DM. */
  groupId: string | null;
  at: number;
  status: 'open' | 'dismissed' | 'actioned';
  handledBy: string | null;
  /** The reporter's note and messages, when this device received them (else `null`). */
  content: {
    note: string;
    messages: { id: string; sender: string; ts: number; text: string }[];
  } | null;
}

/** A ban as listed. */
export interface AdminBan {
  username: string;
  by: string;
  at: number;
  reason: string;
}

/** One moderation log entry. */
export interface AdminLogEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

/** What the views can do about abuse. */
export interface ModerationPort {
  /** Block or unblock `username`; the new list. */
  setBlocked(username: string, blocked: boolean): Promise<string[]>;
  isBlocked(username: string): boolean;
  /** Report messages of one user; resolves with the operators it went to. */
  report(conversationId: string, messageIds: string[], note: string): Promise<string[]>;
  /** Whether this account is a server operator. */
  isOperator(): Promise<boolean>;
  reports(): Promise<AdminReport[]>;
  closeReport(id: string, status: 'dismissed' | 'actioned'): Promise<void>;
  bans(): Promise<AdminBan[]>;
  ban(username: string, reason: string): Promise<void>;
  unban(username: string): Promise<void>;
  closedRooms(): Promise<string[]>;
  setRoomClosed(groupId: string, closed: boolean, reason?: string): Promise<void>;
  log(): Promise<AdminLogEntry[]>;
}

/** The port over an engine (read each call, so a new session's engine is used). */
export function createModerationPort(engine: () => SottoClient): ModerationPort {
  const call = <T>(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
    engine().http.call<T>(method, path, body === undefined ? { auth: true } : { auth: true, body });
  const enc = encodeURIComponent;
  return {
    setBlocked: (u, on) => (on ? engine().safety.block(u) : engine().safety.unblock(u)),
    isBlocked: (u) => engine().safety.isBlocked(u),
    async report(conversationId, ids, note) {
      return (await engine().safety.report(conversationId, ids, note)).operators;
    },
    async isOperator() {
      const me = engine().account?.username;
      const r = await engine().http.call<{ operators: string[] }>('GET', '/v1/operators', {
        auth: true,
      });
      return me !== undefined && r.operators.includes(me);
    },
    async reports() {
      const [{ reports }, received] = await Promise.all([
        call<{ reports: Omit<AdminReport, 'content'>[] }>('GET', '/v1/admin/reports'),
        engine().safety.receivedReports(),
      ]);
      return reports.map((r) => {
        // Only the copy the reporter's own session sent counts as the report's content.
        const c = received.find((x) => x.reportId === r.id && x.reporter === r.reporter);
        return { ...r, content: c ? { note: c.note, messages: c.messages } : null };
      });
    },
    async closeReport(id, status) {
      await call('PUT', `/v1/admin/reports/${enc(id)}/status`, { status });
    },
    async bans() {
      return (await call<{ bans: AdminBan[] }>('GET', '/v1/admin/bans')).bans;
    },
    async ban(u, reason) {
      await call('PUT', `/v1/admin/bans/${enc(u)}`, { reason });
    },
    async unban(u) {
      await call('DELETE', `/v1/admin/bans/${enc(u)}`);
    },
    async closedRooms() {
      return (await call<{ groups: string[] }>('GET', '/v1/admin/rooms/closed')).groups;
    },
    async setRoomClosed(groupId, closed, reason = '') {
      await call(
        closed ? 'PUT' : 'DELETE',
        `/v1/admin/rooms/${enc(groupId)}/closed`,
        closed ? { reason } : undefined,
      );
    },
    async log() {
      return (await call<{ entries: AdminLogEntry[] }>('GET', '/v1/admin/log?limit=50')).entries;
    },
  };
}
