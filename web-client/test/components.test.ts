import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, message, putMessages, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import { MessengerError } from '../src/services/messenger.ts';
import { authErrorText, validateAuth } from '../src/components/auth-view.ts';
import { filterRows, parseMembers } from '../src/components/conversation-list.ts';
import { ticks } from '../src/components/message-bubble.ts';
import { parseRoute } from '../src/components/sotto-app.ts';
import { dayLabel } from '../src/components/time-labels.ts';
import { filterEmoji } from '../src/components/emoji-picker.ts';
import { groupDigits } from '../src/components/contact-info.ts';
import '../src/components/auth-view.ts';
import '../src/components/conversation-list.ts';
import '../src/components/chat-composer.ts';
import '../src/components/message-bubble.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

const shadow = (el: Element): ShadowRoot => {
  if (el.shadowRoot === null) throw new Error('no shadow root');
  return el.shadowRoot;
};

describe('routing and small helpers', () => {
  it('parses conversation, info, search and settings routes', () => {
    expect(parseRoute('#/c/dm%3Abob')).toEqual({ name: 'conversation', id: 'dm:bob' });
    expect(parseRoute('#/c/group%3Ag1?m=abc')).toEqual({
      name: 'conversation',
      id: 'group:g1',
      messageId: 'abc',
    });
    expect(parseRoute('#/c/dm%3Abob/info')).toEqual({ name: 'info', id: 'dm:bob' });
    expect(parseRoute('#/settings')).toEqual({ name: 'settings' });
    expect(parseRoute('#/c/nonsense')).toEqual({ name: 'list' });
    expect(parseRoute('#/join/g1/abc_-')).toEqual({ name: 'join', link: '#/join/g1/abc_-' });
    expect(parseRoute('#/join/g1')).toEqual({ name: 'list' });
    expect(parseRoute('')).toEqual({ name: 'list' });
  });

  it('splits safety numbers into twelve groups of five digits', () => {
    const g = groupDigits('012345678901234567890123456789012345678901234567890123456789');
    expect(g).toHaveLength(12);
    expect(g[0]).toBe('01234');
    expect(g.every((x) => x.length === 5)).toBe(true);
  });

  it('labels days and filters emoji by name', () => {
    const now = new Date(2025, 2, 10, 12).getTime();
    expect(dayLabel(now - 3600_000, now)).toBe('Today');
    expect(dayLabel(now - 86_400_000, now)).toBe('Yesterday');
    expect(filterEmoji('thumbs')).toEqual(['👍', '👎']);
    expect(filterEmoji('')).toContain('❤️');
  });

  it('filters chats by title and preview and parses member lists', () => {
    const rows = [
      {
        id: 'dm:bob',
        kind: 'dm' as const,
        title: 'bob',
        unread: 0,
        lastAt: 1,
        preview: 'pizza?',
        lastSender: 'bob',
        verified: false,
      },
      {
        id: 'dm:carol',
        kind: 'dm' as const,
        title: 'carol',
        unread: 0,
        lastAt: 1,
        preview: 'hi',
        lastSender: 'carol',
        verified: false,
      },
    ];
    expect(filterRows(rows, 'PIZ').map((r) => r.id)).toEqual(['dm:bob']);
    expect(filterRows(rows, '')).toHaveLength(2);
    expect(parseMembers('Bob, carol  bob;dave')).toEqual(['bob', 'carol', 'dave']);
  });
});

