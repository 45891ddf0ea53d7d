/**
 * `<conversation-view>`: one conversation, assembled — `<conversation-header>`, the trust
 * banners, the virtualized `<message-list>`, the typing line, `<upload-status>`, the
 * `<chat-composer>` and the emoji picker. It owns what the user does to the conversation: send,
 * reply, edit, react, delete, upload (picker, paste, drag-and-drop onto the list) — with
 * `Uploads` and `FileDrop` controllers for the non-visual parts — and what the composer may
 * do (paused for a key change, off in a frozen group or one we were removed from).
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { GroupRecord, MessageRecord } from '../services/engine-types.ts';
import { parseConversationId } from '../services/messenger.ts';
import type { HistoryEventDetail, ChatSession } from '../services/session.ts';
import { isNotice, throttled } from '../services/history.ts';
import { membersLabel, onlineMembers } from '../services/group-presence.ts';
import type { RecordedNote } from '../services/voice-note.ts';
import { shared } from '../styles.ts';
import type { Mention } from '../services/mentions.ts';
import { fileOf, type ReactDetail } from './message-bubble.ts';
import { REFRESH_GAP_MS, type MessageList } from './message-list.ts';
import { Uploads } from './controllers/uploads.ts';
import { FileDrop } from './controllers/file-drop.ts';
import { OpenConversation } from './controllers/open-conversation.ts';
import { Drafts } from './controllers/drafts.ts';
import { MessageTools } from './controllers/message-tools.ts';
import './pinned-bar.ts';
import './forward-picker.ts';
import { lastSeenLabel } from './time-labels.ts';
import './message-list.ts';
import './conversation-header.ts';
import './conversation-actions.ts';
import { MAX_CALL_PARTICIPANTS } from '@sotto/crypto/wire';
import './upload-status.ts';
import './chat-composer.ts';
import './key-change-banner.ts';
import './group-key-banner.ts';
import './security-notice-strip.ts';
import './block-report.ts';
import { frozenComposerReason } from './group-frozen-banner.ts';
import { uiPlural, uiText } from '../services/ui-strings.ts';

/** One conversation. */
@customElement('conversation-view')
export class ConversationView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        min-height: 0;
        position: relative;
      }
      .typing {
        min-height: 1.4rem;
        padding: 0 0.9rem;
        font-size: 0.85rem;
        color: var(--fg-2);
        font-style: italic;
      }
      .drop {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        background: rgb(47 111 222 / 0.15);
        border: 3px dashed var(--accent);
        z-index: 10;
        font-size: 1.2rem;
        pointer-events: none;
      }
      .overlay {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        background: rgb(0 0 0 / 0.3);
        z-index: 20;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** `dm:{user}` or `group:{id}`. */
  @property() conversationId = '';
  /** Message id to scroll to once loaded (search results). */
  @property() jumpTo = '';

  @state() private _replyTo: MessageRecord | undefined;
  @state() private _editing: MessageRecord | undefined;
  @state() private _group: GroupRecord | undefined;
  /** The group record was read at least once (undefined after that: not on this device). */
  @state() private _groupRead = false;
  @state() private _reactFor: MessageRecord | undefined;
  /** The media viewer, when open: the items it pages through and the one shown. */
  @state() private _viewer: { items: MessageRecord[]; index: number } | undefined;
  @state() private _badge = '';
  /** The DM's contact is marked verified. */
  @state() private _verified = false;
  @state() private _tick = 0;

  @query('message-list') private _list!: MessageList | null;

  /** Another conversation: the session knows it is on screen; drafts of the last one go. */
  private readonly open = new OpenConversation(
    this,
    () => this,
    (s, id) => {
      s.active = id;
      this._replyTo = undefined;
      this._editing = undefined;
      this._group = undefined;
      this._groupRead = false;
      this._badge = '';
      this._verified = false;
      this.tools.opened();
      const { kind, ref } = parseConversationId(id);
      if (kind === 'group') void this.readGroup();
      // Messages held for a verified contact's new key (after a reload the engine is asked).
      else void s.refreshHeld(ref);
      void this.readVerified();
      // The last conversation's text is not this one's (its draft is kept by `drafts`).
      this.typedSinceOpen = false;
      this.renderRoot.querySelector('chat-composer')?.setText('');
      void this.restoreDraft(id);
      // The message box takes the keyboard at once (after "New chat" the first words were lost).
      void this.focusComposer();
    },
  );

  /** Focus the composer once this conversation's view (and the composer in it) has rendered. */
  private async focusComposer(): Promise<void> {
    const id = this.conversationId;
    await this.updateComplete;
    const composer = this.renderRoot.querySelector('chat-composer');
    if (composer === null || id !== this.conversationId) return;
    await composer.updateComplete;
    composer.focus();
  }

  private readonly uploads = new Uploads(this);
  /** Pins (the bar, the bubbles' Pin) and the forward picker. */
  private readonly tools = new MessageTools(this, {
    session: () => this.session,
    conversationId: () => this.conversationId,
    picker: () => this.renderRoot.querySelector('forward-picker'),
    toast: (err) => this.uploads.toast(err),
  });
  private readonly drafts = new Drafts(this);
  /** The user typed in this conversation's composer since it opened. */
  private typedSinceOpen = false;
  /** Messages of this view being sent (the cleared draft is written after them, see `send`). */
  private sending = 0;
  private readonly drop = new FileDrop(this, {
    enabled: () => this.session?.messenger.capabilities.has('files') === true,
    drop: (files) => void this.sendFiles(files),
  });

  private readonly onHistory = (e: Event): void => {
    const { reread } = (e as CustomEvent<HistoryEventDetail>).detail;
    if (!reread.has(this.conversationId)) return;
    this.scheduleGroupRead();
    void this.readVerified();
    void this.tools.reload(false);
  };
  private readonly onLive = (): void => {
    this._tick++;
  };
  protected readonly events = new SessionEvents(this, () => this.session, {
    history: this.onHistory,
    live: this.onLive,
  });
  /** A group's record is re-read with its messages (membership changes come as history). */
  private readonly scheduleGroupRead = throttled(() => this.readGroup(), REFRESH_GAP_MS);

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.session !== undefined && this.session.active === this.open.id) {
      this.session.active = null;
    }
  }

  private async readGroup(): Promise<void> {
    const s = this.session;
    const id = this.conversationId;
    const { kind, ref } = parseConversationId(id);
    if (s === undefined || kind !== 'group') return;
    const group = await s.history.group(ref);
    if (id !== this.conversationId) return;
    this._group = group;
    this._groupRead = true;
    void this.tools.reload();
    if (group !== undefined) s.messenger.watchPresence(group.members);
  }

  /** Put the conversation's saved draft (or nothing) into the composer. */
  private async restoreDraft(id: string): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const text = await this.drafts.load(s, id);
    await this.updateComplete;
    // Words typed while the draft was read win over it (they would be lost otherwise).
    if (id !== this.conversationId || this.typedSinceOpen) return;
    const composer = this.renderRoot.querySelector('chat-composer');
    await composer?.updateComplete;
    composer?.setText(text);
  }

  /** ↑ in an empty composer: edit the newest own text message that can still be edited. */
  private async editLast(): Promise<void> {
    const s = this.session;
    const id = this.conversationId;
    if (s === undefined || !s.messenger.capabilities.has('edit')) return;
    const n = await s.history.count(id);
    const recent = await s.history.range(id, Math.max(0, n - 50), 50);
    const last = recent
      .reverse()
      .find((m) => m.outgoing && !m.deleted && fileOf(m) === null && !isNotice(m));
    if (last === undefined || id !== this.conversationId) return;
    this._replyTo = undefined;
    this._editing = last;
  }

  /** Whether the DM's contact is verified (contact info touches the DM when that changes). */
  private async readVerified(): Promise<void> {
    const s = this.session;
    const id = this.conversationId;
    const { kind, ref } = parseConversationId(id);
    if (s === undefined || kind !== 'dm') return;
    const verified = await s.history.isVerified(ref);
    if (id === this.conversationId) this._verified = verified;
  }

  private async send(e: CustomEvent<{ text: string; mentions: Mention[] }>): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    const id = this.conversationId;
    const { text, mentions } = e.detail;
    this.sending++;
    try {
      if (this._editing !== undefined) {
        const target = this._editing;
        this._editing = undefined;
        await s.messenger.edit(id, target.id, text, mentions);
        s.touch(id);
      } else {
        const replyTo = this._replyTo?.id;
        this._replyTo = undefined;
        this._list?.followLatest();
        await s.messenger.sendText(id, text, {
          ...(replyTo !== undefined ? { replyTo } : {}),
          ...(mentions.length > 0 ? { mentions } : {}),
        });
        // The messenger's `history` event brought the message itself: the list appends it.
        s.pendingDms.delete(parseConversationId(id).ref);
      }
    } catch (err) {
      this.uploads.toast(err);
    } finally {
      // The composer's cleared draft is written once the message is out: a store write queued
      // at Enter went ahead of the message's own commit and delayed its publish (issue 23).
      if (--this.sending === 0) void this.drafts.flush();
    }
  }

  /** Encrypt, upload and send files (picker, paste, drop). */
  async sendFiles(files: File[]): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    await this.uploads.send(s, this.conversationId, files, {
      sending: () => this._list?.followLatest(),
      shown: () => this._list?.requestUpdate(),
    });
  }

  /** Open the media viewer on `m`, over the conversation's photos and videos. */
  async openViewer(m: MessageRecord): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    await import('./media-viewer.ts');
    const items = await s.history.media(this.conversationId);
    const index = items.findIndex((x) => x.id === m.id);
    this._viewer = index >= 0 ? { items, index } : { items: [m], index: 0 };
  }

  /** Send a voice note recorded in the composer. */
  async sendVoice(note: RecordedNote): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    await this.uploads.sendVoice(s, this.conversationId, note, {
      sending: () => this._list?.followLatest(),
      shown: () => this._list?.requestUpdate(),
    });
  }

  private async react(message: MessageRecord, emoji: string, remove: boolean): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    try {
      await s.messenger.react(this.conversationId, message.id, emoji, remove);
      s.touch(this.conversationId);
    } catch (err) {
      this.uploads.toast(err);
    }
  }

  private async pickReaction(e: CustomEvent<MessageRecord>): Promise<void> {
    await import('./emoji-picker.ts');
    this._reactFor = e.detail;
  }

  private async deleteMessage(e: CustomEvent<MessageRecord>): Promise<void> {
    const s = this.session;
    if (s === undefined) return;
    if (!confirm(uiText('view.confirmDelete'))) return;
    try {
      await s.messenger.deleteForEveryone(this.conversationId, e.detail.id);
      s.touch(this.conversationId);
    } catch (err) {
      this.uploads.toast(err);
    }
  }

  private subtitle(s: ChatSession): string {
    const { kind, ref } = parseConversationId(this.conversationId);
    const typing = s.typingIn(this.conversationId);
    if (kind === 'dm') {
      if (typing.length > 0) return 'typing…';
      const p = s.presence.get(ref);
      if (p?.online === true) return 'online';
      if (p?.lastSeen !== undefined) return lastSeenLabel(p.lastSeen);
      return '';
    }
    if (typing.length > 0) return `${typing.join(', ')} typing…`;
    if (this._group === undefined) return '';
    const { members } = this._group;
    const online = onlineMembers(
      members,
      s.presence,
      s.account.username,
      s.connection === 'online',
    );
    return membersLabel(members.length, online.length);
  }

  /** Why the composer is off, or empty when the user may write. */
  private composerBlock(s: ChatSession, removed: string, blocking: boolean): string {
    const { kind, ref } = parseConversationId(this.conversationId);
    const frozen =
      kind === 'group' ? (s.frozenGroups.get(ref) ?? this._group?.frozen?.reason) : undefined;
    if (removed !== '') return removed;
    if (frozen !== undefined) return frozenComposerReason(frozen);
    // Like Signal: a blocked contact gets nothing from us either until unblocked (the banner
    // above the messages has Unblock).
    if (kind === 'dm' && s.messenger.moderation.isBlocked(ref))
      return uiText('view.blocked', { user: ref });
    return blocking ? uiText('view.paused') : '';
  }

  override render(): TemplateResult {
    const s = this.session;
    if (s === undefined) return html``;
    const { kind, ref } = parseConversationId(this.conversationId);
    const isGroup = kind === 'group';
    const me = s.account.username;
    const keyChangedUsers = isGroup
      ? (this._group?.members ?? []).filter((u) => s.keyChanges.has(u))
      : s.keyChanges.has(ref) || (s.held.get(ref) ?? 0) > 0
        ? [ref]
        : [];
    const blocking = keyChangedUsers.some(
      (u) => s.keyChanges.get(u) === true || (s.held.get(u) ?? 0) > 0,
    );
    const frozen = isGroup ? (s.frozenGroups.get(ref) ?? this._group?.frozen?.reason) : undefined;
    const removed =
      isGroup && this._group !== undefined && !this._group.members.includes(me)
        ? uiText('view.removed')
        : isGroup && this._group === undefined && this._groupRead
          ? uiText('view.groupMissing')
          : '';
    const typing = s.typingIn(this.conversationId);
    return html`<conversation-header
        .conversationId=${this.conversationId}
        .heading=${isGroup ? (this._group?.name ?? uiText('view.group')) : ref}
        .session=${isGroup ? undefined : s}
        .group=${isGroup}
        .badge=${isGroup ? '' : this._badge}
        .verified=${!isGroup && this._verified}
        .online=${!isGroup && s.presence.get(ref)?.online === true}
        .subtitle=${this.subtitle(s)}
        .canCall=${
          s.messenger.capabilities.has('calls') &&
          (!isGroup ||
            (this._group !== undefined &&
              this._group.members.includes(me) &&
              this._group.members.length <= MAX_CALL_PARTICIPANTS))
        }
        ><conversation-actions
          slot="actions"
          .conversationId=${this.conversationId}
        ></conversation-actions
      ></conversation-header>
      ${keyChangedUsers.map(
        (u) =>
          html`<key-change-banner
            .username=${u}
            .verified=${s.keyChanges.get(u) === true}
            .held=${isGroup ? 0 : (s.held.get(u) ?? 0)}
            .conversationId=${this.conversationId}
          ></key-change-banner>`,
      )}
      ${frozen !== undefined ? html`<group-frozen-banner .reason=${frozen}></group-frozen-banner>` : nothing}
      ${isGroup && removed === '' && frozen === undefined ? html`<group-key-banner .groupId=${ref}></group-key-banner>` : nothing}
      <security-notice-strip .scope=${this.conversationId}></security-notice-strip>
      <block-report mode="banner" .username=${isGroup ? '' : ref}></block-report>
      <pinned-bar
        .session=${s}
        .pins=${this.tools.pins}
        .canPin=${this.tools.canPin}
        @jump=${(e: CustomEvent<string>) => void this._list?.jumpToMessage(e.detail)}
        @pin=${this.tools.onPin}
      ></pinned-bar>
      <message-list
        .session=${s}
        .conversationId=${this.conversationId}
        .jumpTo=${this.jumpTo}
        .pinned=${this.tools.pinnedIds}
        .canPin=${this.tools.canPin}
        @pin=${this.tools.onPin}
        @forward=${this.tools.onForward}
        @dragover=${this.drop.onDragOver}
        @dragleave=${this.drop.onDragLeave}
        @drop=${this.drop.onDrop}
        @reply=${(e: CustomEvent<MessageRecord>) => {
          this._editing = undefined;
          this._replyTo = e.detail;
        }}
        @edit=${(e: CustomEvent<MessageRecord>) => {
          this._replyTo = undefined;
          this._editing = e.detail;
        }}
        @react=${(e: CustomEvent<ReactDetail>) =>
          void this.react(e.detail.message, e.detail.emoji, e.detail.remove)}
        @pick-reaction=${this.pickReaction}
        @delete=${this.deleteMessage}
        @report=${(e: CustomEvent<MessageRecord>) =>
          void this.renderRoot
            .querySelector('block-report')
            ?.reportMessages(this.conversationId, [e.detail])}
        @sender-kind=${(e: CustomEvent<string>) => (this._badge = e.detail)}
        @action-error=${(e: CustomEvent<unknown>) => this.uploads.toast(e.detail)}
        @open-media=${(e: CustomEvent<MessageRecord>) => void this.openViewer(e.detail)}
      ></message-list>
      <div class="typing" aria-live="polite">
        ${
          typing.length > 0
            ? isGroup
              ? uiPlural('view.typing', typing.length, { names: typing.join(', ') })
              : uiText('view.typingDm', { user: ref })
            : ''
        }
      </div>
      <upload-status .uploads=${this.uploads.list}></upload-status>
      <chat-composer
        .replyTo=${this._replyTo}
        .editing=${this._editing}
        .canFiles=${s.messenger.capabilities.has('files')}
        .members=${isGroup ? (this._group?.members ?? []).filter((u) => u !== s.account.username) : [ref]}
        .disabledReason=${this.composerBlock(s, removed, blocking)}
        @send=${this.send}
        @typing=${(e: CustomEvent<{ typing: boolean }>) =>
          s.messenger.setTyping(this.conversationId, e.detail.typing)}
        @files=${(e: CustomEvent<{ files: File[] }>) => void this.sendFiles(e.detail.files)}
        @draft=${(e: CustomEvent<{ text: string }>) => {
          this.typedSinceOpen = true;
          this.drafts.changed(s, this.conversationId, e.detail.text);
          // Cleared: forget the draft now, not after the typing pause; sent: once it is out.
          if (e.detail.text === '' && this.sending === 0) void this.drafts.flush();
        }}
        @edit-last=${() => void this.editLast()}
        @voice-note=${(e: CustomEvent<RecordedNote>) => void this.sendVoice(e.detail)}
        @composer-error=${(e: CustomEvent<unknown>) => this.uploads.toast(e.detail)}
        @cancel=${() => {
          this._replyTo = undefined;
          this._editing = undefined;
        }}
      ></chat-composer>
      <forward-picker
        .session=${s}
        @forward-error=${(e: CustomEvent<unknown>) => this.uploads.toast(e.detail)}
      ></forward-picker>
      ${this.drop.dragging ? html`<div class="drop">${uiText('view.drop')}</div>` : nothing}
      ${
        this._viewer !== undefined
          ? html`<media-viewer
              .session=${s}
              .items=${this._viewer.items}
              .index=${this._viewer.index}
              @close=${() => (this._viewer = undefined)}
            ></media-viewer>`
          : nothing
      }
      ${
        this._reactFor !== undefined
          ? html`<div
              class="overlay"
              @click=${(e: Event) => {
                if (e.target === e.currentTarget) this._reactFor = undefined;
              }}
            >
              <emoji-picker
                @emoji-selected=${(e: CustomEvent<string>) => {
                  const m = this._reactFor;
                  this._reactFor = undefined;
                  if (m !== undefined) void this.react(m, e.detail, false);
                }}
                @close=${() => (this._reactFor = undefined)}
              ></emoji-picker>
            </div>`
          : nothing
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'conversation-view': ConversationView;
  }
}
