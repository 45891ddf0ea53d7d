/**
 * Read model of the local history for the views.
 *
 * The engine writes decrypted history into its store (`@sotto/client/dexie` in the browser,
 * batched transactions). The views read it here, only through the engine's `ClientStore`
 * interface — never its database schema: windowed access (`count` + `range` by position) for
 * the virtualized message list, conversation rows with titles, previews and unread counts, and
 * the engine's full-text search. Change notifications from the engine are coalesced (pacing.ts) so a burst
 * of thousands of messages triggers one reload per animation frame, not one per message.
 */
// The store's own order (a light module: no engine, no libsodium in this chunk).
import { compareMessages } from '@sotto/client/records';
import { uiText } from './ui-strings.ts';
import { groupLineText } from './group-lines.ts';
import type {
  ClientStore,
  GroupRecord,
  MessageRecord,
  ReceiptStatus,
  SearchHit,
} from './engine-types.ts';
import type { ConversationId, DeliveryStatus } from './messenger.ts';
import { parseConversationId } from './messenger.ts';
import { groupConversationId, dmId } from './messenger.ts';
import { isInlineImageType } from './media-type.ts';
import { safeFileName } from './file-name.ts';
import { clock, voiceOf } from './voice-note.ts';
import { mentionsUser } from './mentions.ts';
import { durationText } from './locale-format.ts';
import { uiSettingKey } from './notify-rules.ts';

// The views import the pacing helpers from here too (they lived in this module).
export { coalesce, coalesceSoon, FRAME_MS, frameGate, singleFlight, throttled } from './pacing.ts';

/** One row of the conversation list. */
export interface ConversationRow {
  id: ConversationId;
  kind: 'dm' | 'group';
  title: string;
  unread: number;
  lastAt: number;
  preview: string;
  lastSender: string;
  /** A DM whose contact the user marked verified (safety number compared). */
  verified: boolean;
  /** An unread message mentions the user (the list shows "@"). */
  mentioned?: boolean;
}

/** The text of a message body, whatever its kind. */
export function bodyText(m: MessageRecord): string {
  const { text, caption } = m.body;
  if (typeof text === 'string') return text;
  if (typeof caption === 'string') return caption;
  return '';
}

/**
 * A line the engine wrote into the timeline itself (`kind: 'notice'`), not a message anyone
 * sent: e.g. `{ notice: 'keyChange', user }` when an unverified contact's identity key changed.
 * Never unread, never a reply target, never counted as the contact's last message.
 */
export function isNotice(m: MessageRecord): boolean {
  return m.kind === 'notice';
}

/** The sentence for a timeline notice (see {@link isNotice}). */
export function noticeText(m: MessageRecord): string {
  const { notice, user } = m.body;
  if (notice === 'keyChange' && typeof user === 'string') {
    return uiText('notice.keyChange', { user });
  }
  if (notice === 'rename' && typeof m.body.from === 'string' && typeof m.body.to === 'string') {
    return uiText('notice.renamed', { from: m.body.from, to: m.body.to });
  }
  if (notice === 'call') return callLineText(m);
  if (notice === 'group') return groupLineText(m);
  if (notice === 'pin') {
    const actor = m.outgoing ? uiText('group.you') : m.sender;
    return uiText(m.body.action === 'unpin' ? 'notice.unpinned' : 'notice.pinned', { actor });
  }
  return uiText('notice.security');
}

/** The sentence of a call's timeline line (engine `callNotice`: missed, ended, declined, unanswered). */
function callLineText(m: MessageRecord): string {
  const { event, media, peer, durationMs } = m.body;
  const what = uiText(media === 'audio' ? 'call.voice' : 'call.video');
  const user = typeof peer === 'string' ? peer : '';
  switch (event) {
    case 'missed':
      return uiText('notice.callMissed', { media: what.toLowerCase(), user });
    case 'declined':
      return uiText('notice.callDeclined', { media: what.toLowerCase(), user });
    case 'ended':
      return uiText('notice.callEnded', {
        media: what,
        duration: durationText(typeof durationMs === 'number' ? durationMs : 0),
      });
    default:
      return uiText('notice.callUnanswered', { media: what });
  }
}

