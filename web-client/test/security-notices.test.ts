/**
 * Trust notices in the web client (issue 14): messages held for a verified contact's new key,
 * quiet security notices (forged senders dropped, prekeys drained, floods), a frozen group, and
 * the timeline line the engine writes when an unverified contact's key changes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, message, putMessages, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import type { SecurityNoticeInfo } from '../src/services/messenger.ts';
import type { GroupRecord, MessageRecord } from '../src/services/engine-types.ts';
import '../src/components/key-change-banner.ts';
import '../src/components/security-notice-strip.ts';
import '../src/components/group-frozen-banner.ts';
import '../src/components/conversation-view.ts';
import '../src/components/conversation-list.ts';

afterEach(() => {
  document.body.innerHTML = '';
  location.hash = '';
});

const shadow = (el: Element): ShadowRoot => {
  if (el.shadowRoot === null) throw new Error('no shadow root');
  return el.shadowRoot;
};

const flat = (t: string | null | undefined): string => (t ?? '').replace(/\s+/g, ' ').trim();

/** A session over a fresh store with a recording messenger. */
function session(local = freshStore()) {
  const messenger = new RecordingMessenger(local);
  const s = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' }, () => undefined);
  return { messenger, s, local };
}

/** What the engine reports for a forged sender. */
const forged = (over: Partial<SecurityNoticeInfo> = {}): SecurityNoticeInfo => ({
  code: 'UNLISTED_DEVICE',
  user: 'bob',
  device: 'not-bobs-phone',
  conversationId: 'dm:bob',
  at: 1_700_000_000_000,
  ...over,
});

/** The engine's timeline line for an unverified contact's key change. */
const keyNotice = (over: Partial<MessageRecord> = {}): MessageRecord =>
  message({
    id: 'notice1',
    kind: 'notice',
    body: { notice: 'keyChange', user: 'bob' },
    sender: 'bob',
    outgoing: false,
    unread: false,
    ...over,
  });

/** Buttons by accessible name (aria-label, else text). */
function button(root: ParentNode, name: string): HTMLButtonElement | undefined {
  return [...root.querySelectorAll('button')].find(
    (b) => (b.getAttribute('aria-label') ?? flat(b.textContent)) === name,
  );
}

describe('held messages (verified contact, new key)', () => {
  it('counts held messages from the engine’s notices and from the engine after a reload', async () => {
    const { messenger, s } = session();
    messenger.emit({
      type: 'securityNotice',
      notice: forged({ code: 'HELD_KEY_CHANGE', device: 'd2', count: 1 }),
    });
    messenger.emit({
      type: 'securityNotice',
      notice: forged({ code: 'HELD_KEY_CHANGE', device: 'd2', count: 2 }),
    });
    expect(s.held.get('bob')).toBe(2);
    expect(s.keyChanges.get('bob')).toBe(true);
    // Not a strip notice: the key-change banner says it.
    expect(s.noticesFor('dm:bob')).toEqual([]);

    const after = session();
    after.messenger.heldCounts.set('carol', 3);
    await after.s.refreshHeld('carol');
    expect(after.s.held.get('carol')).toBe(3);
    expect(after.s.keyChanges.get('carol')).toBe(true);
    s.dispose();
    after.s.dispose();
  });

  it('says how many are held and why; Review opens the safety number, Accept releases them', async () => {
    const { messenger, s } = session();
    s.held.set('bob', 2);
    s.keyChanges.set('bob', true);
    const el = document.createElement('key-change-banner');
    el.session = s;
    el.username = 'bob';
    el.verified = true;
    el.held = 2;
    el.conversationId = 'dm:bob';
    document.body.append(el);
    await el.updateComplete;
    const alert = shadow(el).querySelector('[role=alert]');
    expect(alert?.getAttribute('data-held')).toBe('2');
    expect(flat(alert?.textContent)).toContain(
      '2 messages from bob are held because bob’s safety number changed. Review the new safety number before reading them.',
    );
    // Accessible names contain the visible words (WCAG 2.5.3).
    const review = button(shadow(el), 'Review bob’s new safety number');
    expect(flat(review?.textContent)).toBe('Review');
    const accept = button(shadow(el), 'Accept bob’s new safety number and show the held messages');
    expect(flat(accept?.textContent)).toBe('Accept');

    review!.click();
    expect(location.hash).toBe('#/c/dm%3Abob/info');

    let live = 0;
    s.addEventListener('live', () => live++);
    accept!.click();
    await until(() => messenger.calls.some((c) => c.method === 'acceptKeyChange'));
    expect(messenger.calls.find((c) => c.method === 'acceptKeyChange')?.args).toEqual(['bob']);
    await until(() => !s.held.has('bob') && !s.keyChanges.has('bob'));
    await until(() => live > 0);
    s.dispose();
  });

  it('uses the singular for one held message', async () => {
    const el = document.createElement('key-change-banner');
    el.username = 'bob';
    el.verified = true;
    el.held = 1;
    document.body.append(el);
    await el.updateComplete;
    expect(flat(shadow(el).textContent)).toContain('1 message from bob is held because');
  });

  it('shows the held banner in the DM and pauses the composer', async () => {
    const { messenger, s } = session();
    messenger.heldCounts.set('bob', 2);
    const view = document.createElement('conversation-view');
    view.session = s;
    view.conversationId = 'dm:bob';
    document.body.append(view);
    const root = shadow(view);
    await until(() => root.querySelector('key-change-banner') !== null);
    const banner = root.querySelector('key-change-banner')!;
    expect(banner.held).toBe(2);
    await banner.updateComplete;
    expect(flat(shadow(banner).textContent)).toContain('2 messages from bob are held');
    const composer = root.querySelector('chat-composer')!;
    expect(composer.disabledReason).toContain('review the new safety number');
    s.dispose();
  });
});

