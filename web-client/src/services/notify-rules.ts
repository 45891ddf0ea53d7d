/**
 * What a new-message notification says and whether there is one — one definition for the page
 * (`session.ts`, while it runs) and the service worker (`sw/wake.ts`, while no page does):
 * per-conversation mute (a mention still notifies, as in Signal and WhatsApp) and the "hide
 * message content" setting (the conversation's name only, "New message" as the text).
 *
 * DOM-free: the service worker imports it.
 */
import type { MessageRecord } from './engine-types.ts';
import { mentionsOf } from './mentions.ts';
import { uiText } from './ui-strings.ts';

/**
 * The store key of the web client's setting `name`: `HistoryStore.setting(name)` reads it, the
 * service worker reads the store directly.
 */
export const uiSettingKey = (name: string): string => `web:${name}`;

/** UI setting: notifications show who wrote, never what (this browser; default off). */
export const HIDE_CONTENT_SETTING = 'hideNotificationContent';

/** UI setting holding every conversation's {@link ConversationPref}. */
export const CONVERSATION_PREFS_SETTING = 'conversationPrefs';

/** What is kept for one conversation. `mutedUntil`: ms since the epoch, or -1 for forever. */
export interface ConversationPref {
  mutedUntil?: number;
  archived?: boolean;
}

/** Until when `id` is muted in `prefs`: ms since the epoch, -1 for forever, 0 when it is not. */
export function mutedUntilOf(
  prefs: Readonly<Record<string, ConversationPref>>,
  id: string,
  now: number,
): number {
  const until = prefs[id]?.mutedUntil ?? 0;
  return until === -1 || until > now ? until : 0;
}

/** Notification text of a new message. */
export function previewText(m: MessageRecord): string {
  const { text, name } = m.body;
  if (typeof text === 'string') return text.slice(0, 140);
  if (typeof name === 'string') return uiText('preview.file', { name });
  return uiText('preview.newMessage');
}

/** Whether `m` names `username` among its mentions. */
export const mentions = (m: Pick<MessageRecord, 'body'>, username: string): boolean =>
  mentionsOf(m).some((x) => x.user === username);

/** A notification's title and text. */
export interface NoticeText {
  title: string;
  body: string;
}

/**
 * The notification of a message from `sender` in a conversation called `name` (the sender for
 * a DM, the group's name for a group): `title` the conversation, `body` the preview — prefixed
 * with the sender in a group — or "New message" when content is hidden.
 */
export function noticeText(
  name: string,
  sender: string,
  preview: string,
  options: { group: boolean; hideContent: boolean },
): NoticeText {
  if (options.hideContent) return { title: name, body: uiText('preview.newMessage') };
  return { title: name, body: options.group ? `${sender}: ${preview}` : preview };
}
