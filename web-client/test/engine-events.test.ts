/**
 * Receipts as the views hear of them (`services/engine-events.ts`, issue 23): a receipt names
 * only the message; the conversation it changes is known without a store read for our own
 * messages this page saw go out, and read from the store for older ones.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStore, type ClientStore, type MessageRecord } from '@sotto/client';
import { mapEngineEvents, SentConversations } from '../src/services/engine-events.ts';
import type { MessengerEvent } from '../src/services/messenger.ts';
import { eventSource } from './support/event-source.ts';

const sent = (id: string, conversationId: string): MessageRecord => ({
  conversationId,
  id,
  sender: 'alice',
  senderDevice: 'd1',
  timestamp: Date.now(),
  receivedAt: Date.now(),
  kind: 'text',
  body: { text: id },
  outgoing: true,
  unread: false,
  status: {},
  edited: false,
  deleted: false,
  reactions: {},
});

describe('receipts', () => {
  it('tell the conversation of a message sent here at once, and look up an older one', async () => {
    const sentHere = new SentConversations();
    const inner = createMemoryStore();
    let reads = 0;
    const store: ClientStore = Object.create(inner) as ClientStore;
    store.getMessage = (id) => {
      reads++;
      return inner.getMessage(id);
    };
    const older = sent('OOOOOOOOOOOOOOOOOOOOOO', 'dm:carol');
    await inner.batch([{ op: 'putMessage', message: older }]);
    const src = eventSource();
    const events: MessengerEvent[] = [];
    mapEngineEvents(src as never, {
      emit: (e) => events.push(e),
      watch: () => undefined,
      store: () => store,
      me: () => 'alice',
      connection: () => undefined,
      sent: sentHere,
    });
    const rereads = () =>
      events.flatMap((e) =>
        e.type === 'history' && e.added === undefined ? e.conversationIds : [],
      );
    // Sent from this page (the adapter notes it), and a copy sent from another of our devices.
    const m = sent('MMMMMMMMMMMMMMMMMMMMMM', 'dm:bob');
    sentHere.add(m.id, m.conversationId);
    const synced = sent('SSSSSSSSSSSSSSSSSSSSSS', 'dm:dave');
    src.fire('message', synced);
    src.fire('receipt', { messageId: m.id, user: 'bob', device: 'b1', status: 'delivered' });
    src.fire('receipt', { messageId: synced.id, user: 'dave', device: 'd1', status: 'read' });
    // Told in the same turn, with no store read.
    expect(rereads()).toEqual(['dm:bob', 'dm:dave']);
    expect(reads).toBe(0);
    src.fire('receipt', { messageId: older.id, user: 'carol', device: 'c1', status: 'read' });
    await expect.poll(rereads).toEqual(['dm:bob', 'dm:dave', 'dm:carol']);
    expect(reads).toBe(1);
  });
});
