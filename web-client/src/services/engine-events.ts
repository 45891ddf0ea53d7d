/**
 * Event mapping: the engine's events (`@sotto/client` `ClientEvents`) re-told as the views'
 * {@link MessengerEvent}s — history changes with notification previews, typing, presence,
 * key changes, security notices, own-key alerts (kept in the store first), the own-key
 * monitor's progress, group changes and the connection state the header shows.
 */
import type { ClientEvents, SottoClient } from '@sotto/client';
import type { ClientStore } from './engine-types.ts';
import {
  parseConversationId,
  type ConnectionState,
  type ConversationId,
  type MessengerEvent,
} from './messenger.ts';
import { forwardOwnKeyAlert } from './own-key-alerts.ts';
import { mentionsOf } from './mentions.ts';
import { previewText } from './notify-rules.ts';

/** What the mapping needs from the adapter. */
export interface EngineEventSink {
  /** Tell the views (a function property: the mapping passes it on unbound). */
  readonly emit: (event: MessengerEvent) => void;
  /** Follow a user's presence (a DM peer, a new group member). */
  watch(username: string): void;
  /** The open account's store (null once closed). */
  store(): ClientStore | null;
  /** The signed-in username. */
  me(): string | undefined;
  /** The engine's connection changed (see {@link ConnectionStates}). */
  connection(change: ClientEvents['connection']): void;
  /** Our messages sent from this page, by id (a receipt's conversation without a store read). */
  readonly sent?: SentConversations;
}

/** An edit older than this (by its sender's clock) does not notify: it was made while we were away. */
const EDIT_NOTICE_MS = 120_000;

/**
 * Our own messages whose conversation a receipt is told in without a store read (issue 23): a
 * receipt names only the message, and reading it from the store to learn its conversation cost
 * a read transaction and an unsealed row for every receipt — about one of the sending page's two
 * store reads a message at 100 msg/s. Holds the newest {@link SentConversations.LIMIT} sends of
 * this page (receipts follow within seconds; an older message is looked up). An id names one
 * message for good, so an answer cannot go stale.
 */
export class SentConversations {
  static readonly LIMIT = 2048;
  readonly #byId = new Map<string, ConversationId>();

  /** Message `id` was sent in `conversationId`. */
  add(id: string, conversationId: ConversationId): void {
    this.#byId.set(id, conversationId);
    if (this.#byId.size > SentConversations.LIMIT) {
      this.#byId.delete(this.#byId.keys().next().value!);
    }
  }

  /** The conversation of our message `id`, when it is one of those remembered. */
  get(id: string): ConversationId | undefined {
    return this.#byId.get(id);
  }
}

/**
 * The engine's connection states as the header names them: before this page was ever online a
 * failure is `unreachable` (the server is not there), afterwards `reconnecting`.
 */
export class ConnectionStates {
  private everOnline = false;

  /** The state to show for an engine `connection` event. */
  map(state: ClientEvents['connection']['state']): ConnectionState {
    switch (state) {
      case 'online':
        this.everOnline = true;
        return 'online';
      case 'connecting':
        return this.everOnline ? 'reconnecting' : 'connecting';
      case 'offline':
        return this.everOnline ? 'reconnecting' : 'unreachable';
      case 'signed-out':
        return 'signed-out';
      default:
        return 'offline';
    }
  }
}