describe('<auth-view>', () => {
  it('explains taken names, wrong passwords and an unreachable server', () => {
    expect(authErrorText(new MessengerError('USERNAME_TAKEN', 'x'), 'signup')).toMatch(/taken/);
    expect(authErrorText(new MessengerError('BAD_CREDENTIALS', 'x'), 'login')).toMatch(/Wrong/);
    expect(authErrorText(new MessengerError('UNREACHABLE', 'x'), 'login')).toMatch(/reach/);
    expect(authErrorText(new TypeError('Failed to fetch'), 'login')).toMatch(/reach/);
    expect(validateAuth('Al', 'longenough', 'signup')).toMatch(/3–32/);
    expect(validateAuth('alice', 'short', 'signup')).toMatch(/8/);
    expect(validateAuth('alice', 'short', 'login')).toBe('');
  });

  it('signs up through the messenger and fires signed-in', async () => {
    const messenger = new RecordingMessenger(freshStore());
    const el = document.createElement('auth-view');
    el.messenger = messenger;
    document.body.append(el);
    await el.updateComplete;
    const root = shadow(el);
    (root.querySelector('input[name=username]') as HTMLInputElement).value = 'alice';
    (root.querySelector('input[name=password]') as HTMLInputElement).value = 'correct horse';
    const signedIn = new Promise<string>((resolve) =>
      el.addEventListener('signed-in', (e) =>
        resolve((e as CustomEvent<{ username: string }>).detail.username),
      ),
    );
    root.querySelector('form')?.dispatchEvent(new Event('submit', { cancelable: true }));
    expect(await signedIn).toBe('alice');
    expect(messenger.calls[0]).toEqual({ method: 'signUp', args: ['alice', 'correct horse'] });
  });

  it('shows the taken-name error from the server and stays on the form', async () => {
    const messenger = new RecordingMessenger(freshStore());
    messenger.failWith = new MessengerError('USERNAME_TAKEN', 'taken');
    const el = document.createElement('auth-view');
    el.messenger = messenger;
    document.body.append(el);
    await el.updateComplete;
    const root = shadow(el);
    (root.querySelector('input[name=username]') as HTMLInputElement).value = 'alice';
    (root.querySelector('input[name=password]') as HTMLInputElement).value = 'correct horse';
    root.querySelector('form')?.dispatchEvent(new Event('submit', { cancelable: true }));
    await until(() => root.querySelector('[role=alert]') !== null);
    expect(root.querySelector('[role=alert]')?.textContent).toMatch(/taken/);
  });
});

/**
 * A conversation list signed in as alice over a store holding `messages`; `setUp` runs on the
 * messenger before the list exists. `order()` reads the rows' conversations top to bottom.
 */
async function mountList(
  messages: Parameters<typeof putMessages>[1],
  setUp: (messenger: RecordingMessenger) => void = () => undefined,
) {
  const local = freshStore();
  await putMessages(local.store, messages);
  const messenger = new RecordingMessenger(local);
  const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
  setUp(messenger);
  const el = document.createElement('conversation-list');
  el.session = session;
  document.body.append(el);
  const root = shadow(el);
  const order = () =>
    [...root.querySelectorAll('li a')].map((a) => a.getAttribute('data-conversation'));
  return { local, messenger, session, root, order };
}

describe('<conversation-list>', () => {
  it('shows conversations with unread badges and previews, newest first', async () => {
    const { root, session } = await mountList(
      [
        message({
          id: 'a',
          conversationId: 'dm:bob',
          timestamp: 10,
          unread: true,
          body: { text: 'first' },
        }),
        message({
          id: 'b',
          conversationId: 'dm:bob',
          timestamp: 11,
          unread: true,
          body: { text: 'second' },
        }),
        message({
          id: 'c',
          conversationId: 'dm:carol',
          sender: 'carol',
          timestamp: 30,
          body: { text: 'newest' },
        }),
      ],
      (messenger) => messenger.emit({ type: 'presence', username: 'bob', online: true }),
    );
    await until(() => root.querySelectorAll('li').length === 2);
    const links = [...root.querySelectorAll('li a')];
    expect(links.map((a) => a.getAttribute('data-conversation'))).toEqual(['dm:carol', 'dm:bob']);
    expect(root.querySelector('[data-unread]')?.getAttribute('data-unread')).toBe('2');
    // Its name is its visible text plus hidden words for the signs (WCAG 2.5.3, label in name).
    expect(links[1]?.hasAttribute('aria-label')).toBe(false);
    const name = links[1]?.textContent?.replace(/\s+/g, ' ').trim();
    expect(name).toMatch(/bob, online .*second 2 unread$/);
    expect(links[0]?.textContent).toContain('newest');
    session.dispose();
  });

  it('keeps each row element with its conversation when a new message reorders the list', async () => {
    const { local, messenger, session, root, order } = await mountList([
      message({ id: 'a', conversationId: 'dm:bob', timestamp: 10, body: { text: 'older' } }),
      message({
        id: 'c',
        conversationId: 'dm:carol',
        sender: 'carol',
        timestamp: 30,
        body: { text: 'newer' },
      }),
    ]);
    await until(() => order().length === 2);
    expect(order()).toEqual(['dm:carol', 'dm:bob']);
    // The row a keyboard user has focused (or a pointer is pressing) while bob writes.
    const bobRow = root.querySelector('a[data-conversation="dm:bob"]')!;
    await putMessages(local.store, [
      message({ id: 'b', conversationId: 'dm:bob', timestamp: 40, body: { text: 'newest' } }),
    ]);
    messenger.emit({ type: 'history', conversationIds: ['dm:bob'] });
    await until(() => order()[0] === 'dm:bob');
    // Moved with its conversation: Enter on it still opens bob, not carol.
    expect(bobRow.getAttribute('data-conversation')).toBe('dm:bob');
    expect(bobRow.isConnected).toBe(true);
    session.dispose();
  });

  it('starts a DM by username through the messenger', async () => {
    const messenger = new RecordingMessenger(freshStore());
    const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
    const el = document.createElement('conversation-list');
    el.session = session;
    document.body.append(el);
    await el.updateComplete;
    const root = shadow(el);
    [...root.querySelectorAll('button')].find((b) => b.textContent?.includes('New chat'))?.click();
    await el.updateComplete;
    (root.querySelector('input[name=username]') as HTMLInputElement).value = 'Bob';
    root.querySelector('form')?.dispatchEvent(new Event('submit', { cancelable: true }));
    await until(() => messenger.calls.some((c) => c.method === 'startDm'));
    expect(messenger.calls.find((c) => c.method === 'startDm')?.args).toEqual(['bob']);
    await until(() => location.hash === '#/c/dm%3Abob');
    session.dispose();
  });
});