describe('<security-notice-strip>', () => {
  it('says a forged message was dropped, folds repeats into a count, and dismisses', async () => {
    const { messenger, s } = session();
    const el = document.createElement('security-notice-strip');
    el.session = s;
    el.scope = 'dm:bob';
    document.body.append(el);
    messenger.emit({ type: 'securityNotice', notice: forged() });
    const items = () => [...shadow(el).querySelectorAll('li')];
    await until(() => items().length === 1);
    expect(shadow(el).querySelector('[role=status]')).not.toBeNull();
    expect(flat(items()[0]?.textContent)).toContain(
      'A message claiming to be from bob was dropped: it came from a device that is not in bob’s key directory.',
    );
    messenger.emit({ type: 'securityNotice', notice: forged({ device: 'another' }) });
    await until(() => items()[0]?.getAttribute('data-times') === '2');
    expect(items()).toHaveLength(1);
    expect(flat(items()[0]?.textContent)).toContain('(2 times)');

    const dismiss = button(shadow(el), 'Dismiss security notice');
    expect(flat(dismiss?.textContent)).toBe('Dismiss');
    dismiss!.click();
    await until(() => items().length === 0);
    expect(s.securityNotices).toEqual([]);
    s.dispose();
  });

  it('shows notices about this account app-wide and conversation ones only there', async () => {
    const { messenger, s } = session();
    const app = document.createElement('security-notice-strip');
    app.session = s;
    app.scope = 'app';
    const dm = document.createElement('security-notice-strip');
    dm.session = s;
    dm.scope = 'dm:bob';
    document.body.append(app, dm);
    messenger.emit({
      type: 'securityNotice',
      notice: forged({
        code: 'FOREIGN_OWN_DEVICE',
        user: 'alice',
        device: 'evil',
        conversationId: null,
      }),
    });
    messenger.emit({
      type: 'securityNotice',
      notice: forged({
        code: 'PREKEYS_DRAINED',
        user: 'alice',
        device: null,
        conversationId: null,
      }),
    });
    messenger.emit({
      type: 'securityNotice',
      notice: forged({ code: 'SENDER_FLOOD', count: 40 }),
    });
    messenger.emit({
      type: 'securityNotice',
      notice: forged({ code: 'SENDER_FLOOD', count: 10 }),
    });
    await until(() => shadow(app).querySelectorAll('li').length === 2);
    await until(() => shadow(dm).querySelectorAll('li').length === 1);
    const appText = flat(shadow(app).textContent);
    expect(appText).toContain('claiming to come from one of your own devices (evil) was dropped');
    expect(appText).toContain('one-time prekeys were being used up unusually fast');
    const dmText = flat(shadow(dm).textContent);
    expect(dmText).toContain('50 were dropped');
    expect(dmText).toContain('(2 times)');
    s.dispose();
  });

  it('says a forged group change was dropped, in the group', async () => {
    const { messenger, s } = session();
    const el = document.createElement('security-notice-strip');
    el.session = s;
    el.scope = 'group:g1';
    document.body.append(el);
    messenger.emit({
      type: 'securityNotice',
      notice: forged({ code: 'FORGED_GROUP_CHANGE', conversationId: 'group:g1', groupId: 'g1' }),
    });
    await until(() => shadow(el).querySelector('li') !== null);
    expect(flat(shadow(el).textContent)).toContain('the member list is unchanged');
    s.dispose();
  });

  it('gives a DM with a notice a row in the chat list, marked', async () => {
    const { messenger, s } = session();
    const list = document.createElement('conversation-list');
    list.session = s;
    document.body.append(list);
    const root = shadow(list);
    messenger.emit({
      type: 'securityNotice',
      notice: forged({ user: 'mallory', conversationId: 'dm:mallory' }),
    });
    await until(() => root.querySelector('a[data-conversation="dm:mallory"]') !== null, 5000);
    const link = root.querySelector('a[data-conversation="dm:mallory"]')!;
    expect(link.hasAttribute('aria-label')).toBe(false);
    expect(link.textContent?.replace(/\s+/g, ' ').trim()).toMatch(/mallory .*Security notice$/);
    expect(link.querySelector('[data-security-notice]')).not.toBeNull();
    s.dispose();
  });
});

