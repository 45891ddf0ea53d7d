/**
 * `<group-key-banner>` (identity resets in groups): the member who reset reads that they wait for
 * an admin (or that no admin is left); an admin gets "Re-add with new key" for a changed member,
 * or a link to review a verified contact's new safety number first; other members read that the
 * change waits for an admin; nothing shows when every key is current.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import type { GroupKeys } from '../src/services/messenger.ts';
import '../src/components/group-key-banner.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

const shadow = (el: Element): ShadowRoot => {
  if (el.shadowRoot === null) throw new Error('no shadow root');
  return el.shadowRoot;
};

function mount(keys: GroupKeys) {
  const messenger = new RecordingMessenger(freshStore());
  messenger.groupKeysResult = keys;
  const s = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' }, () => undefined);
  const el = document.createElement('group-key-banner');
  el.session = s;
  el.groupId = 'g1';
  document.body.append(el);
  return { messenger, s, el, root: shadow(el) };
}

const none: GroupKeys = { selfStale: false, canRekey: true, noAdmin: false, changed: [] };

describe('<group-key-banner>', () => {
  it("looks the members' keys up only where asked to (the settings page)", async () => {
    const messenger = new RecordingMessenger(freshStore());
    const s = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' }, () => undefined);
    const el = document.createElement('group-key-banner');
    el.session = s;
    el.groupId = 'g1';
    el.lookup = true;
    document.body.append(el);
    await until(() => messenger.calls.some((c) => c.method === 'groupKeys'));
    expect(messenger.calls.find((c) => c.method === 'groupKeys')?.args).toEqual([
      'g1',
      { lookup: true },
    ]);
    s.dispose();
  });

  it('tells the member who reset that they wait for an admin, or that none is left', async () => {
    const { root, s } = mount({ ...none, selfStale: true, canRekey: false });
    await until(() => root.querySelector('[data-self-stale]') !== null);
    expect(root.textContent).toContain('until an admin re-adds you');
    s.dispose();
    document.body.innerHTML = '';
    const alone = mount({ ...none, selfStale: true, canRekey: false, noAdmin: true });
    await until(() => alone.root.querySelector('[data-self-stale]') !== null);
    expect(alone.root.textContent).toContain('nobody can re-add you');
    alone.s.dispose();
  });

  it('offers admins "Re-add with new key", and a review link for a verified contact', async () => {
    const { root, messenger, s } = mount({
      ...none,
      changed: [
        { username: 'bob', admin: false, awaitingAcceptance: false },
        { username: 'carol', admin: true, awaitingAcceptance: true },
      ],
    });
    await until(() => root.querySelector('[data-changed=bob]') !== null);
    const rekey = root.querySelector<HTMLButtonElement>(
      'button[aria-label="Re-add bob with the new key"]',
    );
    expect(rekey?.textContent?.trim()).toBe('Re-add with new key');
    expect(root.querySelector('[data-changed=carol] button')).toBeNull();
    expect(root.querySelector('[data-changed=carol] a')?.getAttribute('href')).toBe(
      '#/c/dm%3Acarol/info',
    );
    messenger.groupKeysResult = none;
    rekey!.click();
    await until(() => messenger.calls.some((c) => c.method === 'rekeyMember'));
    expect(messenger.calls.find((c) => c.method === 'rekeyMember')?.args).toEqual(['g1', 'bob']);
    await until(() => root.querySelector('[data-changed]') === null);
    s.dispose();
  });

  it('tells other members the change waits for an admin, and shows nothing when keys are current', async () => {
    const { root, s } = mount({
      ...none,
      canRekey: false,
      changed: [{ username: 'bob', admin: false, awaitingAcceptance: false }],
    });
    await until(() => root.querySelector('[data-changed=bob]') !== null);
    expect(root.textContent).toContain('waiting for an admin to re-add them');
    expect(root.querySelector('button')).toBeNull();
    s.dispose();
    document.body.innerHTML = '';
    const quiet = mount(none);
    await until(() => quiet.messenger.calls.some((c) => c.method === 'groupKeys'));
    // In the conversation the banner shows what the engine knows, without a look-up per member.
    expect(quiet.messenger.calls.find((c) => c.method === 'groupKeys')?.args).toEqual([
      'g1',
      { lookup: false },
    ]);
    await new Promise((r) => setTimeout(r, 50));
    expect(quiet.root.querySelector('div')).toBeNull();
    quiet.s.dispose();
  });
});
