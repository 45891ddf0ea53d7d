import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, message, putMessages, until } from './support/fixtures.ts';
import { ChatSession } from '../src/services/session.ts';
import type { MessageRecord } from '../src/services/engine-types.ts';
import type { ConversationView } from '../src/components/conversation-view.ts';
import '../src/components/conversation-view.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

const BASE = 1_700_000_000_000;

/** The rows of the view's message list in the DOM. */
function rowsOf(view: ConversationView): HTMLElement[] {
  const list = view.shadowRoot?.querySelector('message-list');
  return [...(list?.shadowRoot?.querySelectorAll<HTMLElement>('.row') ?? [])];
}

/** Message texts of the bubbles in the DOM, top to bottom. */
function shownTexts(view: ConversationView): string[] {
  const rows = rowsOf(view);
  return rows
    .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index))
    .map((r) => r.querySelector('message-bubble')?.message?.body.text)
    .filter((t): t is string => typeof t === 'string');
}

/** A conversation view on `dm:bob` holding `stored` messages, with its history reads counted. */
async function openView(stored: number) {
  const local = freshStore();
  await putMessages(
    local.store,
    Array.from({ length: stored }, (_, i) =>
      message({
        id: `old${String(i).padStart(4, '0')}`,
        timestamp: BASE + i * 1000,
        body: { text: `old ${i}` },
      }),
    ),
  );
  const messenger = new RecordingMessenger(local);
  const session = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' });
  const reads = { range: 0, count: 0 };
  const { history } = session;
  const range = history.range.bind(history);
  const count = history.count.bind(history);
  history.range = (...args) => {
    reads.range++;
    return range(...args);
  };
  history.count = (...args) => {
    reads.count++;
    return count(...args);
  };
  const view = document.createElement('conversation-view');
  view.session = session;
  view.conversationId = 'dm:bob';
  document.body.append(view);
  await until(() => shownTexts(view).includes(`old ${stored - 1}`));
  // Let the opening reads settle before counting.
  await new Promise((r) => setTimeout(r, 50));
  reads.range = 0;
  reads.count = 0;
  /** Store messages as the engine does, then announce them as the adapter does. */
  const arrive = async (messages: MessageRecord[]): Promise<void> => {
    await putMessages(local.store, messages);
    messenger.emit({
      type: 'history',
      conversationIds: ['dm:bob'],
      added: messages,
      incoming: messages.map((m) => ({
        conversationId: m.conversationId,
        id: m.id,
        sender: m.sender,
        at: m.timestamp,
        preview: String(m.body.text),
      })),
    });
  };
  return { view, session, reads, arrive };
}

describe('<conversation-view> live messages', () => {
  it('appends a burst of new messages to the open conversation without re-reading its pages', async () => {
    const { view, session, reads, arrive } = await openView(250);
    for (let i = 0; i < 160; i += 8) {
      await arrive(
        Array.from({ length: 8 }, (_, j) =>
          message({
            id: `new${String(i + j).padStart(4, '0')}`,
            timestamp: BASE + 1_000_000 + (i + j) * 1000,
            body: { text: `new ${i + j}` },
          }),
        ),
      );
    }
    await until(() => shownTexts(view).includes('new 159'));
    expect(reads).toEqual({ range: 0, count: 0 });
    const texts = shownTexts(view);
    // The newest rows, in order, at the end of the list (410 messages: indexes 0–409).
    expect(texts.slice(-4)).toEqual(['new 156', 'new 157', 'new 158', 'new 159']);
    const last = rowsOf(view).map((r) => Number(r.dataset.index));
    expect(Math.max(...last)).toBe(409);
    // A message announced twice (a re-read may already have shown it) is shown once.
    await arrive([
      message({ id: 'new0159', timestamp: BASE + 1_000_000 + 159_000, body: { text: 'new 159' } }),
    ]);
    await new Promise((r) => setTimeout(r, 50));
    expect(shownTexts(view).filter((t) => t === 'new 159')).toHaveLength(1);
    expect(reads).toEqual({ range: 0, count: 0 });
    session.dispose();
  }, 20_000); // 160 IndexedDB writes in fake-indexeddb: ~5 s on a loaded machine, at or over the default timeout

  it('places a message from the same moment among the last rows, and re-reads for an older one', async () => {
    const { view, session, reads, arrive } = await openView(120);
    // Sorts between the last two rows (the loaded last page): placed without a re-read.
    await arrive([message({ id: 'late', timestamp: BASE + 118_500, body: { text: 'late one' } })]);
    await until(() => shownTexts(view).includes('late one'));
    expect(reads).toEqual({ range: 0, count: 0 });
    expect(shownTexts(view).slice(-3)).toEqual(['old 118', 'late one', 'old 119']);
    // Belongs on the first page, which is not the loaded end: re-read.
    await arrive([message({ id: 'older', timestamp: BASE + 50_500, body: { text: 'older one' } })]);
    await until(() => reads.count > 0);
    await until(() => shownTexts(view).slice(-1)[0] === 'old 119');
    expect(shownTexts(view).slice(-3)).toEqual(['old 118', 'late one', 'old 119']);
    session.dispose();
  });

  it("shows the user's own message from the messenger's answer, without re-reading", async () => {
    const { view, session, reads, arrive } = await openView(30);
    const send = new CustomEvent('send', { detail: { text: 'my own words', mentions: [] } });
    view.shadowRoot!.querySelector('chat-composer')!.dispatchEvent(send);
    await until(() => shownTexts(view).includes('my own words'));
    // A marker announced after the send: once it is shown, a re-read the send asked for (it
    // starts with a count, at once for an isolated change) would have begun.
    await arrive([
      message({ id: 'marker', timestamp: Date.now() + 1000, body: { text: 'marker' } }),
    ]);
    await until(() => shownTexts(view).includes('marker'));
    expect(reads).toEqual({ range: 0, count: 0 });
    expect(shownTexts(view).slice(-3)).toEqual(['old 29', 'my own words', 'marker']);
    session.dispose();
  });

  it('re-reads on changes other than new messages (an edit)', async () => {
    const { view, session, reads } = await openView(30);
    await session.history.store.batch([
      { op: 'editMessage', messageId: 'old0029', body: { text: 'edited 29' }, editedAt: BASE },
    ]);
    session.handle({ type: 'history', conversationIds: ['dm:bob'] });
    await until(() => shownTexts(view).includes('edited 29'));
    expect(reads.range).toBeGreaterThan(0);
    session.dispose();
  });
});