describe('frozen group', () => {
  const group: GroupRecord = {
    groupId: 'g1',
    name: 'Team',
    chain: [],
    members: ['alice', 'bob'],
    admins: ['alice'],
    updatedAt: 1,
    frozen: { reason: 'forked', at: 2 },
  };

  it('says the server rewrote the history and nothing is sent', async () => {
    const el = document.createElement('group-frozen-banner');
    el.reason = 'forked';
    document.body.append(el);
    await el.updateComplete;
    const alert = shadow(el).querySelector('[role=alert]');
    expect(flat(alert?.textContent)).toContain(
      'This group’s history was rewritten by the server. The group is frozen: nothing is sent to it.',
    );
    el.reason = 'rolled-back';
    await el.updateComplete;
    expect(flat(shadow(el).textContent)).toContain('an older history of this group');
  });

  it('shows the banner in a frozen group and disables the composer with the reason', async () => {
    const local = freshStore();
    await local.store.batch([{ op: 'putGroup', group }]);
    const { s } = session(local);
    const view = document.createElement('conversation-view');
    view.session = s;
    view.conversationId = 'group:g1';
    document.body.append(view);
    const root = shadow(view);
    await until(() => root.querySelector('group-frozen-banner') !== null);
    const composer = root.querySelector('chat-composer')!;
    expect(composer.disabledReason).toBe(
      'Sending is off: the server rewrote this group’s history, so it is frozen.',
    );
    await composer.updateComplete;
    expect(shadow(composer).querySelector('textarea')).toBeNull();
    expect(flat(shadow(composer).textContent)).toContain('Sending is off');
    s.dispose();
  });

  it('freezes the open group as soon as the engine reports the fork', async () => {
    const local = freshStore();
    const { frozen: _frozen, ...unfrozen } = group;
    await local.store.batch([{ op: 'putGroup', group: unfrozen }]);
    const { messenger, s } = session(local);
    const view = document.createElement('conversation-view');
    view.session = s;
    view.conversationId = 'group:g1';
    document.body.append(view);
    const root = shadow(view);
    await until(() => root.querySelector('chat-composer') !== null);
    await new Promise((r) => setTimeout(r, 50));
    expect(root.querySelector('group-frozen-banner')).toBeNull();
    messenger.emit({
      type: 'securityNotice',
      notice: forged({
        code: 'GROUP_FORKED',
        conversationId: 'group:g1',
        groupId: 'g1',
        user: 'alice',
      }),
    });
    await until(() => root.querySelector('group-frozen-banner') !== null);
    expect(s.noticesFor('group:g1')).toEqual([]);
    s.dispose();
  });
});

describe('timeline notice line (unverified contact, new key)', () => {
  it('renders a centered line with a Review button, not a bubble', async () => {
    const local = freshStore();
    await putMessages(local.store, [
      message({ id: 'm1', timestamp: 1_700_000_000_000, body: { text: 'before' } }),
      keyNotice({ timestamp: 1_700_000_001_000 }),
    ]);
    const { s } = session(local);
    const view = document.createElement('conversation-view');
    view.session = s;
    view.conversationId = 'dm:bob';
    document.body.append(view);
    await until(() => shadow(view).querySelector('message-list')?.shadowRoot != null);
    const root = shadow(shadow(view).querySelector('message-list')!);
    await until(() => root.querySelector('[role=note]') !== null);
    const line = root.querySelector('[role=note]')!;
    expect(flat(line.textContent)).toContain('Your safety number with bob changed');
    expect(root.querySelectorAll('message-bubble')).toHaveLength(1);
    const review = button(line, 'Review safety number with bob');
    expect(flat(review?.textContent)).toBe('Review');
    review!.click();
    expect(location.hash).toBe('#/c/dm%3Abob/info');
    s.dispose();
  });

  it('is neither unread nor the contact’s message in the chat list, and not found by search', async () => {
    const local = freshStore();
    await putMessages(local.store, [
      message({ id: 'm1', timestamp: 10, unread: true, body: { text: 'hello there' } }),
      keyNotice({ timestamp: 20 }),
    ]);
    const { s } = session(local);
    const [row] = await s.history.conversations();
    expect(row).toMatchObject({
      id: 'dm:bob',
      unread: 1,
      preview: 'Your safety number with bob changed',
      lastSender: '',
    });
    expect(await s.history.search('safety')).toEqual([]);
    expect((await s.history.unreadIncoming('dm:bob')).map((m) => m.id)).toEqual(['m1']);
    s.dispose();
  });
});
