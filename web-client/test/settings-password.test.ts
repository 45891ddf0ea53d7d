/** Settings → Change password, against a recording messenger. */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import { MessengerError, type Capability } from '../src/services/messenger.ts';
import '../src/components/settings-view.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

function mount(messenger: RecordingMessenger) {
  messenger.capabilities = new Set<Capability>([...messenger.capabilities, 'change-password']);
  const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
  const el = document.createElement('settings-view');
  el.session = session;
  document.body.append(el);
  const root = el.shadowRoot!;
  const form = () => root.querySelector<HTMLFormElement>('form[data-password]');
  const input = (name: string) =>
    root.querySelector<HTMLInputElement>(`form[data-password] input[name="${name}-password"]`)!;
  const type = (name: string, value: string) => {
    const i = input(name);
    i.value = value;
    i.dispatchEvent(new Event('input'));
  };
  const submit = async (current: string, next: string, confirm = next) => {
    await until(() => form() !== null);
    type('current', current);
    type('new', next);
    type('confirm', confirm);
    await el.updateComplete;
    form()!.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
  };
  const alertText = () => root.querySelector('form[data-password] [role="alert"]')?.textContent;
  const done = () => root.querySelector('[data-password-done]');
  return { session, el, root, form, input, submit, alertText, done };
}

const changes = (m: RecordingMessenger) => m.calls.filter((c) => c.method === 'changePassword');

describe('<settings-view> change password', () => {
  it('changes the password through the messenger and says other devices must log in again', async () => {
    const messenger = new RecordingMessenger(freshStore());
    const { session, submit, done, input, alertText } = mount(messenger);
    await submit('old password', 'new password 1');
    await until(() => done() !== null);
    expect(changes(messenger).map((c) => c.args)).toEqual([['old password', 'new password 1']]);
    expect(done()!.textContent).toContain('must log in again');
    expect(alertText()).toBeUndefined();
    expect(input('current').value).toBe('');
    expect(input('new').value).toBe('');
    expect(input('confirm').value).toBe('');
    session.dispose();
  });

  it('says the current password is wrong and keeps the fields', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.passwordFailWith = new MessengerError('BAD_CREDENTIALS', 'invalid credentials');
    const { session, submit, done, input, alertText } = mount(messenger);
    await submit('wrong', 'new password 1');
    await until(() => alertText() !== undefined);
    expect(alertText()).toContain('current password is wrong');
    expect(done()).toBeNull();
    expect(changes(messenger)).toHaveLength(1);
    expect(input('new').value).toBe('new password 1');
    session.dispose();
  });

  it('checks length and confirmation before asking the server', async () => {
    const messenger = new RecordingMessenger(freshStore());
    const { session, el, submit, alertText } = mount(messenger);
    await submit('old password', 'short');
    await until(() => alertText() !== undefined);
    expect(alertText()).toContain('at least 8 characters');
    await submit('old password', 'new password 1', 'new password 2');
    await el.updateComplete;
    await until(() => alertText()?.includes('do not match') === true);
    await submit('', 'new password 1');
    await until(() => alertText()?.includes('current password') === true);
    expect(changes(messenger)).toHaveLength(0);
    session.dispose();
  });

  it('reports an unreachable server', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.passwordFailWith = new MessengerError('UNREACHABLE', 'network');
    const { session, submit, alertText } = mount(messenger);
    await submit('old password', 'new password 1');
    await until(() => alertText() !== undefined);
    expect(alertText()).toContain('Cannot reach the Sotto server');
    session.dispose();
  });

  it('is not offered without the capability', async () => {
    const messenger = new RecordingMessenger(freshStore());
    const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
    const el = document.createElement('settings-view');
    el.session = session;
    document.body.append(el);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('form[data-password]')).toBeNull();
    expect(el.shadowRoot!.textContent).toContain('Changing the password is not available');
    session.dispose();
  });
});
