/** `<guest-banner>`: the guest notice and its upgrade, against a recording messenger. */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import { MessengerError } from '../src/services/messenger.ts';
import { uiText } from '../src/services/ui-strings.ts';
import { idleText } from '../src/services/guests.ts';
import '../src/components/guest-banner.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

function mount(messenger: RecordingMessenger) {
  const session = new ChatSession(messenger, { username: 'guest_0a1b2c3d', deviceId: 'dev1' });
  const el = document.createElement('guest-banner');
  el.session = session;
  document.body.append(el);
  const root = el.shadowRoot!;
  const notice = () => root.querySelector('[data-guest-notice]');
  const alertText = () => root.querySelector('[role="alert"]')?.textContent?.trim();
  const upgrade = async (password: string) => {
    await until(() => root.querySelector('form') !== null);
    root.querySelector<HTMLInputElement>('input[name="password"]')!.value = password;
    root.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
  };
  const open = async () => {
    await until(() => root.querySelector('[data-guest-upgrade]') !== null);
    root.querySelector<HTMLButtonElement>('[data-guest-upgrade]')!.click();
  };
  return { session, el, root, notice, alertText, upgrade, open };
}

const upgrades = (m: RecordingMessenger) => m.calls.filter((c) => c.method === 'upgradeGuest');

describe('<guest-banner>', () => {
  it('shows nothing for a full account', async () => {
    const messenger = new RecordingMessenger(freshStore());
    const { session, el, root } = mount(messenger);
    // The session asked first: once a later question is answered, its answer is applied.
    expect(await messenger.guests.isGuest()).toBe(false);
    await el.updateComplete;
    expect(root.querySelector('section')).toBeNull();
    session.dispose();
  });

  it('says the guest account expires, checks the password, upgrades and removes the notice', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.guest = true;
    const { session, root, notice, alertText, upgrade, open } = mount(messenger);
    await until(() => notice() !== null);
    expect(notice()!.textContent).toContain('Guest account — expires after 24 h without use.');
    await open();
    expect(root.querySelector('form')!.getAttribute('aria-label')).toBe(uiText('guest.upgrade'));
    await upgrade('short');
    await until(() => alertText() !== undefined);
    expect(alertText()).toContain('at least 8 characters');
    expect(upgrades(messenger)).toHaveLength(0);
    await upgrade('correct horse battery');
    await until(() => root.querySelector('[data-guest-upgraded]') !== null);
    expect(upgrades(messenger).map((c) => c.args)).toEqual([['correct horse battery']]);
    expect(notice()).toBeNull();
    expect(session.guest).toBe(false);
    expect(root.querySelector('[data-guest-upgraded]')!.textContent).toContain(
      'Log in as guest_0a1b2c3d with your password',
    );
    session.dispose();
  });

  it('says the idle time the server announces', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.guest = true;
    messenger.guestIdleMs = 90 * 60_000;
    const { session, notice } = mount(messenger);
    await until(() => notice() !== null);
    expect(notice()!.textContent).toContain('Guest account — expires after 90 min without use.');
    expect(notice()!.getAttribute('aria-label')).toBe(
      'Guest account — expires after 90 min without use.',
    );
    expect([idleText(2 * 3_600_000), idleText(30_000)]).toEqual(['2 h', '30 s']);
    session.dispose();
  });

  it('keeps the notice and says why when the server refuses the upgrade', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.guest = true;
    messenger.guestUpgradeFailWith = new MessengerError(
      'GUEST_NOT_ALLOWED',
      uiText('guest.notAllowed'),
    );
    const { session, notice, alertText, upgrade, open } = mount(messenger);
    await until(() => notice() !== null);
    await open();
    await upgrade('correct horse battery');
    await until(() => alertText() !== undefined);
    expect(alertText()).toContain('Guest accounts cannot do that');
    expect(notice()).not.toBeNull();
    expect(session.guest).toBe(true);
    session.dispose();
  });

  it('checks a chosen username like sign-up does, and says when it is taken', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.guest = true;
    messenger.guestUpgradeFailWith = new MessengerError('USERNAME_TAKEN', 'taken');
    const { session, root, notice, alertText, upgrade, open } = mount(messenger);
    await until(() => notice() !== null);
    await open();
    await until(() => root.querySelector('input[name="username"]') !== null);
    const field = root.querySelector<HTMLInputElement>('input[name="username"]')!;
    expect(field.closest('label')!.textContent).toContain(uiText('guest.username'));
    for (const bad of ['No!', 'guest_ffffffff']) {
      field.value = bad;
      await upgrade('correct horse battery');
      await until(() => alertText() === uiText('auth.badUsername'));
    }
    expect(upgrades(messenger)).toHaveLength(0);
    field.value = 'vera';
    await upgrade('correct horse battery');
    await until(() => alertText() === uiText('auth.taken'));
    expect(upgrades(messenger).map((c) => c.args)).toEqual([['correct horse battery', 'vera']]);
    expect(notice()).not.toBeNull();
    session.dispose();
  });
});