describe('<chat-composer>', () => {
  it('sends on Enter, keeps Shift+Enter for new lines and signals typing', async () => {
    const el = document.createElement('chat-composer');
    document.body.append(el);
    await el.updateComplete;
    const sent: string[] = [];
    const typing: boolean[] = [];
    el.addEventListener('send', (e) => sent.push((e as CustomEvent<{ text: string }>).detail.text));
    el.addEventListener('typing', (e) =>
      typing.push((e as CustomEvent<{ typing: boolean }>).detail.typing),
    );
    const ta = shadow(el).querySelector('textarea') as HTMLTextAreaElement;
    ta.value = 'hello';
    ta.dispatchEvent(new Event('input'));
    ta.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true }));
    expect(sent).toEqual([]);
    ta.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', cancelable: true }));
    expect(sent).toEqual(['hello']);
    expect(ta.value).toBe('');
    // No `typing: false` with the message: the message itself ends the indicator.
    expect(typing).toEqual([true]);
    // Typing again starts it again; clearing the text ends it.
    ta.value = 'more';
    ta.dispatchEvent(new Event('input'));
    ta.value = '';
    ta.dispatchEvent(new Event('input'));
    expect(typing).toEqual([true, true, false]);
  });

  it('replaces the input with the reason when sending is blocked', async () => {
    const el = document.createElement('chat-composer');
    el.disabledReason = 'You are no longer a member of this group.';
    document.body.append(el);
    await el.updateComplete;
    expect(shadow(el).querySelector('textarea')).toBeNull();
    expect(shadow(el).textContent).toContain('no longer a member');
  });
});

describe('<message-bubble>', () => {
  it('shows read ticks, edited mark and grouped reactions, and emits reactions', async () => {
    const el = document.createElement('message-bubble');
    el.message = message({
      id: 'm1',
      sender: 'alice',
      outgoing: true,
      edited: true,
      status: { 'bob:d1': 'read' },
      reactions: { bob: '👍', carol: '👍' },
    });
    el.me = 'alice';
    el.can = new Set(['reactions', 'edit', 'delete']);
    document.body.append(el);
    await el.updateComplete;
    const root = shadow(el);
    expect(root.querySelector('[data-status]')?.getAttribute('data-status')).toBe('read');
    expect(root.textContent).toContain('edited');
    const chip = root.querySelector('.reactions button');
    expect(chip?.textContent?.trim()).toBe('👍 2');
    const got = new Promise<{ emoji: string; remove: boolean }>((resolve) =>
      el.addEventListener('react', (e) =>
        resolve((e as CustomEvent<{ emoji: string; remove: boolean }>).detail),
      ),
    );
    (chip as HTMLButtonElement).click();
    expect(await got).toMatchObject({ emoji: '👍', remove: false });
    expect(ticks('delivered').label).toBe('Delivered');
  });

  it('shows a tombstone for a message deleted for everyone, with no actions', async () => {
    const el = document.createElement('message-bubble');
    el.message = message({ id: 'm1', deleted: true, body: {} });
    document.body.append(el);
    await el.updateComplete;
    expect(shadow(el).textContent).toContain('deleted');
    expect(shadow(el).querySelector('[role=toolbar]')).toBeNull();
  });
});
