/**
 * The signed-in session as the views see it: the messenger, the history read model, the
 * live state that is never stored (who is typing, presence, connection, key changes, messages
 * held for a verified contact's new key, frozen groups, security notices), the own-key
 * alerts the user has not acknowledged (kept in the store, `own-key-alerts.ts`) and what the
 * own-key monitor has checked (the engine keeps it; this follows its events).
 *
 * It turns engine events into two coalesced DOM events on itself — `history` (with the set of
 * conversations that changed) and `live` — at most once per animation frame, so a burst of
 * thousands of messages repaints a few times, not thousands. It also owns desktop
 * notifications, the optional notification sound and the unread badge in the document title
 * while the tab is hidden.
 */
import { ConversationPrefs } from './conversation-prefs.ts';
import type { MessageRecord } from './engine-types.ts';
import { HistoryStore, coalesce, coalesceSoon } from './history.ts';
import { benchTrace } from './bench-trace.ts';
import { acknowledgeOwnKeyAlerts, pendingOwnKeyAlerts } from './own-key-alerts.ts';
import { createTonePlayer } from './sound.ts';
import { uiText } from './ui-strings.ts';
import type {
  Account,
  ConnectionState,
  ConversationId,
  GroupFrozenReason,
  MessengerEvent,
  MessengerService,
  OwnKeyAlertNotice,
  OwnKeyLogInfo,
  SecurityNoticeCode,
  SecurityNoticeInfo,
} from './messenger.ts';
import { groupConversationId, parseConversationId } from './messenger.ts';
import { HIDE_CONTENT_SETTING, noticeText } from './notify-rules.ts';
import { revokeMedia, type DecryptedMedia } from './media-type.ts';
import { ProfileDirectory } from './profiles.ts';

/** Presence of one user. */
export interface PresenceInfo {
  online: boolean;
  lastSeen?: number;
}

/**
 * A security notice as the views show it: repeats of the same event (same code, user and
 * conversation) are folded into one entry that counts them.
 */
export interface SecurityNoticeEntry {
  /** `code|conversation|user`: what repeats are folded by. */
  key: string;
  code: SecurityNoticeCode;
  user: string;
  /** The device of the latest repeat. */
  device: string | null;
  conversationId: ConversationId | null;
  groupId?: string;
  /** How many times the engine reported it. */
  times: number;
  /** Messages dropped over all repeats, where the engine counts them (0 otherwise). */
  dropped: number;
  first: number;
  last: number;
}

/** Notices about this account itself: shown app-wide, whatever conversation they name. */
const ACCOUNT_NOTICES: ReadonlySet<SecurityNoticeCode> = new Set<SecurityNoticeCode>([
  'FOREIGN_OWN_DEVICE',
  'PREKEYS_DRAINED',
]);

/**
 * Where a notice is shown: the conversation it belongs to, or `'app'` (across the app) for
 * notices about this account or without a conversation.
 */
export function noticeScope(n: Pick<SecurityNoticeInfo, 'code' | 'conversationId'>): string {
  return ACCOUNT_NOTICES.has(n.code) || n.conversationId === null ? 'app' : n.conversationId;
}

/** How long a typing indicator lives without a refresh (ms). */
export const TYPING_TTL_MS = 6000;

/** Base document title. */
export const APP_TITLE = uiText('app.title');

/** Detail of the `history` event (everything since the previous one). */
export interface HistoryEventDetail {
  /** Every conversation whose history changed (list rows, unread counts). */
  conversations: ReadonlySet<ConversationId>;
  /**
   * Conversations whose stored messages may have changed in place (edit, reaction, receipt,
   * delete, a local send, group change): a view showing one re-reads its rows.
   */
  reread: ReadonlySet<ConversationId>;
  /**
   * Messages newly stored per conversation, in the engine's order. Where a conversation is not
   * also in {@link reread}, these are its only change: a view appends them to the rows it has.
   */
  added: ReadonlyMap<ConversationId, readonly MessageRecord[]>;
}

