/**
 * Resetting the identity key in the web client's views, against a recording messenger:
 * Settings → Reset identity asks for the password and the typed username before calling
 * `resetIdentity`, explains a refusal and says what happened; the log-in screen of a new browser
 * offers "I lost my other devices — reset identity" after LINK_REQUIRED and logs in with a new
 * identity only after the typed confirmation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import { MessengerError, type Account, type Capability } from '../src/services/messenger.ts';
import { validateIdentityReset } from '../src/components/identity-reset.ts';
import '../src/components/settings-view.ts';
import '../src/components/auth-view.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

const withReset = (m: RecordingMessenger, extra: Capability[] = []): RecordingMessenger => {
  m.capabilities = new Set<Capability>([...m.capabilities, 'reset-identity', ...extra]);
  return m;
};

const calls = (m: RecordingMessenger, method: string) =>
  m.calls.filter((c) => c.method === method).map((c) => c.args);

/** Fill and submit an `<identity-reset>` inside `host`. */
async function fillReset(host: ParentNode, fields: { password?: string; typed: string }) {
  await until(
    () => host.querySelector('identity-reset')?.shadowRoot?.querySelector('form') != null,
  );
  const form = host.querySelector('identity-reset')!;
  await form.updateComplete;
  const root = form.shadowRoot!;
  const type = (name: string, value: string) => {
    const i = root.querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
    i.value = value;
    i.dispatchEvent(new Event('input'));
  };
  if (fields.password !== undefined) type('reset-password', fields.password);
  type('reset-confirm', fields.typed);
  await form.updateComplete;
  root.querySelector<HTMLButtonElement>('button[type="submit"]')!.click();
  return {
    alert: () => root.querySelector('[role="alert"]')?.textContent ?? undefined,
    root,
  };
}

describe('validateIdentityReset', () => {
  const base = { username: 'alice', askPassword: true };
  it('needs the password when asked and the exact username', () => {
    expect(validateIdentityReset({ ...base, password: '', typed: 'alice' })).toMatch(/password/);
    expect(validateIdentityReset({ ...base, password: 'pw', typed: '' })).toMatch(
      /Type your username/,
    );
    expect(validateIdentityReset({ ...base, password: 'pw', typed: 'Alice' })).toMatch(/alice/);
    expect(validateIdentityReset({ ...base, password: 'pw', typed: 'RESET' })).not.toBe('');
    expect(validateIdentityReset({ ...base, password: 'pw', typed: ' alice ' })).toBe('');
    expect(
      validateIdentityReset({
        username: 'alice',
        askPassword: false,
        password: '',
        typed: 'alice',
      }),
    ).toBe('');
  });
});

describe('<settings-view> reset identity', () => {
  function mount(messenger: RecordingMessenger) {
    const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
    const el = document.createElement('settings-view');
    el.session = session;
    document.body.append(el);
    const root = el.shadowRoot!;
    return { session, el, root, section: () => root.querySelector('[data-reset]') };
  }

  it('explains the consequences, checks the confirmation, then resets and says so', async () => {
    const messenger = withReset(new RecordingMessenger(freshStore()), ['devices']);
    const { session, el, root } = mount(messenger);
    const reset = new Promise<Account>((resolve) =>
      el.addEventListener('identity-reset', (e) => resolve((e as CustomEvent<Account>).detail)),
    );
    await until(() => root.querySelector('identity-reset') !== null);
    const form = root.querySelector('identity-reset')!;
    await form.updateComplete;
    const text = form.shadowRoot!.textContent.replace(/\s+/g, ' ');
    expect(text).toContain('Every other device of your account is removed and signed out');
    expect(text).toContain('safety number changed');
    expect(text).toContain('Verification marks are cleared');
    expect(text).toContain('Messages and contacts saved on this browser stay');

    // A wrong confirmation never reaches the messenger.
    const wrong = await fillReset(root, { password: 'correct horse', typed: 'RESET' });
    await until(() => wrong.alert() !== undefined);
    expect(wrong.alert()).toContain('Type your username, alice');
    const noPassword = await fillReset(root, { password: '', typed: 'alice' });
    await until(() => noPassword.alert()?.includes('Enter your password') === true);
    expect(calls(messenger, 'resetIdentity')).toEqual([]);

    await fillReset(root, { password: 'correct horse', typed: 'alice' });
    expect((await reset).deviceId).toBe('dev-reset');
    expect(calls(messenger, 'resetIdentity')).toEqual([['correct horse']]);
    await until(() => root.querySelector('[data-reset-done]') !== null);
    expect(root.querySelector('[data-reset-done]')!.textContent).toMatch(/dev-reset/);
    expect(root.querySelector('identity-reset')).toBeNull();
    session.dispose();
  });

  it('says a wrong password changed nothing and keeps the form', async () => {
    const messenger = withReset(new RecordingMessenger(freshStore()));
    messenger.resetFailWith = new MessengerError('BAD_CREDENTIALS', 'invalid credentials');
    const { session, root } = mount(messenger);
    const r = await fillReset(root, { password: 'wrong', typed: 'alice' });
    await until(() => r.alert() !== undefined);
    expect(r.alert()).toContain('password is wrong. Your identity was not reset');
    expect(calls(messenger, 'resetIdentity')).toEqual([['wrong']]);
    expect(root.querySelector('[data-reset-done]')).toBeNull();
    expect(r.root.querySelector<HTMLInputElement>('input[name="reset-confirm"]')!.value).toBe(
      'alice',
    );
    session.dispose();
  });

  it('says when the server cannot be reached', async () => {
    const messenger = withReset(new RecordingMessenger(freshStore()));
    messenger.resetFailWith = new MessengerError('UNREACHABLE', 'network');
    const { session, root } = mount(messenger);
    const r = await fillReset(root, { password: 'pw', typed: 'alice' });
    await until(() => r.alert() !== undefined);
    expect(r.alert()).toContain('Cannot reach the Sotto server');
    session.dispose();
  });

  it('is not offered without the capability', async () => {
    const messenger = new RecordingMessenger(freshStore());
    const { session, el, section } = mount(messenger);
    await el.updateComplete;
    expect(section()!.textContent).toContain('not available');
    expect(section()!.querySelector('identity-reset')).toBeNull();
    session.dispose();
  });
});

