import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import type { Capability } from '../src/services/messenger.ts';
import '../src/components/settings-view.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

function mount(messenger: RecordingMessenger) {
  const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
  const el = document.createElement('settings-view');
  el.session = session;
  document.body.append(el);
  const root = el.shadowRoot!;
  const box = () => root.querySelector<HTMLInputElement>('input[data-presence]');
  return { session, root, box };
}

describe('<settings-view> presence toggle', () => {
  it('shows the server’s setting and changes it through the messenger', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.capabilities = new Set<Capability>([...messenger.capabilities, 'hide-presence']);
    messenger.presenceShared = false;
    const { session, box } = mount(messenger);
    await until(() => box() !== null && box()!.checked === false && !box()!.disabled);
    box()!.click();
    await until(() => messenger.calls.some((c) => c.method === 'setPrivacy'));
    expect(messenger.calls.find((c) => c.method === 'setPrivacy')?.args).toEqual([
      { shareLastSeen: true, readReceipts: true },
    ]);
    expect(box()!.checked).toBe(true);
    session.dispose();
  });

  it('puts the box back and says why when the server refuses the change', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.capabilities = new Set<Capability>([...messenger.capabilities, 'hide-presence']);
    messenger.setPrivacy = () => Promise.reject(new Error('The server is unreachable.'));
    const { session, root, box } = mount(messenger);
    await until(() => box() !== null && box()!.checked && !box()!.disabled);
    box()!.click();
    await until(() => root.querySelector('[role="alert"]') !== null);
    expect(root.querySelector('[role="alert"]')?.textContent).toContain('unreachable');
    expect(box()!.checked).toBe(true);
    session.dispose();
  });

  it('is disabled when the messenger cannot hide presence', async () => {
    const messenger = new RecordingMessenger(freshStore());
    const { session, root, box } = mount(messenger);
    await until(() => box() !== null);
    expect(box()!.disabled).toBe(true);
    expect(root.querySelector('#presence-note')?.textContent).toContain('Not available');
    session.dispose();
  });
});

describe('<settings-view> for a guest account', () => {
  it('offers no password change or identity reset once the session knows it is a guest, and the form after an upgrade', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.capabilities = new Set<Capability>([
      ...messenger.capabilities,
      'change-password',
      'reset-identity',
    ]);
    messenger.guest = true;
    const { session, root } = mount(messenger);
    await until(() => root.querySelector('[data-guest-no-password]') !== null);
    expect(root.querySelector('form[data-password]')).toBeNull();
    expect(root.querySelector('[data-reset] identity-reset')).toBeNull();
    session.setGuest(false);
    await until(() => root.querySelector('form[data-password]') !== null);
    expect(root.querySelector('[data-guest-no-password]')).toBeNull();
    session.dispose();
  });
});
