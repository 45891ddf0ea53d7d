/**
 * `report` (issue 17; PROTOCOL.md "Reports"): an abuse report a user sent end-to-end encrypted
 * to the operators. Kept in the device's store (setting {@link REPORTS_SETTING}, newest first,
 * bounded) with the sender the session proved, never the one the payload could claim; the
 * Administration page pairs it with the key server's record of the same id and reporter.
 */
import type { Payload } from '../../payload.ts';
import { REPORTS_SETTING, type ReceivedReport } from '../reports.ts';
import type { Applying } from './types.ts';

/** Most reports a device keeps (oldest dropped first). */
export const MAX_KEPT_REPORTS = 500;

/** Keep the report and tell the UI. Reports arriving on a group topic are ignored. */
export async function applyReport(
  p: Extract<Payload, { kind: 'report' }>,
  at: Applying,
): Promise<void> {
  const { origin, now } = at;
  // Reports travel pairwise only: one on a group topic would be shown to every member.
  if (origin.group !== undefined) return;
  const kept = (await at.ctx.store.getSetting<ReceivedReport[]>(REPORTS_SETTING)) ?? [];
  if (kept.some((r) => r.reportId === p.reportId && r.reporter === origin.user)) return;
  const report: ReceivedReport = {
    reportId: p.reportId,
    reporter: origin.user,
    reporterDevice: origin.device,
    reported: p.reported,
    conversation: p.conversation,
    note: p.note,
    messages: p.messages,
    sentAt: p.ts,
    receivedAt: now,
  };
  at.ops.push({
    op: 'setSetting',
    key: REPORTS_SETTING,
    value: [report, ...kept].slice(0, MAX_KEPT_REPORTS),
  });
  at.fx.after.push(() => at.ctx.events.emit('report', report));
}