/**
 * Live session state shared by all views through `@lit/context`.
 *
 * @fires history - local history changed; `detail.conversations` says where (in the task of an
 *   isolated change, coalesced per frame in a burst)
 * @fires live - typing, presence, connection, key-change, block-list, held-message, frozen-group,
 *   security-notice, own-key-alert or own-key-log state changed
 *   (coalesced per frame)
 */
export class ChatSession extends EventTarget {
  readonly history: HistoryStore;
  /** Muted and archived conversations (this device's choice). */
  readonly prefs: ConversationPrefs;
  /** Display names and pictures, loaded on first use (services/profiles.ts). */
  readonly profiles: ProfileDirectory;
  readonly typing = new Map<ConversationId, Map<string, number>>();
  /** `{conversation}\n{sender}` → timestamp (sender's clock) of their newest message seen live. */
  private readonly lastMessageAt = new Map<string, number>();
  readonly presence = new Map<string, PresenceInfo>();
  /** Contacts whose identity key changed and was not accepted yet → was the contact verified. */
  readonly keyChanges = new Map<string, boolean>();
  /**
   * Verified contacts whose key changed → how many of their messages the engine holds until the
   * new key is accepted (refreshed from the engine when their conversation opens).
   */
  readonly held = new Map<string, number>();
  /**
   * Groups the engine froze in this session (history rewritten by the server) → why. The group
   * record keeps it too (`frozen`); this shows it before the record is read again.
   */
  readonly frozenGroups = new Map<string, GroupFrozenReason>();
  /**
   * Security notices not dismissed yet, oldest first. Session state only: they are not kept
   * across a reload (the engine acted on each already: dropped, replenished, held).
   */
  securityNotices: readonly SecurityNoticeEntry[] = [];
  /**
   * Key-log entries under our own username that this account did not make and the user has not
   * acknowledged yet (kept in the store: they survive a reload), oldest first.
   */
  ownKeyAlerts: readonly OwnKeyAlertNotice[] = [];
  /** What the own-key monitor has checked (null until the engine answered). */
  ownKeyLog: OwnKeyLogInfo | null = null;
  /** Log indexes acknowledged in this session (a slow first read must not bring them back). */
  private readonly acknowledged = new Set<number>();
  connection: ConnectionState;
  detail = '';
  /** Conversation on screen (its messages do not notify). */
  active: ConversationId | null = null;
  /** DMs opened in this session that have no message yet. */
  readonly pendingDms = new Set<string>();
  /** Decrypted attachments of this session by message id (object URLs revoked on dispose). */
  readonly media = new Map<string, DecryptedMedia>();
  /** Chime for new messages (setting `sound`, off by default). */
  sound = false;
  /**
   * The account is a guest (the key server's answer, read once the session starts): the views
   * show the guest notice and its upgrade, and leave out what guests may not do.
   */
  guest = false;
  /** A guest's idle time before it expires, as the server says (null: not said). */
  guestIdleMs: number | null = null;
  private soundChosen = false;
  /** Notifications name the conversation only (setting `web:hideNotificationContent`). */
  hideContent = false;
  private hideContentChosen = false;

  private changed = new Set<ConversationId>();
  private reread = new Set<ConversationId>();
  private added = new Map<ConversationId, MessageRecord[]>();
  private readonly emitHistory = coalesceSoon(() => {
    const detail: HistoryEventDetail = {
      conversations: this.changed,
      reread: this.reread,
      added: this.added,
    };
    this.changed = new Set();
    this.reread = new Set();
    this.added = new Map();
    if (benchTrace)
      for (const list of detail.added.values()) for (const m of list) benchTrace('history', m.id);
    this.dispatchEvent(new CustomEvent<HistoryEventDetail>('history', { detail }));
    void this.updateTitle();
  });
  private readonly emitLive = coalesce(() => this.dispatchEvent(new Event('live')));
  private readonly unsubscribe: () => void;
  private readonly onVisibility = (): void => void this.updateTitle();

