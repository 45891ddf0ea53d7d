/**
 * Settings → Devices: the own-key monitor's status line (`<own-key-log-status>`). It says what
 * the engine stored — entries checked, none or how many unexpected (pointing at the alert while
 * one is shown), and when — follows the engine's `ownKeyLog` events live, and never goes back
 * to an older status when the first read answers late.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import { ownKeyLogText } from '../src/components/own-key-log-status.ts';
import { mapEngineEvents } from '../src/services/engine-events.ts';
import { pendingOwnKeyAlerts } from '../src/services/own-key-alerts.ts';
import type { MessengerEvent, OwnKeyLogInfo } from '../src/services/messenger.ts';
import { Emitter } from '../../client/src/internal/emitter.ts';
import type { ClientEvents } from '../../client/src/internal/context.ts';
import '../src/components/own-key-log-status.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

const NOW = new Date(2026, 11, 6, 12, 30).getTime();
const NOON = new Date(2026, 11, 6, 12, 3).getTime();
const time = (at: number): string =>
  new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** A session whose messenger first answers `initial`, with the status line mounted. */
function mount(initial: OwnKeyLogInfo) {
  const messenger = new RecordingMessenger(freshStore());
  messenger.ownKeyLogStatus = initial;
  const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
  const el = document.createElement('own-key-log-status');
  el.session = session;
  document.body.append(el);
  const status = () => el.shadowRoot?.querySelector<HTMLElement>('[role=status]') ?? null;
  return { messenger, session, el, status };
}

describe('ownKeyLogText', () => {
  it('says what was checked, when, and whether anything was not ours', () => {
    expect(ownKeyLogText(null, false, NOW)).toBe('Key log: not checked yet');
    expect(ownKeyLogText({ checkedEntries: 0, checkedAt: null, unexpected: 0 }, false, NOW)).toBe(
      'Key log: not checked yet',
    );
    expect(ownKeyLogText({ checkedEntries: 42, checkedAt: NOON, unexpected: 0 }, false, NOW)).toBe(
      `Key log: 42 entries checked, none unexpected · ${time(NOON)}`,
    );
    expect(ownKeyLogText({ checkedEntries: 1, checkedAt: NOON, unexpected: 0 }, false, NOW)).toBe(
      `Key log: 1 entry checked, none unexpected · ${time(NOON)}`,
    );
    expect(ownKeyLogText({ checkedEntries: 42, checkedAt: NOON, unexpected: 2 }, true, NOW)).toBe(
      `Key log: 42 entries checked, 2 unexpected — see the alert · ${time(NOON)}`,
    );
    // Acknowledged alerts: still counted, no alert to point at.
    expect(ownKeyLogText({ checkedEntries: 42, checkedAt: NOON, unexpected: 2 }, false, NOW)).toBe(
      `Key log: 42 entries checked, 2 unexpected · ${time(NOON)}`,
    );
    // Checked on another day: the day is named.
    const earlier = NOON - 2 * 86_400_000;
    expect(
      ownKeyLogText({ checkedEntries: 42, checkedAt: earlier, unexpected: 0 }, false, NOW),
    ).toMatch(/^Key log: 42 entries checked, none unexpected · .+ \d{2}.\d{2}/);
  });
});

describe('<own-key-log-status>', () => {
  it('shows the stored status with its accessible name and follows the engine live', async () => {
    const { messenger, status, el } = mount({
      checkedEntries: 5,
      checkedAt: NOON,
      unexpected: 0,
    });
    await until(() => status()?.dataset.checkedEntries === '5');
    const line = status()!;
    expect(line.getAttribute('aria-label')).toBe(line.textContent?.trim());
    expect(line.textContent).toContain('5 entries checked, none unexpected');

    const later = NOON + 60_000;
    messenger.emit({
      type: 'ownKeyLog',
      status: { checkedEntries: 9, checkedAt: later, unexpected: 1 },
    });
    await until(() => status()?.dataset.checkedEntries === '9');
    await el.updateComplete;
    expect(status()!.getAttribute('aria-label')).toContain('9 entries checked, 1 unexpected');
    expect(status()!.dataset.unexpected).toBe('1');
  });

  it('points at the alert while one is on screen', async () => {
    const { messenger, session, status, el } = mount({
      checkedEntries: 3,
      checkedAt: NOON,
      unexpected: 0,
    });
    messenger.emit({
      type: 'ownKeyAlert',
      alert: { reason: 'foreignIdentityKey', logIndex: 3, uik: 'AAAA', deviceId: null, seenAt: 1 },
    });
    messenger.emit({
      type: 'ownKeyLog',
      status: { checkedEntries: 4, checkedAt: NOON + 1, unexpected: 1 },
    });
    await until(() => status()?.textContent?.includes('see the alert') === true);
    await session.acknowledgeOwnKeyAlerts([3]);
    await until(() => status()?.textContent?.includes('see the alert') === false);
    await el.updateComplete;
    expect(status()!.textContent).toContain('4 entries checked, 1 unexpected');
  });

  it('keeps a newer event when the first read answers with an older status', async () => {
    const messenger = new RecordingMessenger(freshStore());
    let answer!: (s: OwnKeyLogInfo) => void;
    const first = new Promise<OwnKeyLogInfo>((r) => (answer = r));
    messenger.ownKeyLog = () => first;
    const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
    messenger.emit({
      type: 'ownKeyLog',
      status: { checkedEntries: 8, checkedAt: NOON, unexpected: 0 },
    });
    answer({ checkedEntries: 6, checkedAt: NOON - 1000, unexpected: 0 });
    // The session's handler was attached first, so it has run once this resumes.
    await first;
    expect(session.ownKeyLog).toEqual({ checkedEntries: 8, checkedAt: NOON, unexpected: 0 });
  });
});

describe('engine events: ownKeyLogChecked', () => {
  it('tells the views a run’s progress only after the alerts it counts are kept and told', async () => {
    const engine = new Emitter<ClientEvents>();
    const { store } = freshStore();
    const told: MessengerEvent[] = [];
    const keptWhenProgressTold: number[] = [];
    const stop = mapEngineEvents(engine, {
      emit: (e) => {
        told.push(e);
        if (e.type === 'ownKeyLog')
          void pendingOwnKeyAlerts(store).then((k) => keptWhenProgressTold.push(k.length));
      },
      watch: () => undefined,
      store: () => store,
      me: () => 'alice',
      connection: () => undefined,
    });
    // The engine's order: the run's alerts, then its progress.
    engine.emit('ownKeyAlert', {
      reason: 'foreignIdentityKey',
      logIndex: 4,
      uik: 'AAAA',
      deviceId: null,
    });
    const status = { checkedEntries: 5, checkedAt: NOON, unexpected: 1 };
    engine.emit('ownKeyLogChecked', status);
    await until(() => keptWhenProgressTold.length === 1);
    expect(told.map((e) => e.type)).toEqual(['ownKeyAlert', 'ownKeyLog']);
    expect(told[1]).toEqual({ type: 'ownKeyLog', status });
    expect(keptWhenProgressTold).toEqual([1]);
    stop();
  });
});