describe('<auth-view> a new browser without another device', () => {
  async function loginNeedingLink(messenger: RecordingMessenger) {
    const el = document.createElement('auth-view');
    el.messenger = messenger;
    document.body.append(el);
    const root = el.shadowRoot!;
    await el.updateComplete;
    (root.querySelectorAll('[role=tab]')[1] as HTMLButtonElement).click();
    await el.updateComplete;
    (root.querySelector('input[name=username]') as HTMLInputElement).value = 'alice';
    (root.querySelector('input[name=password]') as HTMLInputElement).value = 'correct horse';
    root.querySelector('form')?.dispatchEvent(new Event('submit', { cancelable: true }));
    await until(() => root.querySelector('button[data-lost-devices]') !== null);
    return { el, root };
  }

  it('offers a reset after LINK_REQUIRED and logs in with a new identity once confirmed', async () => {
    const messenger = withReset(new RecordingMessenger(freshStore()), ['link-device']);
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    const { el, root } = await loginNeedingLink(messenger);
    expect(root.querySelector('button[data-link]')).not.toBeNull();
    messenger.failWith = undefined;
    (root.querySelector('button[data-lost-devices]') as HTMLButtonElement).click();
    await until(() => root.querySelector('identity-reset') !== null);
    const form = root.querySelector('identity-reset')!;
    await form.updateComplete;
    // The password was just typed in the log-in form: only the confirmation is asked.
    expect(form.shadowRoot!.querySelector('input[name="reset-password"]')).toBeNull();

    const signedIn = new Promise<Account>((resolve) =>
      el.addEventListener('signed-in', (e) => resolve((e as CustomEvent<Account>).detail)),
    );
    const wrong = await fillReset(root, { typed: 'bob' });
    await until(() => wrong.alert() !== undefined);
    expect(calls(messenger, 'logInWithNewIdentity')).toEqual([]);
    await fillReset(root, { typed: 'alice' });
    expect((await signedIn).deviceId).toBe('dev-reset');
    expect(calls(messenger, 'logInWithNewIdentity')).toEqual([['alice', 'correct horse']]);
  });

  it('goes back to the log-in form on Cancel', async () => {
    const messenger = withReset(new RecordingMessenger(freshStore()));
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    const { el, root } = await loginNeedingLink(messenger);
    (root.querySelector('button[data-lost-devices]') as HTMLButtonElement).click();
    await until(() => root.querySelector('identity-reset') !== null);
    const form = root.querySelector('identity-reset')!;
    await form.updateComplete;
    const cancel = [...form.shadowRoot!.querySelectorAll('button')].find(
      (b) => b.textContent?.trim() === 'Cancel',
    )!;
    cancel.click();
    await el.updateComplete;
    await until(() => root.querySelector('form input[name=username]') !== null);
    expect(calls(messenger, 'logInWithNewIdentity')).toEqual([]);
  });

  it('does not offer a reset when the messenger cannot do one', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.capabilities = new Set<Capability>([...messenger.capabilities, 'link-device']);
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    const el = document.createElement('auth-view');
    el.messenger = messenger;
    document.body.append(el);
    const root = el.shadowRoot!;
    await el.updateComplete;
    (root.querySelectorAll('[role=tab]')[1] as HTMLButtonElement).click();
    await el.updateComplete;
    (root.querySelector('input[name=username]') as HTMLInputElement).value = 'alice';
    (root.querySelector('input[name=password]') as HTMLInputElement).value = 'correct horse';
    root.querySelector('form')?.dispatchEvent(new Event('submit', { cancelable: true }));
    await until(() => root.querySelector('button[data-link]') !== null);
    expect(root.querySelector('button[data-lost-devices]')).toBeNull();
  });
});