  constructor(
    readonly messenger: MessengerService,
    readonly account: Account,
    private readonly tone: () => void = createTonePlayer(),
  ) {
    super();
    const { store } = messenger.local();
    this.history = new HistoryStore(store, account.username);
    this.prefs = new ConversationPrefs(this.history, () => this.emitLive());
    this.profiles = new ProfileDirectory(messenger.profiles, account.username, () =>
      this.emitLive(),
    );
    void this.history.setting('sound', false).then((on) => {
      if (!this.soundChosen) this.sound = on === true;
    });
    void this.history.setting(HIDE_CONTENT_SETTING, false).then((on) => {
      if (!this.hideContentChosen) this.hideContent = on === true;
    });
    this.connection = messenger.connection;
    this.unsubscribe = messenger.subscribe((e) => this.handle(e));
    // Read after subscribing: an alert that arrives meanwhile is merged, not lost.
    void pendingOwnKeyAlerts(store).then(
      (kept) => this.addOwnKeyAlerts(kept),
      (err: unknown) => console.warn('could not read own-key alerts', err),
    );
    void messenger.guests.isGuest().then(async (guest) => {
      if (guest) this.guestIdleMs = await messenger.guests.idleMs();
      this.setGuest(guest);
    });
    void messenger.ownKeyLog().then(
      (status) => this.updateOwnKeyLog(status),
      (err: unknown) => console.warn('could not read the own-key monitor’s progress', err),
    );
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this.onVisibility);
    }
  }

  /** The account is (`true`) or is no longer (after an upgrade) a guest: tell the views. */
  setGuest(guest: boolean): void {
    if (this.guest === guest) return;
    this.guest = guest;
    this.emitLive();
  }

  /** Stop listening (on log out). */
  dispose(): void {
    this.unsubscribe();
    this.profiles.dispose();
    for (const m of this.media.values()) revokeMedia(m);
    this.media.clear();
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this.onVisibility);
      document.title = APP_TITLE;
    }
  }

  /** Names typing in a conversation now. */
  typingIn(id: ConversationId): string[] {
    const now = Date.now();
    const m = this.typing.get(id);
    if (m === undefined) return [];
    return [...m.entries()].filter(([, until]) => until > now).map(([u]) => u);
  }

  /** Turn the notification sound on or off (kept in the local settings). */
  async setSound(on: boolean): Promise<void> {
    this.sound = on;
    this.soundChosen = true;
    if (on) this.tone(); // a sample, while the click still counts as a user gesture
    await this.history.setSetting('sound', on);
  }

  /**
   * Show only the conversation's name and "New message" in notifications, or the text too (kept
   * in the store, where the service worker reads it as well).
   */
  async setHideContent(on: boolean): Promise<void> {
    this.hideContent = on;
    this.hideContentChosen = true;
    await this.history.setSetting(HIDE_CONTENT_SETTING, on);
  }

  /**
   * The user read these own-key alerts ("I understand"): forget them in the store, then here.
   * The banner goes only once the store has it, so a reload right after the click cannot bring
   * it back; if the write fails it still goes (and may come back after a reload, which errs
   * safely). Alerts that arrived after the user saw the banner stay.
   */
  async acknowledgeOwnKeyAlerts(logIndexes: readonly number[]): Promise<void> {
    try {
      await acknowledgeOwnKeyAlerts(this.messenger.local().store, logIndexes);
    } finally {
      for (const i of logIndexes) this.acknowledged.add(i);
      this.ownKeyAlerts = this.ownKeyAlerts.filter((a) => !this.acknowledged.has(a.logIndex));
      this.emitLive();
    }
  }

  /** Notices shown in `scope` (a conversation id, or `'app'`), oldest first. */
  noticesFor(scope: string): SecurityNoticeEntry[] {
    return this.securityNotices.filter((n) => noticeScope(n) === scope);
  }

  /** The user dismissed a notice: forget it (a later repeat shows it again). */
  dismissNotice(key: string): void {
    const before = this.securityNotices.length;
    this.securityNotices = this.securityNotices.filter((n) => n.key !== key);
    if (this.securityNotices.length !== before) this.emitLive();
  }

  /**
   * Ask the engine how many messages from `username` it holds (after a reload the held-messages
   * banner comes from here: the engine reports each held message once, when it arrives).
   */
  async refreshHeld(username: string): Promise<void> {
    let n: number;
    try {
      n = await this.messenger.heldMessages(username);
    } catch (err) {
      console.warn('could not count held messages', err);
      return;
    }
    if (n === (this.held.get(username) ?? 0)) return;
    if (n > 0) {
      this.held.set(username, n);
      // Messages are held only for a contact the user had verified.
      this.keyChanges.set(username, true);
    } else this.held.delete(username);
    this.emitLive();
  }

  /** The user accepted `username`'s new key: the banner goes and held messages are released. */
  keyAccepted(username: string): void {
    this.keyChanges.delete(username);
    this.held.delete(username);
    this.emitLive();
  }

  private addSecurityNotice(n: SecurityNoticeInfo): void {
    switch (n.code) {
      case 'HELD_KEY_CHANGE':
        this.held.set(n.user, n.count ?? (this.held.get(n.user) ?? 0) + 1);
        this.keyChanges.set(n.user, true);
        this.emitLive();
        return;
      case 'GROUP_FORKED':
        if (n.groupId !== undefined) {
          this.frozenGroups.set(n.groupId, 'forked');
          this.touch(groupConversationId(n.groupId));
        }
        this.emitLive();
        return;
      default:
        break;
    }
    const key = `${n.code}|${n.conversationId ?? ''}|${n.user}`;
    const old = this.securityNotices.find((e) => e.key === key);
    const entry: SecurityNoticeEntry = {
      key,
      code: n.code,
      user: n.user,
      device: n.device,
      conversationId: n.conversationId,
      ...(n.groupId !== undefined ? { groupId: n.groupId } : {}),
      times: (old?.times ?? 0) + 1,
      dropped: (old?.dropped ?? 0) + (n.count ?? 0),
      first: old?.first ?? n.at,
      last: n.at,
    };
    this.securityNotices = [...this.securityNotices.filter((e) => e.key !== key), entry];
    this.emitLive();
  }

  private addOwnKeyAlerts(alerts: readonly OwnKeyAlertNotice[]): void {
    const known = new Set(this.ownKeyAlerts.map((a) => a.logIndex));
    const fresh = alerts.filter(
      (a) => !known.has(a.logIndex) && !this.acknowledged.has(a.logIndex),
    );
    if (fresh.length === 0) return;
    this.ownKeyAlerts = [...this.ownKeyAlerts, ...fresh].sort((a, b) => a.logIndex - b.logIndex);
    this.emitLive();
  }

  /**
   * Take the monitor's progress if it is newer than what is shown (the first read may answer
   * after an event: the log only grows, so more entries checked, or the same later, is newer).
   */
  private updateOwnKeyLog(status: OwnKeyLogInfo): void {
    const old = this.ownKeyLog;
    if (
      old !== null &&
      (status.checkedEntries < old.checkedEntries ||
        (status.checkedEntries === old.checkedEntries &&
          (status.checkedAt ?? 0) <= (old.checkedAt ?? 0)))
    )
      return;
    this.ownKeyLog = status;
    // Nothing checked yet looks the same as not known yet: no re-render for it.
    if (old !== null || status.checkedAt !== null) this.emitLive();
  }

  /** Mark the history of these conversations changed (e.g. after a local send). */
  touch(...ids: ConversationId[]): void {
    for (const id of ids) {
      this.changed.add(id);
      this.reread.add(id);
    }
    this.emitHistory();
  }

  /** Apply one engine event. Public for tests. */
  handle(e: MessengerEvent): void {
    switch (e.type) {
      case 'history': {
        for (const id of e.conversationIds) {
          this.changed.add(id);
          if (e.added === undefined && e.unreadOnly !== true) this.reread.add(id);
        }
        for (const m of e.added ?? []) {
          let list = this.added.get(m.conversationId);
          if (list === undefined) this.added.set(m.conversationId, (list = []));
          list.push(m);
        }
        let typingEnded = false;
        for (const m of e.incoming ?? []) {
          // A message from someone ends their typing indicator, and a "typing" they sent
          // before it that arrives after it (group sends can overtake each other) does not
          // start one again.
          const key = `${m.conversationId}\n${m.sender}`;
          this.lastMessageAt.set(key, Math.max(this.lastMessageAt.get(key) ?? 0, m.at));
          if (this.typing.get(m.conversationId)?.delete(m.sender) === true) typingEnded = true;
          this.notify(
            m.conversationId,
            m.sender,
            m.preview,
            m.mentioned?.includes(this.account.username) === true,
          );
        }
        this.emitHistory();
        // Only a typing change is live state; a burst of messages re-renders through `history`.
        if (typingEnded) this.emitLive();
        return;
      }
      case 'typing': {
        let m = this.typing.get(e.conversationId);
        if (m === undefined) this.typing.set(e.conversationId, (m = new Map<string, number>()));
        const stale = e.at <= (this.lastMessageAt.get(`${e.conversationId}\n${e.sender}`) ?? 0);
        if (e.typing && stale) return;
        if (e.typing) {
          m.set(e.sender, Date.now() + TYPING_TTL_MS);
          setTimeout(() => this.emitLive(), TYPING_TTL_MS + 50);
        } else m.delete(e.sender);
        this.emitLive();
        return;
      }
      case 'presence':
        this.presence.set(e.username, {
          online: e.online,
          ...(e.lastSeen !== undefined ? { lastSeen: e.lastSeen } : {}),
        });
        this.emitLive();
        return;
      case 'keyChange':
        this.keyChanges.set(e.username, e.wasVerified);
        this.emitLive();
        return;
      case 'blocks':
        // The views read the list from the engine (`moderation.isBlocked`); they re-render.
        this.emitLive();
        return;
      case 'ownKeyAlert':
        this.addOwnKeyAlerts([e.alert]);
        return;
      case 'ownKeyLog':
        this.updateOwnKeyLog(e.status);
        return;
      case 'securityNotice':
        this.addSecurityNotice(e.notice);
        return;
      case 'profile':
        void this.profiles.load(e.username);
        return;
      case 'groupChange':
        this.changed.add(groupConversationId(e.groupId));
        this.reread.add(groupConversationId(e.groupId));
        this.emitHistory();
        return;
      case 'connection':
        // The "removed" screen stays: the signed-out state that follows says less.
        if (this.connection === 'removed') return;
        this.connection = e.state;
        this.detail = e.detail ?? '';
        this.emitLive();
        return;
    }
  }

  private notify(
    conversationId: ConversationId,
    sender: string,
    preview: string,
    mentionsMe: boolean,
  ): void {
    if (typeof document === 'undefined') return;
    // Muted: no sound, no notification (the unread count still grows) — unless the message
    // mentions the user, as in Signal and WhatsApp.
    if (this.prefs.isMuted(conversationId) && !mentionsMe) return;
    const visible = document.visibilityState === 'visible' && document.hasFocus();
    if (visible && this.active === conversationId) return;
    if (this.sound) this.tone();
    if (typeof Notification === 'undefined') return;
    if (!visible && Notification.permission === 'granted')
      void this.showNotification(conversationId, sender, preview).catch((err: unknown) =>
        console.warn('could not show a notification', err),
      );
  }

  /** The desktop notification of a message (`notify-rules.ts`: the same text as the worker's). */
  private async showNotification(
    conversationId: ConversationId,
    sender: string,
    preview: string,
  ): Promise<void> {
    const { kind, ref } = parseConversationId(conversationId);
    const group = kind === 'group';
    const name = group ? ((await this.history.group(ref))?.name ?? sender) : sender;
    const { title, body } = noticeText(name, sender, preview, {
      group,
      hideContent: this.hideContent,
    });
    const n = new Notification(title, { body, tag: conversationId });
    n.onclick = () => {
      window.focus();
      location.hash = `#/c/${encodeURIComponent(conversationId)}`;
      n.close();
    };
  }

  /** `(n) Sotto` while the tab is hidden and there are unread messages. */
  async updateTitle(): Promise<void> {
    if (typeof document === 'undefined') return;
    if (document.visibilityState === 'visible') {
      document.title = APP_TITLE;
      return;
    }
    const n = await this.history.totalUnread();
    document.title = n > 0 ? `(${n}) ${APP_TITLE}` : APP_TITLE;
  }
}
