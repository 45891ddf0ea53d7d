/**
 * What the service worker does with a wake-up push while no page of the app runs (docs/WEB.md
 * "Notifications when Sotto is closed", docs/SECURITY.md "Web Push"): it runs the engine itself
 * for a moment — the page's engine, on the page's sealed store — to fetch what the broker queued,
 * decrypt it, store it, and say what the notifications are.
 *
 * - Under the account's engine lock (`engine-lock.ts`), never beside a page's engine: two
 *   engines would advance the same ratchets and spend the same refresh token. A page holding it
 *   runs its engine and notifies by itself.
 * - Only without the app lock: the store's key is then wrapped by this browser's non-extractable
 *   device key, which the worker can use like the page; with the lock, only the passphrase opens
 *   it, and the worker can say no more than "New message".
 * - What a notification says comes only from messages the engine decrypted and verified in this
 *   run ([PUSH-1]). The push body is the push service's or the key server's word, not the
 *   sender's: it chooses nothing that is shown.
 */
import mqtt from 'mqtt';
import { createClient, parseConversation, type MessageRecord } from '@sotto/client';
import { createDexieStore, isDexieStoreLocked } from '@sotto/client/dexie';
import type { ClientStore } from '../services/engine-types.ts';
import { acquireEngineLock } from '../services/engine-lock.ts';
import {
  CONVERSATION_PREFS_SETTING,
  HIDE_CONTENT_SETTING,
  mentions,
  mutedUntilOf,
  noticeText,
  previewText,
  uiSettingKey,
  type ConversationPref,
} from '../services/notify-rules.ts';
import { dbNameFor } from '../services/store-names.ts';
import { wakeAccount } from '../services/wake-account.ts';

/** How long a wake-up listens (ms). */
export interface WakeTiming {
  /**
   * Done once nothing arrived for this long: the broker hands a persistent session's queue over
   * right after the connection, so a pause means the queue is through.
   */
  quietMs: number;
  /** Done after this long whatever still arrives (the browser stops a worker after a while). */
  maxMs: number;
  /**
   * How long to wait for the engine lock: a page that is closing lets go of it at once, an
   * earlier wake-up within seconds; a page whose engine runs keeps it (and notifies itself).
   */
  lockWaitMs: number;
}

/** The timing the worker uses. */
export const WAKE_TIMING: WakeTiming = { quietMs: 1500, maxMs: 20_000, lockWaitMs: 10_000 };

/** One notification to show. */
export interface WakeNotice {
  title: string;
  body: string;
  /** The conversation it is about (also its tag: one notification per conversation). */
  conversation: string;
}

/** What a wake-up came to. */
export type WakeOutcome =
  /** Another engine kept the lock (a page's: it fetches and notifies by itself). */
  | { kind: 'page' }
  /** The store could not be opened or the server not reached: the generic notice. */
  | { kind: 'generic'; reason: string }
  /** Fetched and stored; these notifications (none: nothing new, or all of it muted). */
  | { kind: 'fetched'; notices: WakeNotice[] };

/**
 * Run the engine until the queue is through; null when it did not get online within
 * `timing.maxMs`.
 *
 * "Through" is a quiet spell with nothing in hand: no packet from the broker for
 * `timing.quietMs` and every message it sent acknowledged — the engine sends a message's PUBACK
 * only once it is decrypted and stored (client `inbound.ts`), so a batch still being processed
 * on a slow machine (its first message from someone is a session to set up, the store a
 * transaction to commit) is waited for rather than cut off half-way.
 */
