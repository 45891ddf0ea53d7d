/**
 * Device linking (PROTOCOL.md §13) in the views' terms: the engine's link session on a new
 * browser becomes a {@link LinkOffer} (code, outcome, history import progress), and the
 * approving device's result a {@link LinkApproval}.
 */
import type { LinkSession, SottoClient } from '@sotto/client';
import type { Account, LinkApproval, LinkHistory, LinkOffer } from './messenger.ts';

/** What the linked device's engine reports once linked. */
type Linked = Awaited<LinkSession['linked']>;

/** How the copied history ended, as the new browser tells the user. */
function historyOutcome(h: Linked['history']): LinkHistory {
  if (h.status === 'imported') {
    return { status: 'imported', imported: h.imported + h.skipped, omitted: h.omitted };
  }
  if (h.status === 'failed') return { status: 'failed', message: h.error.message };
  return { status: 'none' };
}

/**
 * The offer a new browser shows while `session` waits for the other device. Once linked,
 * `signedIn` connects the account; a failure goes through `fail` (which rethrows it translated).
 */
export function linkOffer(
  client: SottoClient,
  session: LinkSession,
  signedIn: (info: Linked) => Promise<Account>,
  fail: (err: unknown) => Promise<never>,
): LinkOffer {
  const progress = new Set<(done: number, total: number) => void>();
  const stopProgress = client.on('historyProgress', ({ done, total }) => {
    for (const l of progress) l(done, total);
  });
  let history: LinkHistory = { status: 'none' };
  const linked = session.linked.then(async (info) => {
    stopProgress();
    history = historyOutcome(info.history);
    return signedIn(info);
  }, fail);
  // The view may attach its handlers later; the outcome is still delivered to it.
  linked.catch(() => undefined);
  const outcome = linked.then(() => history);
  outcome.catch(() => undefined);
  return {
    code: session.code,
    expiresAt: session.expiresAt,
    linked,
    history: outcome,
    onHistoryProgress: (listener) => void progress.add(listener),
    cancel: () => session.cancel(),
  };
}

/** The approving device's result, with the reason a history could not be sent as text. */
export function linkApproval(r: Awaited<ReturnType<SottoClient['link']['approve']>>): LinkApproval {
  const why = r.historyError;
  return {
    deviceId: r.deviceId,
    history: r.history,
    ...(why !== undefined
      ? { historyError: why instanceof Error ? why.message : JSON.stringify(why) }
      : {}),
  };
}
