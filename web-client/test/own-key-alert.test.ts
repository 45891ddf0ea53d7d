import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import type { MessengerEvent } from '../src/services/messenger.ts';
import type { OwnKeyAlert } from '../src/services/engine-types.ts';
import {
  acknowledgeOwnKeyAlerts,
  forwardOwnKeyAlert,
  pendingOwnKeyAlerts,
  recordOwnKeyAlert,
} from '../src/services/own-key-alerts.ts';
import '../src/components/own-key-alert-banner.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

/** What the engine raises for a certificate our identity key never signed. */
const badCert: OwnKeyAlert = {
  reason: 'badCertificate',
  logIndex: 7,
  uik: 'T3VyT3duVWlrQmFzZTY0dXJsX19fX19fX19fX19fX18',
  deviceId: 'evil2',
};
/** What the engine raises for an identity key that is not ours. */
const foreign: OwnKeyAlert = {
  reason: 'foreignIdentityKey',
  logIndex: 5,
  uik: 'TWFsbG9yeXNLZXlCYXNlNjR1cmxfX19fX19fX19fX18',
  deviceId: null,
};

/** A session on `local` with the banner mounted, as after a (re)load of the page. */
function mount(local: ReturnType<typeof freshStore>) {
  const messenger = new RecordingMessenger(local);
  const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
  const el = document.createElement('own-key-alert-banner');
  el.session = session;
  document.body.append(el);
  const alert = () => el.shadowRoot?.querySelector<HTMLElement>('[role=alert]') ?? null;
  return { messenger, session, el, alert };
}

describe('adapter: forwardOwnKeyAlert', () => {
  it('keeps the engine’s alert in the store before telling the views, once per log entry', async () => {
    const { store } = freshStore();
    const events: MessengerEvent[] = [];
    const keptWhenTold: number[] = [];
    const emit = (e: MessengerEvent): void => {
      events.push(e);
      void pendingOwnKeyAlerts(store).then((k) => keptWhenTold.push(k.length));
    };
    await forwardOwnKeyAlert(store, badCert, emit, 1_700_000_000_000);
    expect(events).toEqual([
      {
        type: 'ownKeyAlert',
        alert: { ...badCert, seenAt: 1_700_000_000_000 },
      },
    ]);
    await until(() => keptWhenTold.length === 1);
    expect(keptWhenTold).toEqual([1]);
    // The same log entry again (another tab's look): kept once, not announced twice.
    await forwardOwnKeyAlert(store, badCert, emit, 1_700_000_100_000);
    expect(events).toHaveLength(1);
    expect(await pendingOwnKeyAlerts(store)).toEqual([{ ...badCert, seenAt: 1_700_000_000_000 }]);
  });

  it('does not lose an alert that arrives while others are acknowledged', async () => {
    const { store } = freshStore();
    await recordOwnKeyAlert(store, { ...foreign, seenAt: 1 });
    const [rest] = await Promise.all([
      acknowledgeOwnKeyAlerts(store, [foreign.logIndex]),
      recordOwnKeyAlert(store, { ...badCert, seenAt: 2 }),
    ]);
    expect(rest).toEqual([]);
    expect((await pendingOwnKeyAlerts(store)).map((a) => a.logIndex)).toEqual([badCert.logIndex]);
  });
});

describe('<own-key-alert-banner>', () => {
  it('shows nothing while there is no alert', async () => {
    const { el, alert, session } = mount(freshStore());
    await el.updateComplete;
    await new Promise((r) => setTimeout(r, 50));
    expect(alert()).toBeNull();
    session.dispose();
  });

  it('explains an unsigned certificate, survives a reload, and goes away on “I understand”', async () => {
    const local = freshStore();
    const first = mount(local);
    await forwardOwnKeyAlert(local.store, badCert, (e) => first.messenger.emit(e));
    await until(() => first.alert() !== null);
    const text = first.alert()!.textContent.replace(/\s+/g, ' ');
    expect(text).toContain('Someone may have registered a device as you');
    expect(text).toContain('Device evil2');
    expect(text).toContain('your identity key never signed');
    expect(text).toContain('Key log entry 7');
    expect(text).toMatch(/Change your password/);
    expect(text).not.toContain('/v1/accounts/password');
    const change = first.alert()!.querySelector<HTMLAnchorElement>('a[data-change-password]');
    expect(change?.getAttribute('href')).toBe('#/settings');
    expect(change?.textContent?.replace(/\s+/g, ' ')).toContain('Settings → Change password');
    expect(text).toMatch(/reset your identity/);
    const reset = first.alert()!.querySelector<HTMLAnchorElement>('a[data-reset-identity]');
    expect(reset?.getAttribute('href')).toBe('#/settings');
    expect(reset?.textContent?.replace(/\s+/g, ' ')).toContain('Settings → Reset identity');
    expect(text).not.toContain('--reset-identity');
    expect(text).not.toContain('If you reset your identity on another device yourself');
    const devices = first.alert()!.querySelector<HTMLAnchorElement>('a[href="#/settings"]');
    expect(devices?.textContent).toContain('Settings → Devices');
    first.session.dispose();
    first.el.remove();

    // A reload: a new session on the same store shows the alert the user has not acknowledged.
    const second = mount(local);
    await until(() => second.alert() !== null);
    expect(second.alert()!.textContent).toContain('evil2');
    const ack = [...second.alert()!.querySelectorAll('button')].find((b) =>
      b.textContent?.includes('I understand'),
    );
    const dismissed = new Promise<number[]>((resolve) =>
      second.el.addEventListener('own-key-alerts-acknowledged', (e) =>
        resolve((e as CustomEvent<number[]>).detail),
      ),
    );
    ack!.click();
    expect(await dismissed).toEqual([badCert.logIndex]);
    await until(() => second.alert() === null);
    expect(await pendingOwnKeyAlerts(local.store)).toEqual([]);
    second.session.dispose();
    second.el.remove();

    // Acknowledged: gone after the next reload too.
    const third = mount(local);
    await third.el.updateComplete;
    await new Promise((r) => setTimeout(r, 50));
    expect(third.alert()).toBeNull();
    third.session.dispose();
  });

  it('lists every alert and says a foreign identity key may be the user’s own reset', async () => {
    const local = freshStore();
    const { messenger, alert, session } = mount(local);
    await forwardOwnKeyAlert(local.store, badCert, (e) => messenger.emit(e));
    await forwardOwnKeyAlert(local.store, foreign, (e) => messenger.emit(e));
    await until(() => alert()?.querySelectorAll('ul > li').length === 2);
    const items = [...alert()!.querySelectorAll('ul > li')].map((li) =>
      li.textContent.replace(/\s+/g, ' '),
    );
    // Oldest log entry first.
    expect(items[0]).toContain('An identity key that is not yours (TWFsbG9yeXNL…)');
    expect(items[0]).toContain('Key log entry 5');
    expect(items[1]).toContain('Device evil2');
    expect(alert()!.textContent).toContain('If you reset your identity on another device yourself');
    session.dispose();
  });
});