export async function fetchQueued(
  store: ClientStore,
  origin: string,
  timing: WakeTiming,
): Promise<MessageRecord[] | null> {
  const wsUrl = `${origin.replace(/^http/, 'ws')}/mqtt`;
  let last = Date.now();
  const activity = (): void => void (last = Date.now());
  /** PUBLISHes (QoS 1) received on the current connection and not yet acknowledged. */
  let unacked = 0;
  const client = createClient({
    store,
    http: { baseUrl: origin },
    mqttConnect: (o) => {
      const mq = mqtt.connect(wsUrl, o);
      mq.on('packetreceive', (p) => {
        activity();
        if (p.cmd === 'publish' && (p.qos ?? 0) > 0) unacked++;
      });
      mq.on('packetsend', (p) => {
        if (p.cmd === 'puback') unacked = Math.max(0, unacked - 1);
      });
      // What was not acknowledged comes again on the next connection (persistent session).
      mq.on('close', () => void (unacked = 0));
      return mq;
    },
  });
  const received: MessageRecord[] = [];
  let online = false;
  const onMessage = (m: MessageRecord): void => {
    activity();
    // Someone's message, decrypted and verified by the engine ([PUSH-1]); not a message this
    // account sent from another device, not a timeline notice the engine wrote itself.
    if (!m.outgoing && m.kind !== 'notice') received.push(m);
  };
  const onConnection = (c: { state: string }): void => {
    if (c.state !== 'online') return;
    online = true;
    activity();
  };
  const events = ['messageUpdate', 'receipt', 'typing', 'groupChange'] as const;
  client.on('message', onMessage);
  client.on('connection', onConnection);
  for (const e of events) client.on(e, activity);
  const end = Date.now() + timing.maxMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // A key server or broker that never answers must not keep the lock (and the worker) forever;
    // a start that ends after all is closed at once.
    const started = client.start();
    const inTime = await Promise.race([
      started.then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), timing.maxMs))),
    ]);
    if (!inTime) void started.then(() => client.close()).catch(() => undefined);
    if (!online) return null;
    const pause = Math.min(250, timing.quietMs);
    while ((unacked > 0 || Date.now() - last < timing.quietMs) && Date.now() < end)
      await new Promise((r) => setTimeout(r, pause));
    return received;
  } finally {
    clearTimeout(timer);
    // Sends the delivered receipts of what arrived, then a clean DISCONNECT.
    await client.close().catch(() => undefined);
    client.off('message', onMessage);
    client.off('connection', onConnection);
    for (const e of events) client.off(e, activity);
  }
}

/**
 * The notifications of `received`: the newest message of each conversation that is not muted
 * (a message mentioning this account notifies anyway), named after the conversation, its text
 * left out under "hide message content".
 */
export async function noticesFor(
  store: ClientStore,
  me: string,
  received: readonly MessageRecord[],
  now = Date.now(),
): Promise<WakeNotice[]> {
  const prefs =
    (await store.getSetting<Record<string, ConversationPref>>(
      uiSettingKey(CONVERSATION_PREFS_SETTING),
    )) ?? {};
  const hideContent =
    (await store.getSetting<boolean>(uiSettingKey(HIDE_CONTENT_SETTING))) === true;
  const newest = new Map<string, MessageRecord>();
  for (const m of received) {
    if (mutedUntilOf(prefs, m.conversationId, now) !== 0 && !mentions(m, me)) continue;
    const seen = newest.get(m.conversationId);
    if (seen === undefined || seen.timestamp <= m.timestamp) newest.set(m.conversationId, m);
  }
  const notices: WakeNotice[] = [];
  for (const m of newest.values()) {
    const c = parseConversation(m.conversationId);
    const groupId = c.type === 'group' ? c.groupId : null;
    const name = groupId === null ? m.sender : ((await store.getGroup(groupId))?.name ?? m.sender);
    const text = noticeText(name, m.sender, previewText(m), {
      group: groupId !== null,
      hideContent,
    });
    notices.push({ ...text, conversation: m.conversationId });
  }
  return notices;
}

/** Handle one wake-up for the account this browser resumes (`wake-account.ts`). */
export async function wake(origin: string, timing: WakeTiming = WAKE_TIMING): Promise<WakeOutcome> {
  const username = await wakeAccount();
  if (username === null) return { kind: 'generic', reason: 'no account on this browser' };
  const lock = await acquireEngineLock(username, { waitMs: timing.lockWaitMs });
  if (lock === null) return { kind: 'page' };
  try {
    const name = dbNameFor(username);
    if (await isDexieStoreLocked(name)) return { kind: 'generic', reason: 'app lock' };
    const store = createDexieStore({ name });
    try {
      const account = await store.getAccount();
      if (account?.refreshToken == null) return { kind: 'generic', reason: 'signed out' };
      const received = await fetchQueued(store, origin, timing);
      if (received === null) return { kind: 'generic', reason: 'server not reached' };
      return { kind: 'fetched', notices: await noticesFor(store, username, received) };
    } finally {
      await store.close().catch(() => undefined);
    }
  } finally {
    lock.release();
  }
}
