/**
 * Device linking in the web client's views: `<auth-view>` offers linking when the account's
 * keys live on another device and shows the code until the other device approves it;
 * `<link-device>` approves a pasted code and explains refusals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import {
  MessengerError,
  type Account,
  type Capability,
  type LinkHistory,
  type LinkOffer,
} from '../src/services/messenger.ts';
import '../src/components/auth-view.ts';
import '../src/components/link-device.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

const withLink = (m: RecordingMessenger): RecordingMessenger => {
  m.capabilities = new Set<Capability>([...m.capabilities, 'link-device']);
  return m;
};

function logInForm(messenger: RecordingMessenger) {
  const el = document.createElement('auth-view');
  el.messenger = messenger;
  document.body.append(el);
  const root = el.shadowRoot!;
  return { el, root };
}

async function submitLogin(
  root: ShadowRoot,
  el: HTMLElement & { updateComplete: Promise<boolean> },
) {
  await el.updateComplete;
  (root.querySelectorAll('[role=tab]')[1] as HTMLButtonElement).click();
  await el.updateComplete;
  (root.querySelector('input[name=username]') as HTMLInputElement).value = 'alice';
  (root.querySelector('input[name=password]') as HTMLInputElement).value = 'correct horse';
  root.querySelector('form')?.dispatchEvent(new Event('submit', { cancelable: true }));
}

/** After a LINK_REQUIRED log-in: choose "Link this device" (the next call succeeds). */
async function chooseLinking(messenger: RecordingMessenger, root: ShadowRoot): Promise<void> {
  await until(() => root.querySelector('button[data-link]') !== null);
  messenger.failWith = undefined;
  (root.querySelector('button[data-link]') as HTMLButtonElement).click();
}

describe('<auth-view> linking a new browser', () => {
  it('offers linking after LINK_REQUIRED, shows the code and signs in once approved', async () => {
    const messenger = withLink(new RecordingMessenger(freshStore()));
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    let approve: (a: Account) => void = () => undefined;
    messenger.linkOffer = {
      code: 'AQVhbGljZQ-the-code',
      expiresAt: Date.now() + 600_000,
      linked: new Promise<Account>((resolve) => (approve = resolve)),
      history: Promise.resolve({ status: 'none' }),
      onHistoryProgress: () => undefined,
      cancel: () => undefined,
    };
    const { el, root } = logInForm(messenger);
    await submitLogin(root, el);
    await until(() => root.querySelector('button[data-link]') !== null);
    expect(root.querySelector('[role=alert]')?.textContent).toMatch(/another device/);

    messenger.failWith = undefined;
    (root.querySelector('button[data-link]') as HTMLButtonElement).click();
    await until(() => root.querySelector('link-offer') !== null);
    expect(messenger.calls.at(-1)).toEqual({
      method: 'beginLink',
      args: ['alice', 'correct horse'],
    });
    const offer = root.querySelector('link-offer')!;
    await until(() => offer.shadowRoot?.querySelector('[data-link-code]') !== null);
    expect(offer.shadowRoot!.querySelector('[data-link-code]')!.textContent).toBe(
      'AQVhbGljZQ-the-code',
    );
    await until(() => offer.shadowRoot!.querySelector('img') !== null);

    const signedIn = new Promise<string>((resolve) =>
      el.addEventListener('signed-in', (e) => resolve((e as CustomEvent<Account>).detail.deviceId)),
    );
    approve({ username: 'alice', deviceId: 'dev2' });
    expect(await signedIn).toBe('dev2');
  });

  it('does not offer linking for other errors or without the capability', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    const { el, root } = logInForm(messenger);
    await submitLogin(root, el);
    await until(() => root.querySelector('[role=alert]') !== null);
    expect(root.querySelector('button[data-link]')).toBeNull();

    const other = withLink(new RecordingMessenger(freshStore()));
    other.failWith = new MessengerError('BAD_CREDENTIALS', 'nope');
    document.body.innerHTML = '';
    const second = logInForm(other);
    await submitLogin(second.root, second.el);
    await until(() => second.root.querySelector('[role=alert]') !== null);
    expect(second.root.querySelector('button[data-link]')).toBeNull();
  });

  it('goes back to the form with the reason when the code expires, and cancels on request', async () => {
    const messenger = withLink(new RecordingMessenger(freshStore()));
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    let expire: (e: unknown) => void = () => undefined;
    let cancelled = 0;
    const offer: LinkOffer = {
      code: 'code-1',
      expiresAt: Date.now() + 600_000,
      linked: new Promise<Account>((_, reject) => (expire = reject)),
      history: new Promise<LinkHistory>(() => undefined),
      onHistoryProgress: () => undefined,
      cancel: () => void cancelled++,
    };
    messenger.linkOffer = offer;
    const { el, root } = logInForm(messenger);
    await submitLogin(root, el);
    await chooseLinking(messenger, root);
    await until(() => root.querySelector('link-offer') !== null);
    expire(new MessengerError('LINK_EXPIRED', 'The link code expired. Show a new one.'));
    await until(() => root.querySelector('form') !== null);
    expect(root.querySelector('[role=alert]')?.textContent).toMatch(/expired/);

    // Cancel: the offer is told to stop and the form comes back.
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    messenger.linkOffer = { ...offer, linked: new Promise<Account>(() => undefined) };
    await submitLogin(root, el);
    await chooseLinking(messenger, root);
    await until(() => root.querySelector('link-offer') !== null);
    const linkOffer = root.querySelector('link-offer')!;
    await until(() => linkOffer.shadowRoot?.querySelectorAll('button').length === 2);
    (linkOffer.shadowRoot!.querySelectorAll('button')[1] as HTMLButtonElement).click();
    await until(() => root.querySelector('form') !== null);
    expect(cancelled).toBe(1);
  });

  it('shows the history being copied, then the result before entering the app', async () => {
    const messenger = withLink(new RecordingMessenger(freshStore()));
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    let approve: (a: Account) => void = () => undefined;
    let progress: (done: number, total: number) => void = () => undefined;
    messenger.linkOffer = {
      code: 'code-h',
      expiresAt: Date.now() + 600_000,
      linked: new Promise<Account>((resolve) => (approve = resolve)),
      history: Promise.resolve({ status: 'imported', imported: 1200, omitted: 3 }),
      onHistoryProgress: (l) => (progress = l),
      cancel: () => undefined,
    };
    const { el, root } = logInForm(messenger);
    await submitLogin(root, el);
    await chooseLinking(messenger, root);
    await until(() => root.querySelector('link-offer') !== null);
    const offer = root.querySelector('link-offer')!;
    await until(() => offer.shadowRoot?.querySelector('[data-link-status]') !== null);
    progress(500, 1200);
    await until(() =>
      /Copying your history… 500 of 1200 messages/.test(
        offer.shadowRoot!.querySelector('[data-link-status]')!.textContent ?? '',
      ),
    );
    let entered = '';
    el.addEventListener(
      'signed-in',
      (e) => (entered = (e as CustomEvent<Account>).detail.deviceId),
    );
    approve({ username: 'alice', deviceId: 'dev2' });
    await until(() => root.querySelector('[data-link-history]') !== null);
    expect(root.querySelector('[data-link-history]')!.textContent).toMatch(
      /1200 messages copied from your other device\. 3 older messages did not fit/,
    );
    expect(entered).toBe('');
    (root.querySelector('button[data-link-continue]') as HTMLButtonElement).click();
    expect(entered).toBe('dev2');
  });

  it('says when the history could not be copied', async () => {
    const messenger = withLink(new RecordingMessenger(freshStore()));
    messenger.failWith = new MessengerError('LINK_REQUIRED', 'keys live on another device');
    messenger.linkOffer = {
      code: 'code-f',
      expiresAt: Date.now() + 600_000,
      linked: Promise.resolve({ username: 'alice', deviceId: 'dev2' }),
      history: Promise.resolve({ status: 'failed', message: 'history blob does not decrypt' }),
      onHistoryProgress: () => undefined,
      cancel: () => undefined,
    };
    const { el, root } = logInForm(messenger);
    await submitLogin(root, el);
    await chooseLinking(messenger, root);
    await until(() => root.querySelector('[data-link-history="failed"]') !== null);
    expect(root.querySelector('[data-link-history]')!.textContent).toMatch(
      /could not be copied \(history blob does not decrypt\)/,
    );
  });
});