/** Short preview of a message for the conversation list and reply quotes. */
export function previewOf(m: MessageRecord | undefined): string {
  if (m === undefined) return '';
  if (isNotice(m)) return noticeText(m);
  if (m.deleted) return uiText('preview.deleted');
  const text = bodyText(m);
  const { name, mime } = m.body;
  const voice = voiceOf(m.body);
  if (voice !== undefined) return uiText('preview.voice', { duration: clock(voice.durationMs) });
  if (typeof name === 'string' && typeof mime === 'string' && mime.startsWith('video/'))
    return uiText('preview.video', { name: text || safeFileName(name) });
  if (typeof name === 'string') {
    const photo = typeof mime === 'string' && isInlineImageType(mime);
    return uiText(photo ? 'preview.photo' : 'preview.file', { name: text || safeFileName(name) });
  }
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

const ORDER: Record<ReceiptStatus, number> = { sent: 0, delivered: 1, read: 2, played: 3 };

/**
 * One tick state for an outgoing message over all recipient devices: `played` once every
 * recipient user has played it (voice notes) on some device, `read` once every
 * recipient user has read it on some device, `delivered` once every recipient user has it,
 * `pending` while no recipient is recorded (still in the local outbox).
 */
export function overallStatus(m: MessageRecord): DeliveryStatus {
  const perUser = new Map<string, number>();
  for (const [address, status] of Object.entries(m.status)) {
    const user = address.split(':')[0] ?? address;
    perUser.set(user, Math.max(perUser.get(user) ?? -1, ORDER[status]));
  }
  if (perUser.size === 0) return 'pending';
  const min = Math.min(...perUser.values());
  return min >= 3 ? 'played' : min >= 2 ? 'read' : min >= 1 ? 'delivered' : 'sent';
}

/** Reactions grouped by emoji: emoji → usernames. */
export function reactionGroups(m: MessageRecord): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [user, emoji] of Object.entries(m.reactions)) {
    out.set(emoji, [...(out.get(emoji) ?? []), user]);
  }
  return out;
}

