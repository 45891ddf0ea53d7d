/**
 * What an operator's device keeps of a received abuse report (issue 17): the record shared by the
 * apply handler (apply/report.ts), the engine's events and the safety API, in a file of its own so
 * none of them imports another for it.
 */
import type { ReportedMessage } from '../payload.ts';

/** The store setting holding received reports. */
export const REPORTS_SETTING = 'moderation.reports';

/** A report as an operator's device received it. */
export interface ReceivedReport {
  reportId: string;
  /** The reporter, as the pairwise session authenticated them. */
  reporter: string;
  reporterDevice: string;
  reported: string;
  conversation: string;
  note: string;
  messages: ReportedMessage[];
  /** The reporter's clock when sending (ms). */
  sentAt: number;
  /** When this device stored it (ms). */
  receivedAt: number;
}