describe('<link-device>', () => {
  function mount(messenger: RecordingMessenger) {
    const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
    const el = document.createElement('link-device');
    el.session = session;
    document.body.append(el);
    return { session, root: el.shadowRoot! };
  }

  it('approves a pasted code through the messenger and says so', async () => {
    const messenger = withLink(new RecordingMessenger(freshStore()));
    const { session, root } = mount(messenger);
    await until(() => root.querySelector('textarea') !== null);
    root.querySelector('textarea')!.value = '  AQ-pasted-code \n';
    root.querySelector('form')!.dispatchEvent(new Event('submit', { cancelable: true }));
    await until(() => root.querySelector('[data-linked]') !== null);
    expect(messenger.calls.at(-1)).toEqual({
      method: 'approveLink',
      args: ['AQ-pasted-code', { history: true }],
    });
    expect(root.querySelector('[data-linked]')!.textContent).toMatch(/dev2/);
    expect(root.querySelector('[data-linked]')!.textContent).toMatch(
      /history was included: 42 messages/,
    );
    session.dispose();
  });

  it('leaves the history out when "Copy message history" is unticked', async () => {
    const messenger = withLink(new RecordingMessenger(freshStore()));
    const { session, root } = mount(messenger);
    await until(() => root.querySelector('input[name=history]') !== null);
    const box = root.querySelector<HTMLInputElement>('input[name=history]')!;
    expect(box.checked).toBe(true);
    box.checked = false;
    root.querySelector('textarea')!.value = 'AQ-code';
    root.querySelector('form')!.dispatchEvent(new Event('submit', { cancelable: true }));
    await until(() => root.querySelector('[data-linked]') !== null);
    expect(messenger.calls.at(-1)).toEqual({
      method: 'approveLink',
      args: ['AQ-code', { history: false }],
    });
    expect(root.querySelector('[data-linked]')!.textContent).toMatch(/No message history/);
    session.dispose();
  });

  it('shows why a code was refused', async () => {
    const messenger = withLink(new RecordingMessenger(freshStore()));
    messenger.approveFailWith = new MessengerError(
      'BAD_CODE',
      'That link code belongs to another account.',
    );
    const { session, root } = mount(messenger);
    await until(() => root.querySelector('textarea') !== null);
    root.querySelector('textarea')!.value = 'AQ-other-user';
    root.querySelector('form')!.dispatchEvent(new Event('submit', { cancelable: true }));
    await until(() => root.querySelector('[role=alert]') !== null);
    expect(root.querySelector('[role=alert]')!.textContent).toMatch(/another account/);
    expect(root.querySelector('[data-linked]')).toBeNull();
    session.dispose();
  });

  it('says plainly when the engine cannot link', async () => {
    const { session, root } = mount(new RecordingMessenger(freshStore()));
    await until(() => root.querySelector('[role=status]') !== null);
    expect(root.querySelector('textarea')).toBeNull();
    expect(root.querySelector('[role=status]')!.textContent).toMatch(/not available/);
    session.dispose();
  });
});