/** Listen to `client` and tell `sink` in the views' terms; returns the function that stops it. */
export function mapEngineEvents(
  client: Pick<SottoClient, 'on' | 'off'>,
  sink: EngineEventSink,
): () => void {
  const detach: (() => void)[] = [];
  const on = <K extends keyof ClientEvents & string>(
    name: K,
    fn: (e: ClientEvents[K]) => void,
  ): void => {
    client.on(name, fn);
    detach.push(() => client.off(name, fn));
  };
  const { emit } = sink;
  on('message', (m) => {
    // Our own message from another of our devices (a sync copy): its receipts come here too.
    if (m.outgoing) sink.sent?.add(m.id, m.conversationId);
    emit({
      type: 'history',
      conversationIds: [m.conversationId],
      added: [m],
      // A timeline notice the engine wrote itself (a contact's key changed) is no one's
      // message: no notification, no chime, no end to a typing indicator.
      ...(m.outgoing || m.kind === 'notice'
        ? {}
        : {
            incoming: [
              {
                conversationId: m.conversationId,
                id: m.id,
                sender: m.sender,
                preview: previewText(m),
                at: m.timestamp,
                mentioned: mentionsOf(m).map((x) => x.user),
              },
            ],
          }),
    });
    const { kind, ref } = parseConversationId(m.conversationId);
    if (kind === 'dm') sink.watch(ref);
  });
  // An edit that mentions us notifies once per edit (PROTOCOL.md §12 "Mentions": an edit carries
  // the new text's mentions), even in a muted conversation; a reaction to it later does not.
  const editsTold = new Set<string>();
  on('messageUpdate', (m) => {
    const edit = `${m.id}:${m.editedAt ?? 0}`;
    const me = sink.me();
    const mentioned =
      !m.outgoing &&
      !m.deleted &&
      m.editedAt !== undefined &&
      Date.now() - m.editedAt < EDIT_NOTICE_MS &&
      !editsTold.has(edit) &&
      mentionsOf(m).some((x) => x.user === me);
    if (mentioned) editsTold.add(edit);
    emit({
      type: 'history',
      conversationIds: [m.conversationId],
      ...(mentioned
        ? {
            incoming: [
              {
                conversationId: m.conversationId,
                id: m.id,
                sender: m.sender,
                preview: previewText(m),
                at: m.editedAt ?? m.timestamp,
                mentioned: mentionsOf(m).map((x) => x.user),
              },
            ],
          }
        : {}),
    });
  });
  // The pinned bar re-reads its list with the conversation.
  on('pins', (p) => emit({ type: 'history', conversationIds: [p.conversationId] }));
  on('receipt', (r) => {
    const known = sink.sent?.get(r.messageId);
    if (known !== undefined) {
      emit({ type: 'history', conversationIds: [known] });
      return;
    }
    void sink
      .store()
      ?.getMessage(r.messageId)
      .then((m) => {
        if (m !== null) emit({ type: 'history', conversationIds: [m.conversationId] });
      });
  });
  on('typing', (t) =>
    emit({
      type: 'typing',
      conversationId: t.conversationId,
      sender: t.user,
      typing: t.typing,
      at: t.at,
    }),
  );
  on('presence', (p) =>
    emit({
      type: 'presence',
      username: p.user,
      online: p.status === 'online',
      ...(p.status === 'offline' && p.at > 0 ? { lastSeen: p.at } : {}),
    }),
  );
  on('keyChange', (k) =>
    emit({ type: 'keyChange', username: k.user, wasVerified: k.verified || k.blocked }),
  );
  on('securityNotice', (n) =>
    emit({
      type: 'securityNotice',
      notice: {
        code: n.code,
        user: n.user,
        device: n.device,
        conversationId: n.conversationId,
        ...(n.groupId !== undefined ? { groupId: n.groupId } : {}),
        ...(n.count !== undefined ? { count: n.count } : {}),
        at: n.at,
      },
    }),
  );
  // Alerts are kept in the store before the views hear them; a run's progress (which counts
  // them) is told after its alerts, as the engine orders them, so a view that sees the progress
  // has seen every alert it includes.
  let forwarded: Promise<void> = Promise.resolve();
  on('ownKeyAlert', (a) => {
    const store = sink.store();
    if (store !== null) forwarded = forwarded.then(() => forwardOwnKeyAlert(store, a, emit));
  });
  on('ownKeyLogChecked', (status) => {
    forwarded = forwarded.then(() => emit({ type: 'ownKeyLog', status }));
  });
  on('groupChange', (c) => {
    emit({ type: 'groupChange', groupId: c.groupId, removed: c.removed.includes(sink.me() ?? '') });
    for (const u of c.added) sink.watch(u);
  });
  on('blocksChanged', (blocked) => emit({ type: 'blocks', blocked }));
  on('profile', (p) => emit({ type: 'profile', username: p.user }));
  on('connection', (c) => sink.connection(c));
  // Removed by its user on another device: the views end on the "removed" screen, whatever
  // the signed-out state that follows when the tokens are revoked (issue 19).
  on('deviceRemoved', (e) => {
    if (e.reason === 'removed') emit({ type: 'connection', state: 'removed' });
  });
  on('error', (err) => console.warn('sotto engine:', err));
  return () => {
    for (const d of detach.splice(0)) d();
  };
}