/** Same own-keyed values (status, reactions). */
function sameRecord(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

/**
 * Whether a re-read message shows the same as the one already on screen. `unread` is left out:
 * no bubble shows it, and marking a burst read would otherwise re-render every visible row.
 */
export function sameMessage(a: MessageRecord, b: MessageRecord): boolean {
  return (
    a.id === b.id &&
    a.timestamp === b.timestamp &&
    a.kind === b.kind &&
    a.edited === b.edited &&
    a.editedAt === b.editedAt &&
    a.deleted === b.deleted &&
    a.senderKind === b.senderKind &&
    sameRecord(a.status, b.status) &&
    sameRecord(a.reactions, b.reactions) &&
    JSON.stringify(a.body) === JSON.stringify(b.body)
  );
}

/**
 * A re-read page with every unchanged message replaced by the object already on screen, so the
 * view's rows (Lit property bindings compare by identity) re-render only where something changed.
 * `changed` is false when the page is exactly what was shown.
 */
export function reuseUnchanged(
  shown: readonly MessageRecord[] | undefined,
  fresh: MessageRecord[],
): { rows: MessageRecord[]; changed: boolean } {
  if (shown === undefined) return { rows: fresh, changed: true };
  const byId = new Map(shown.map((m) => [m.id, m]));
  let changed = shown.length !== fresh.length;
  const rows = fresh.map((m, i) => {
    const old = byId.get(m.id);
    if (old !== undefined && sameMessage(old, m)) {
      if (shown[i] !== old) changed = true;
      return old;
    }
    changed = true;
    return m;
  });
  return { rows, changed };
}

/**
 * Put new messages (in arrival order) into the loaded end of a conversation: `tail` holds its
 * rows from index `start` to the end, oldest first. Each new message goes where the store's
 * order puts it — usually last; a message from the same millisecond as the rows before it may
 * sort among them (ties are ordered by id). Messages already shown (in `tail`, or `shown(id)`)
 * are skipped. Null when one belongs before `tail[0]` (outside what is loaded; the caller
 * re-reads). `first` is the lowest index whose row changed.
 */
export function placeNew(
  tail: readonly MessageRecord[],
  start: number,
  messages: readonly MessageRecord[],
  shown: (id: string) => boolean,
): { rows: MessageRecord[]; first: number; added: number } | null {
  const rows = [...tail];
  const ids = new Set(rows.map((m) => m.id));
  let first = start + rows.length;
  let added = 0;
  for (const m of messages) {
    if (ids.has(m.id) || shown(m.id)) continue;
    let j = rows.length;
    while (j > 0 && compareMessages(m, rows[j - 1]!) < 0) j--;
    if (j === 0 && start > 0) return null;
    rows.splice(j, 0, m);
    ids.add(m.id);
    first = Math.min(first, start + j);
    added++;
  }
  return { rows, first, added };
}

/**
 * A page read that may have started before some rows were put into it: a short (last) page
 * gets back the shown rows that belong in it and that the read missed, in the store's order,
 * up to `pageSize`. A full page is complete as read.
 */
export function mergeLastPage(
  read: MessageRecord[],
  shown: readonly MessageRecord[] | undefined,
  pageSize: number,
): MessageRecord[] {
  if (shown === undefined || read.length >= pageSize) return read;
  const head = read[0];
  const ids = new Set(read.map((m) => m.id));
  const missed = shown.filter(
    (m) => !ids.has(m.id) && (head === undefined || compareMessages(m, head) > 0),
  );
  if (missed.length === 0) return read;
  return [...read, ...missed].sort(compareMessages).slice(0, pageSize);
}

/** Messages of a conversation the media viewer and the Media tab look through (newest). */
export const MEDIA_SCAN = 2000;

/** A photo or video (by its announced type; voice notes and other files are not), not deleted. */
export function isViewableMedia(m: MessageRecord): boolean {
  const { name, mime, voice } = m.body;
  if (m.deleted || m.kind !== 'file' || typeof name !== 'string' || typeof mime !== 'string')
    return false;
  if (typeof voice === 'object' && voice !== null) return false;
  return mime.startsWith('image/') || mime.startsWith('video/');
}

/** Windowed reader over the engine's store. */
export class HistoryStore {
  /** `me`: the signed-in username (whose mentions mark a conversation). */
  constructor(
    readonly store: ClientStore,
    private readonly me = '',
  ) {}

  /** Number of messages in a conversation. */
  count(id: ConversationId): Promise<number> {
    return this.store.countMessages(id);
  }

  /** Messages `[start, start + limit)` of a conversation, oldest first. */
  range(id: ConversationId, start: number, limit: number): Promise<MessageRecord[]> {
    return this.store.listMessages(id, { from: 'oldest', offset: start, limit });
  }

  /** The photos and videos among the latest {@link MEDIA_SCAN} messages, oldest first. */
  async media(id: ConversationId): Promise<MessageRecord[]> {
    const rows = await this.store.listMessages(id, { from: 'newest', limit: MEDIA_SCAN });
    return rows.filter(isViewableMedia);
  }

  /** One message by id. */
  async get(id: string): Promise<MessageRecord | undefined> {
    return (await this.store.getMessage(id)) ?? undefined;
  }

  /** Position of a message in its conversation (to jump to a search result). */
  async indexOf(m: Pick<MessageRecord, 'conversationId' | 'timestamp' | 'id'>): Promise<number> {
    return Math.max(0, await this.store.indexOfMessage(m.id));
  }

  /** Conversation rows, most recent first: every conversation with messages plus every group. */
  async conversations(extraDms: readonly string[] = []): Promise<ConversationRow[]> {
    const [summaries, groups, contacts] = await Promise.all([
      this.store.listConversations(),
      this.store.listGroups(),
      this.store.listContacts(),
    ]);
    const verified = new Set(contacts.filter((c) => c.verified).map((c) => c.username));
    const byGroup = new Map<string, GroupRecord>(groups.map((g) => [g.groupId, g]));
    const rows = new Map<ConversationId, ConversationRow>();
    for (const s of summaries) {
      const { kind, ref } = parseConversationId(s.conversationId);
      const { last } = s;
      rows.set(s.conversationId, {
        id: s.conversationId,
        kind,
        title: kind === 'group' ? (byGroup.get(ref)?.name ?? uiText('list.group')) : ref,
        unread: s.unread,
        lastAt: s.lastTimestamp,
        preview: previewOf(last),
        // A timeline notice is nobody's message: no "bob:" before it.
        lastSender: isNotice(last) ? '' : last.sender,
        verified: kind === 'dm' && verified.has(ref),
        // The store's unread index: read only where there is something unread.
        mentioned:
          s.unread > 0 &&
          (await this.store.listUnread(s.conversationId)).some(
            (m) => !m.outgoing && mentionsUser(m, this.me),
          ),
      });
    }
    for (const g of groups) {
      const id = groupConversationId(g.groupId);
      if (!rows.has(id)) {
        rows.set(id, {
          id,
          kind: 'group',
          title: g.name,
          unread: 0,
          lastAt: g.updatedAt,
          preview: `${g.members.length} members`,
          lastSender: '',
          verified: false,
        });
      }
    }
    for (const user of extraDms) {
      const id = dmId(user);
      if (!rows.has(id)) {
        rows.set(id, {
          id,
          kind: 'dm',
          title: user,
          unread: 0,
          lastAt: 0,
          preview: '',
          lastSender: '',
          verified: verified.has(user),
        });
      }
    }
    return [...rows.values()].sort((a, b) => b.lastAt - a.lastAt);
  }

  /** Whether the user marked `username` verified (compared safety numbers). */
  async isVerified(username: string): Promise<boolean> {
    return (await this.store.getContact(username))?.verified === true;
  }

  /** The group record behind a group conversation. */
  async group(groupId: string): Promise<GroupRecord | undefined> {
    return (await this.store.getGroup(groupId)) ?? undefined;
  }

  /** Unread incoming messages of a conversation, newest last (for read receipts). */
  async unreadIncoming(id: ConversationId): Promise<MessageRecord[]> {
    // The store's unread index: cost grows with the unread messages only.
    return (await this.store.listUnread(id)).filter((m) => !m.outgoing);
  }

  /** Total unread messages over all conversations (for the title badge). */
  async totalUnread(): Promise<number> {
    const rows = await this.store.listConversations();
    return rows.reduce((n, r) => n + r.unread, 0);
  }

  /** Local full-text search over decrypted history. */
  search(query: string, limit = 50): Promise<SearchHit[]> {
    return this.store.search(query, { limit });
  }

  /** Read a UI setting kept in the engine's store. */
  async setting<T>(key: string, fallback: T): Promise<T> {
    const v = await this.store.getSetting<T>(uiSettingKey(key));
    return v === undefined ? fallback : v;
  }

  /** Write a UI setting. */
  setSetting(key: string, value: unknown): Promise<void> {
    return this.store.setSetting(uiSettingKey(key), value);
  }
}
