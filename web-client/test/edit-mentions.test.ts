/**
 * An edit that mentions the user notifies (issue 22; PROTOCOL.md §12 "Mentions"): once per edit,
 * only when it is fresh, never for one's own edit — the engine's `messageUpdate` mapped by
 * `services/engine-events.ts`.
 */
import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '@sotto/client';
import { mapEngineEvents } from '../src/services/engine-events.ts';
import type { MessengerEvent } from '../src/services/messenger.ts';
import { eventSource as source } from './support/event-source.ts';

const edited = (over: Partial<MessageRecord>): MessageRecord => ({
  conversationId: 'group:g1',
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  sender: 'bob',
  senderDevice: 'd1',
  timestamp: Date.now() - 5000,
  receivedAt: Date.now(),
  kind: 'text',
  body: { text: 'hi @alice', mentions: [{ start: 3, length: 6, user: 'alice' }] },
  outgoing: false,
  unread: false,
  status: {},
  edited: true,
  editedAt: Date.now(),
  deleted: false,
  reactions: {},
  ...over,
});

describe('edits that mention me', () => {
  it('notify once per edit, not when stale, not for my own or without a mention of me', () => {
    const src = source();
    const events: MessengerEvent[] = [];
    mapEngineEvents(src as never, {
      emit: (e) => events.push(e),
      watch: () => undefined,
      store: () => null,
      me: () => 'alice',
      connection: () => undefined,
    });
    const told = () =>
      events.flatMap((e) => (e.type === 'history' ? (e.incoming ?? []) : [])).length;
    const m = edited({});
    src.fire('messageUpdate', m);
    expect(told()).toBe(1);
    // The same edit again (a reaction to it): no second notification.
    src.fire('messageUpdate', { ...m, reactions: { carol: '👍' } });
    expect(told()).toBe(1);
    src.fire('messageUpdate', edited({ editedAt: Date.now() - 10 * 60_000 }));
    src.fire('messageUpdate', edited({ id: 'BBBBBBBBBBBBBBBBBBBBBB', outgoing: true }));
    src.fire('messageUpdate', edited({ id: 'CCCCCCCCCCCCCCCCCCCCCC', body: { text: 'hi' } }));
    expect(told()).toBe(1);
    // A later edit of the same message that still names me does notify.
    src.fire('messageUpdate', { ...m, editedAt: (m.editedAt ?? 0) + 1 });
    expect(told()).toBe(2);
    // Every update re-reads the conversation.
    expect(events.every((e) => e.type === 'history')).toBe(true);
  });
});
