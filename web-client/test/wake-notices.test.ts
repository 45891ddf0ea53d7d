/**
 * What the service worker's notifications say (`src/sw/wake.ts` `noticesFor`, the rules of
 * `services/notify-rules.ts`): one per conversation with its newest message, named after the
 * conversation, muted ones left out unless the message mentions the account, the text left out
 * under "hide message content". The whole path (fetch, decrypt, show) runs in Chromium in
 * test/web/app-worker.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStore, type MessageRecord } from '@sotto/client';
import { noticesFor } from '../src/sw/wake.ts';
import { message } from './support/fixtures.ts';
import {
  CONVERSATION_PREFS_SETTING,
  HIDE_CONTENT_SETTING,
  uiSettingKey,
} from '../src/services/notify-rules.ts';

const NOW = 1_700_000_000_000;
const GROUP = `g${'x'.repeat(21)}`;

/** An incoming text message from `sender` in `conversationId`, sent at `at`. */
const text = (conversationId: string, sender: string, body: string, at: number): MessageRecord =>
  message({
    id: `${sender}-${at}`,
    conversationId,
    sender,
    timestamp: at,
    receivedAt: at,
    body: { text: body },
    unread: true,
  });

async function storeWith(settings: Record<string, unknown>) {
  const store = createMemoryStore();
  for (const [k, v] of Object.entries(settings)) await store.setSetting(uiSettingKey(k), v);
  await store.batch([
    {
      op: 'putGroup',
      group: {
        groupId: GROUP,
        name: 'Hiking club',
        chain: [],
        members: ['alice', 'bob', 'carol'],
        admins: ['alice'],
        updatedAt: NOW,
      },
    },
  ]);
  return store;
}

describe('the worker’s notifications', () => {
  it('shows the newest message per conversation, named after the conversation', async () => {
    const store = await storeWith({});
    const notices = await noticesFor(
      store,
      'alice',
      [
        text('dm:bob', 'bob', 'first', NOW - 2),
        text('dm:bob', 'bob', 'lunch at noon?', NOW - 1),
        text(`group:${GROUP}`, 'carol', 'trail is open', NOW),
      ],
      NOW,
    );
    expect(notices).toEqual([
      { title: 'bob', body: 'lunch at noon?', conversation: 'dm:bob' },
      { title: 'Hiking club', body: 'carol: trail is open', conversation: `group:${GROUP}` },
    ]);
  });

  it('leaves out a muted conversation unless the message mentions the account; an expired mute no longer counts', async () => {
    const store = await storeWith({
      [CONVERSATION_PREFS_SETTING]: {
        'dm:bob': { mutedUntil: -1 },
        'dm:dave': { mutedUntil: NOW - 1 },
        [`group:${GROUP}`]: { mutedUntil: NOW + 3_600_000 },
      },
    });
    const mention = text(`group:${GROUP}`, 'carol', '@alice look', NOW);
    mention.body.mentions = [{ start: 0, length: 6, user: 'alice' }];
    const notices = await noticesFor(
      store,
      'alice',
      [
        text('dm:bob', 'bob', 'muted words', NOW),
        text('dm:dave', 'dave', 'mute is over', NOW),
        text(`group:${GROUP}`, 'carol', 'no mention', NOW - 1),
        mention,
      ],
      NOW,
    );
    expect(notices.map((n) => `${n.title}: ${n.body}`)).toEqual([
      'dave: mute is over',
      'Hiking club: carol: @alice look',
    ]);
  });

  it('names only the conversation under "hide message content"', async () => {
    const store = await storeWith({ [HIDE_CONTENT_SETTING]: true });
    const notices = await noticesFor(
      store,
      'alice',
      [text('dm:bob', 'bob', 'the secret plan', NOW), text(`group:${GROUP}`, 'carol', 'x', NOW)],
      NOW,
    );
    expect(notices).toEqual([
      { title: 'bob', body: 'New message', conversation: 'dm:bob' },
      { title: 'Hiking club', body: 'New message', conversation: `group:${GROUP}` },
    ]);
  });
});
