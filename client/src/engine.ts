/**
 * The headless client engine (issue 5): one object that the web client, bots,
 * the CLI and the IoT bridge all use. `createClient` wires the injected store,
 * key server client and MQTT connector to the internal modules (account,
 * trust, sessions, messaging + outbox, receipts, groups) and exposes a small
 * API plus typed events. Documented in docs/CLIENT.md.
 */
import {
  controlTopic,
  decodeControlNotice,
  decodePresence,
  decryptStream,
  deviceClientId,
  encryptStream,
  fromBase64,
  inboxTopic,
  isWireError,
  parseTopic,
  presenceTopic,
  ready,
  thingTopic,
  toBase64,
  type DeviceKind,
} from '@sotto/crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import { ClientError } from './errors.ts';
import {
  createHttpClient,
  isApiError,
  type HttpClient,
  type HttpClientOptions,
  type Tokens,
} from './http.ts';
import { localDevice, logIn, maintainPrekeys, replaceIdentity } from './internal/account.ts';
import type {
  ClientEvents,
  ClientOptionsResolved,
  ConnectionState,
  Ctx,
} from './internal/context.ts';
import { Emitter, type TypedEvents } from './internal/emitter.ts';
import { Groups, type GroupKeyStatus } from './internal/groups.ts';
import { attachInbound, type InboundMessage } from './internal/inbound.ts';
import { createLinker, type Linker } from './internal/link.ts';
import { Mutex } from './internal/lock.ts';
import { Messaging, parseConversation } from './internal/messaging.ts';
import { Transparency, type OwnKeyAlert } from './internal/transparency.ts';
import { Directory } from './internal/trust.ts';
import { applyBackoff, brokerServers } from './internal/failover.ts';
import type { FilePayload, FileThumbnail, Payload, PayloadInput } from './payload.ts';
import type {
  AccountRecord,
  ClientStore,
  ContactRecord,
  GroupRecord,
  MessageRecord,
} from './store/types.ts';

export type { ClientEvents, ConnectionState } from './internal/context.ts';
export type {
  ApproveLinkOptions,
  ApproveLinkResult,
  BeginLinkOptions,
  LinkSession,
} from './internal/link.ts';
export type { HistoryImportResult } from './internal/history.ts';

/** Opens an MQTT connection (bind the broker URL): `(o) => mqtt.connect('mqtt://host:1883', o)`. */
export type MqttConnect = (options: IClientOptions) => MqttClient;

/** Dependencies and tunables of {@link createClient}. */
export interface CreateClientOptions {
  store: ClientStore;
  /**
   * The key server: connection options (the engine then owns the tokens and
   * refreshes them), or a ready HttpClient whose tokens the caller manages.
   */
  http: HttpClient | Omit<HttpClientOptions, 'getTokens' | 'onTokens'>;
  /** Omit for an engine that only talks HTTP (CLI one-shots that never receive). */
  mqttConnect?: MqttConnect;
  /**
   * Every broker of a cluster, in failover order (`mqtt://b1:1883`, …). The
   * options handed to `mqttConnect` then carry them as mqtt.js `servers`
   * (pass the options through): the engine connects to the first that
   * answers and, on losing it, moves to the next with backoff, keeping its
   * persistent session (docs/CLIENT.md "Brokers and failover").
   */
  brokers?: readonly string[];
  /** Clock (ms). */
  now?: () => number;
  /** Randomness for message ids and group ids. */
  random?: (n: number) => Uint8Array;
  /** Overrides of the defaults in {@link DEFAULT_OPTIONS}. */
  options?: Partial<ClientOptionsResolved>;
}

/** Default tunables. */
export const DEFAULT_OPTIONS: ClientOptionsResolved = {
  oneTimePrekeys: 50,
  oneTimeKemPrekeys: 10,
  prekeyThreshold: 20,
  signedPrekeyMaxAgeMs: 7 * 24 * 3600 * 1000,
  directoryTtlMs: 60_000,
  resendAfterMs: 30_000,
  autoDeliveredReceipts: true,
  keyTransparency: true,
};

/** Progress of a file transfer. */
export type Progress = (done: number, total: number) => void;

/** Who this device is. */
export interface AccountInfo {
  username: string;
  deviceId: string;
  kind: DeviceKind;
}

/** The engine's public surface. */
export interface SottoClient extends TypedEvents<ClientEvents> {
  /** The local database (read messages, conversations, search). */
  readonly store: ClientStore;
  /** The key server client the engine uses. */
  readonly http: HttpClient;
  /** Current account, null before register/login. */
  readonly account: AccountInfo | null;
  readonly connectionState: ConnectionState;

  /** Sign up, then log in and set up this device. */
  register(
    username: string,
    password: string,
    options?: { kind?: DeviceKind; deviceId?: string },
  ): Promise<AccountInfo>;
  /** Log in (new device: keys created and uploaded; first device: UIK created). */
  login(
    username: string,
    password: string,
    options?: { kind?: DeviceKind; deviceId?: string; resetIdentity?: boolean },
  ): Promise<AccountInfo>;
  /** Log this device out on the server and disconnect. Local state is kept. */
  logout(): Promise<void>;
  /**
   * Change the account password. Every session of the user ends (other devices must log in
   * again; the broker drops every connection of the user); this device adopts the new token
   * pair, persists it, and its MQTT connection comes back with the new token. A wrong current
   * password is `ApiError('INVALID_CREDENTIALS')` and changes nothing.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /**
   * Reset the user identity from this set-up device (the user lost their other devices, or
   * one is not theirs): after checking `password` (a wrong one is
   * `ApiError('INVALID_CREDENTIALS')` and changes nothing) this device becomes a new device
   * (new id) with a new UIK, and the key server removes every other device of the user.
   * Contacts see a key change; pairwise sessions and verification marks start over; the
   * own-key monitor does not report the replaced UIK. Messages and contacts stay. Reconnects
   * if the engine was connected. docs/CLIENT.md "Resetting the identity".
   */
  resetIdentity(password: string): Promise<AccountInfo>;
  /** Load the stored account and connect to the broker; resolves once subscribed (or after the first failure). */
  start(): Promise<void>;
  /** Disconnect and release the store. */
  close(): Promise<void>;

  /** Send text to a conversation (`dm:{user}`, `group:{id}`, or a bare username). */
  sendText(to: string, text: string, options?: { replyTo?: string }): Promise<MessageRecord>;
  /** Send any payload kind. Returns the payload as sent. */
  send(to: string, input: PayloadInput): Promise<Payload>;
  react(to: string, target: string, emoji: string | null): Promise<void>;
  edit(to: string, target: string, text: string): Promise<void>;
  deleteForEveryone(to: string, target: string): Promise<void>;
  setTyping(to: string, typing: boolean): Promise<void>;
  /**
   * Mark a conversation read locally and queue `read` receipts for its unread messages: they
   * go out batched with other receipts, within about a second (and on {@link close}).
   */
  markRead(conversationId: string): Promise<void>;
  /** Encrypt, upload and announce a file (with an optional sender-made image thumbnail). */
  sendFile(
    to: string,
    data: Uint8Array,
    meta: {
      name: string;
      mime: string;
      caption?: string;
      thumbnail?: FileThumbnail;
      onProgress?: Progress;
    },
  ): Promise<MessageRecord>;
  /** Download, verify and decrypt a file message. */
  downloadFile(message: MessageRecord | FilePayload, onProgress?: Progress): Promise<Uint8Array>;
  /** Watch a user's presence (`presence` events). */
  watchPresence(user: string): void;
  /**
   * Share this account's online / last-seen presence (default) or hide it. Stored by the key
   * server for every device of the account; brokers stop (or resume) publishing it at once.
   */
  setPresenceVisible(visible: boolean): Promise<void>;
  /** Whether this account's presence is shared, as the key server holds it. */
  presenceVisible(): Promise<boolean>;
  /** Re-send everything still waiting for a delivered receipt. */
  flushOutbox(): Promise<number>;
  /**
   * Key upkeep now (also run on every connect and hourly): top up one-time
   * prekeys below the threshold, rotate the signed prekey when it is a week old.
   */
  maintainKeys(): Promise<void>;

  groups: {
    create(name: string, members: string[]): Promise<string>;
    add(groupId: string, user: string): Promise<void>;
    remove(groupId: string, user: string): Promise<void>;
    promote(groupId: string, user: string): Promise<void>;
    /** Take admin rights away (the group must keep at least one admin). */
    demote(groupId: string, user: string): Promise<void>;
    leave(groupId: string): Promise<void>;
    /** Stored groups; `frozen` is set on one whose chain the key server forked or rolled back (sending refused: GROUP_FROZEN). */
    list(): Promise<GroupRecord[]>;
    /** Fetch and verify the chain from the key server now. */
    refresh(groupId: string): Promise<GroupRecord | null>;
    /**
     * Members whose identity key recorded in the group is not the one this device trusts (they
     * reset their identity), whether our own recorded key is the replaced one (`selfStale`),
     * and whether any admin can still re-key. Looks the members' keys up unless `lookup: false`.
     */
    keyStatus(groupId: string, options?: { lookup?: boolean }): Promise<GroupKeyStatus>;
    /**
     * Admin: remove and re-add a member whose identity key changed, with the key this device
     * trusts now (promoted again if they were admin). Done automatically for contacts whose new
     * key was adopted on first use; a verified contact's new key must be accepted first
     * (KEY_CHANGED). Also REKEY_PENDING, NOT_ADMIN, NOT_MEMBER, NO_KEY_CHANGE.
     */
    rekey(groupId: string, user: string): Promise<void>;
  };

  /** Plain MQTT of this user's IoT things (DESIGN.md §5.4): not encrypted, ACL-scoped to the owner. */
  things: {
    /** Subscribe to `iot/{me}/{thing}/#`; messages arrive as `iot` events. */
    watch(thing: string): void;
    /** Publish plain bytes on `iot/{me}/{thing}/{subtopic}` (e.g. `cmd`). */
    publish(thing: string, subtopic: string, payload: Uint8Array | string): void;
  };

  /**
   * Linking a second device of the same user (PROTOCOL.md §13). New device:
   * `begin(username, password)` shows a code and resolves `linked` once the
   * existing device approved it. Existing device (started): `approve(code)`
   * resolves once the new device's certificate is published.
   */
  link: Linker;

  trust: {
    /** 60-digit safety number with `user`. */
    safetyNumber(user: string): Promise<string>;
    setVerified(user: string, verified: boolean): Promise<void>;
    /**
     * Accept a changed identity key: unblocks sending, and the messages held since the key
     * changed (a verified contact's, PROTOCOL.md §6.7) are stored and shown, in arrival order.
     */
    acceptKeyChange(user: string): Promise<void>;
    /**
     * How many messages from `user` are held: they came under a verified contact's new identity
     * key that is not accepted yet (`securityNotice` HELD_KEY_CHANGE). Compare the new safety
     * number, then {@link acceptKeyChange} releases them.
     */
    held(user: string): Promise<number>;
    contact(user: string): Promise<ContactRecord | null>;
    /** Re-fetch a user's keys now (detects key changes). */
    refresh(user: string): Promise<void>;
    /**
     * Monitor our own key-log entries now (also on every connect, on control
     * notices about our devices, and hourly): bindings under our username that
     * this account did not make, each also raised as an `ownKeyAlert` event.
     */
    checkOwnKeys(): Promise<OwnKeyAlert[]>;
  };
}

function isHttpClient(h: CreateClientOptions['http']): h is HttpClient {
  return typeof (h as Partial<HttpClient>).login === 'function';
}

/** Seconds left on a JWT (0 if unreadable). */
function tokenSecondsLeft(token: string, nowMs: number): number {
  try {
    const part = token.split('.')[1] ?? '';
    const json = JSON.parse(new TextDecoder().decode(fromBase64(part))) as { exp?: number };
    return typeof json.exp === 'number' ? json.exp - nowMs / 1000 : 0;
  } catch {
    return 0;
  }
}

/** Create a client engine. Nothing connects until {@link SottoClient.start} (or login/register). */
export function createClient(deps: CreateClientOptions): SottoClient {
  const { store } = deps;
  // Tokens: from the login response until the account exists, then from the account.
  let pendingTokens: Tokens | null = null;
  const http: HttpClient = isHttpClient(deps.http)
    ? deps.http
    : createHttpClient({
        ...deps.http,
        getTokens: () =>
          pendingTokens ??
          (account?.accessToken && account.refreshToken
            ? { accessToken: account.accessToken, refreshToken: account.refreshToken }
            : null),
        onTokens: (t) => onTokens(t),
      });
  const now = deps.now ?? (() => Date.now());
  const random = deps.random ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  const events = new Emitter<ClientEvents>();
  let account: AccountRecord | null = null;
  let mqttClient: MqttClient | null = null;
  let state: ConnectionState = 'offline';
  const subscriptions = new Set<string>();
  const timers: ReturnType<typeof setInterval>[] = [];

  const setState = (s: ConnectionState, error?: string): void => {
    state = s;
    events.emit('connection', error === undefined ? { state: s } : { state: s, error });
  };

  /**
   * A background token refresh failed. A refused refresh token means this device's session
   * was ended elsewhere (password change, device removed, token reuse): stop reconnecting
   * with dead credentials, forget them, and say so (`signed-out`); log in again to continue.
   */
  const onRefreshFailed = (err: unknown): void => {
    if (!isApiError(err, 'INVALID_REFRESH_TOKEN')) {
      events.emit('error', err);
      return;
    }
    if (state === 'signed-out') return;
    for (const t of timers.splice(0)) clearInterval(t);
    const c = mqttClient;
    mqttClient = null;
    c?.end(true);
    if (account) {
      account = { ...account, accessToken: null, refreshToken: null };
      void store.putAccount(account).catch((e: unknown) => events.emit('error', e));
    }
    setState('signed-out', 'this device was signed out (password changed or device removed)');
  };

  const ctx: Ctx = {
    store,
    http,
    now,
    random,
    events,
    lock: new Mutex(),
    options: { ...DEFAULT_OPTIONS, ...deps.options },
    account() {
      if (!account)
        throw new ClientError('NOT_REGISTERED', 'no account on this device: register or log in');
      return account;
    },
    local() {
      return localDevice(ctx.account());
    },
    publish(topic, bytes) {
      if (!mqttClient) return; // Stays in the outbox; sent on start.
      mqttClient.publish(
        topic,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        { qos: 1 },
        (err) => {
          if (err) events.emit('error', err);
        },
      );
    },
    subscribe(topic) {
      if (subscriptions.has(topic)) return;
      subscriptions.add(topic);
      mqttClient?.subscribe(topic, { qos: 1 }, (err, granted) => {
        if (err) events.emit('error', err);
        if (granted?.some((g) => g.qos === 128))
          events.emit('error', new Error(`subscription refused: ${topic}`));
      });
    },
    unsubscribe(topic) {
      if (!subscriptions.delete(topic)) return;
      mqttClient?.unsubscribe(topic);
    },
  };

  // The HTTP client reads tokens from the account; refreshed pairs are persisted.
  const transparency = ctx.options.keyTransparency ? new Transparency(ctx) : null;
  const directory = new Directory(ctx, transparency);
  // One own-key monitor run at a time, so a leaf is never reported twice.
  let monitoring: Promise<OwnKeyAlert[]> = Promise.resolve([]);
  const checkOwnKeys = (): Promise<OwnKeyAlert[]> => {
    const run = async (): Promise<OwnKeyAlert[]> => {
      if (!transparency) return [];
      const a = ctx.account();
      const alerts = await transparency.monitor(a.username, a.uik.publicKey);
      for (const alert of alerts) events.emit('ownKeyAlert', alert);
      return alerts;
    };
    monitoring = monitoring.then(run, run);
    return monitoring;
  };
  const monitorInBackground = (): void =>
    void checkOwnKeys().catch((e: unknown) => events.emit('error', e));
  // eslint-disable-next-line prefer-const -- assigned after messaging, which needs hooks into it
  let groups: Groups;
  const messaging = new Messaging(ctx, directory, {
    acceptSenderKey: (p, origin, ops) => groups.acceptSenderKey(p, origin, ops),
    afterSenderKey: (groupId) =>
      void groups.retryPending(groupId).catch((e: unknown) => events.emit('error', e)),
    isMember: (groupId, user) => groups.isMember(groupId, user),
    resendGroup: (groupId, messageId, plaintext) => groups.resend(groupId, messageId, plaintext),
    applyGroupChange: (p, origin, ops, fx) => groups.applyChangeNotice(p, origin, ops, fx),
  });
  groups = new Groups(ctx, directory, messaging);
  const linker = createLinker(ctx, {
    directory,
    refreshGroup: (groupId) => groups.refresh(groupId),
    mqttConnect: deps.mqttConnect,
    brokers: deps.brokers,
    isConnected: () => mqttClient !== null,
    pendingTokens: { get: () => pendingTokens, set: (t) => (pendingTokens = t) },
    adopt: (a) => (account = a),
  });

  async function onTokens(t: Tokens): Promise<void> {
    if (!account || pendingTokens) {
      // A device waiting to be linked, or one resetting its identity, refreshed its login
      // tokens: keep the new pair (the stored account still holds the old device's).
      if (pendingTokens) pendingTokens = t;
      return;
    }
    account = { ...account, accessToken: t.accessToken, refreshToken: t.refreshToken };
    await store.putAccount(account);
    if (mqttClient) mqttClient.options.password = t.accessToken;
  }

  async function freshToken(): Promise<string> {
    const a = ctx.account();
    if (!a.accessToken || tokenSecondsLeft(a.accessToken, now()) < 60) await http.refresh();
    return ctx.account().accessToken!;
  }

  async function dispatch(topic: string, payload: Uint8Array): Promise<void> {
    const parsed = parseTopic(topic);
    if (!parsed) return;
    switch (parsed.kind) {
      case 'inbox': {
        await messaging.handleInbox(payload);
        return;
      }
      case 'group': {
        await groups.handleGroupEnvelope(parsed.groupId, payload);
        return;
      }
      case 'control': {
        try {
          const notice = decodeControlNotice(payload);
          switch (notice.type) {
            case 'group-changed':
              await groups.refresh(notice.groupId);
              break;
            case 'device-removed':
              monitorInBackground();
              break;
            case 'prekeys-low': {
              // Claims took our one-time prekeys below the key server's low-water mark (issue 14):
              // top up now rather than at the next hourly upkeep, so first messages keep getting
              // one-time keys instead of the last-resort KEM prekey.
              await maintainPrekeys(ctx);
              const me = ctx.account();
              events.emit('securityNotice', {
                code: 'PREKEYS_DRAINED',
                user: me.username,
                device: me.deviceId,
                conversationId: null,
                message: 'one-time prekeys are being claimed unusually fast; replenished',
                at: now(),
              });
              break;
            }
          }
        } catch (err) {
          // Notice kinds of a newer key server are ignored (docs/PROTOCOL.md §7).
          if (!isWireError(err, 'UNKNOWN_TYPE')) events.emit('error', err);
        }
        return;
      }
      case 'presence': {
        try {
          // An empty payload (null) clears the retained status: the user hid their presence.
          const p = decodePresence(payload);
          events.emit(
            'presence',
            p
              ? { user: parsed.user, status: p.status, at: p.at }
              : { user: parsed.user, status: 'hidden', at: now() },
          );
        } catch (err) {
          events.emit('error', err);
        }
        return;
      }
      case 'iot': {
        events.emit('iot', {
          owner: parsed.owner,
          thing: parsed.thing,
          subtopic: parsed.rest,
          payload,
        });
        return;
      }
      default:
        return;
    }
  }

  /**
   * Messages that arrived together, in order: a run of inbox envelopes goes as one batch, and so
   * does a run of group envelopes (any groups); everything else one at a time.
   */
  async function dispatchBatch(batch: InboundMessage[]): Promise<void> {
    const kinds = batch.map((m) => parseTopic(m.topic));
    for (let i = 0; i < batch.length;) {
      const kind = kinds[i]?.kind;
      let j = i + 1;
      if (kind === 'inbox' || kind === 'group') {
        while (j < batch.length && kinds[j]?.kind === kind) j++;
      }
      try {
        if (kind === 'inbox') {
          await messaging.handleInboxBatch(batch.slice(i, j).map((x) => x.payload));
        } else if (kind === 'group') {
          const run: { groupId: string; envelope: Uint8Array }[] = [];
          for (let k = i; k < j; k++) {
            const t = kinds[k];
            if (t?.kind === 'group') run.push({ groupId: t.groupId, envelope: batch[k]!.payload });
          }
          await groups.handleGroupBatch(run);
        } else await dispatch(batch[i]!.topic, batch[i]!.payload);
      } catch (err) {
        events.emit('error', err);
      }
      i = j;
    }
  }

  async function connect(): Promise<void> {
    const connectFn = deps.mqttConnect;
    if (!connectFn || mqttClient) return;
    const a = ctx.account();
    const password = await freshToken();
    const clientId = deviceClientId(a.username, a.deviceId);
    subscriptions.add(inboxTopic(a.username, a.deviceId));
    subscriptions.add(controlTopic(a.username, a.deviceId));
    for (const g of await store.listGroups()) {
      if (g.members.includes(a.username)) subscriptions.add(`sotto/v1/group/${g.groupId}`);
    }
    setState('connecting');
    const servers = deps.brokers ? brokerServers(deps.brokers) : null;
    const client = connectFn({
      ...(servers ? { servers } : {}),
      clientId,
      username: clientId,
      password,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      reconnectOnConnackError: true,
      resubscribe: true,
    });
    mqttClient = client;
    const period = client.options.reconnectPeriod ?? 0;
    if (servers && period > 0)
      applyBackoff(client, servers.length, { baseMs: period, maxMs: 30_000 });
    // Acknowledge (PUBACK) only after the message is processed and stored; messages that queue
    // up meanwhile are handled as one batch (internal/inbound.ts).
    attachInbound(client, dispatchBatch, (err) => events.emit('error', err));
    let first = true;
    let failedAttempts = 0;
    const ready = new Promise<void>((resolve) => {
      client.on('connect', (connack) => {
        const topics = [...subscriptions];
        client.subscribe(topics, { qos: 1 }, (err, granted) => {
          if (err) events.emit('error', err);
          for (const g of granted ?? []) {
            if (g.qos === 128) events.emit('error', new Error(`subscription refused: ${g.topic}`));
          }
          setState('online');
          if (first) {
            first = false;
            resolve();
          }
          // Reconnected: anything not acknowledged end to end goes out again.
          void messaging.flushOutbox(0).catch((e: unknown) => events.emit('error', e));
          void maintainPrekeys(ctx).catch((e: unknown) => events.emit('error', e));
          monitorInBackground();
        });
        void connack;
      });
      client.on('error', (err) => {
        const code = (err as { code?: number }).code;
        setState('offline', err.message);
        // Bad credentials (expired/revoked token): refresh before the next attempt.
        if (code === 4 || code === 5 || code === 134 || code === 135) {
          void http.refresh().catch(onRefreshFailed);
        }
        // With several brokers, give up waiting only once each has been tried.
        if (first && ++failedAttempts >= (servers?.length ?? 1)) {
          first = false;
          resolve();
        }
      });
    });
    client.on('offline', () => setState('offline'));
    client.on('reconnect', () => {
      setState('connecting');
      const a2 = account;
      if (a2?.accessToken && tokenSecondsLeft(a2.accessToken, now()) < 30) {
        void http.refresh().catch(onRefreshFailed);
      }
    });
    // Keep the MQTT password fresh before expiry (the broker disconnects expired tokens).
    timers.push(
      setInterval(() => {
        const a2 = account;
        if (a2?.accessToken && tokenSecondsLeft(a2.accessToken, now()) < 120) {
          void http.refresh().catch(onRefreshFailed);
        }
      }, 30_000),
    );
    timers.push(
      setInterval(() => {
        void messaging
          .flushOutbox(ctx.options.resendAfterMs)
          .catch((e: unknown) => events.emit('error', e));
      }, ctx.options.resendAfterMs),
    );
    timers.push(
      setInterval(() => {
        void maintainPrekeys(ctx).catch((e: unknown) => events.emit('error', e));
        monitorInBackground();
        void store
          .pruneSeen(now() - 30 * 24 * 3600 * 1000)
          .catch((e: unknown) => events.emit('error', e));
      }, 3600_000),
    );
    for (const t of timers) (t as { unref?: () => void }).unref?.();
    await ready;
  }

  function resolveTarget(
    to: string,
  ): { type: 'dm'; user: string } | { type: 'group'; groupId: string } {
    if (to.startsWith('dm:') || to.startsWith('group:')) return parseConversation(to);
    return { type: 'dm', user: to };
  }

  async function sendTo(to: string, input: PayloadInput): Promise<Payload> {
    const t = resolveTarget(to);
    return t.type === 'dm' ? messaging.sendDirect(t.user, input) : groups.send(t.groupId, input);
  }

  const info = (): AccountInfo | null =>
    account ? { username: account.username, deviceId: account.deviceId, kind: account.kind } : null;

  const client: SottoClient = {
    store,
    http,
    get account() {
      return info();
    },
    get connectionState() {
      return state;
    },
    on: (e, l) => events.on(e, l),
    off: (e, l) => events.off(e, l),
    once: (e, l) => events.once(e, l),

    async register(username, password, options = {}) {
      await ready();
      await http.signUp(username, password);
      return client.login(username, password, options);
    },
    async login(username, password, options = {}) {
      await ready();
      try {
        account = await logIn(ctx, username, password, options, (t) => {
          // Tokens from the login call, before the account record exists.
          pendingTokens = t;
        });
      } finally {
        pendingTokens = null;
      }
      return info()!;
    },
    async logout() {
      await http.logout();
      await client.close();
      if (account) {
        account = { ...account, accessToken: null, refreshToken: null };
        await store.putAccount(account);
      }
    },
    async changePassword(currentPassword, newPassword) {
      await ready();
      account ??= await store.getAccount();
      if (!account?.refreshToken)
        throw new ClientError('NOT_REGISTERED', 'not logged in on this device: log in first');
      // The new pair reaches onTokens, which persists it and sets the MQTT password the
      // reconnect after the broker's user-revoked disconnect presents.
      await http.changePassword(currentPassword, newPassword);
    },
    async resetIdentity(password) {
      await ready();
      account ??= await store.getAccount();
      const old = account;
      if (!old?.certificate || !old.refreshToken)
        throw new ClientError('NOT_REGISTERED', 'not logged in on this device: log in first');
      const wasConnected = mqttClient !== null;
      // Report anything logged under the old identity first: afterwards those leaves are history.
      await checkOwnKeys().catch((e: unknown) => events.emit('error', e));
      let replaced;
      // A run under the old UIK must not save the monitor's state after the reset does.
      await monitoring.catch(() => []);
      try {
        replaced = await replaceIdentity(ctx, old, password, async (tokens) => {
          pendingTokens = tokens;
          // The upload ends the old device id's session: leave its connection first, so
          // nothing reconnects with its revoked tokens.
          for (const t of timers.splice(0)) clearInterval(t);
          const c = mqttClient;
          mqttClient = null;
          if (c) {
            await Promise.race([c.endAsync(), new Promise((r) => setTimeout(r, 2000))]);
            if (!c.disconnected) c.end(true);
          }
        });
      } catch (err) {
        pendingTokens = null;
        if (wasConnected && !mqttClient)
          await connect().catch((e: unknown) => events.emit('error', e));
        throw err;
      }
      const next = replaced.account;
      // A refresh during the upload rotated the new device's pair: keep the newest.
      const t = pendingTokens ?? next;
      const adopted: AccountRecord = {
        ...next,
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
      };
      await ctx.lock.run(async () => {
        await store.batch([...replaced.ops, { op: 'putAccount', account: adopted }]);
        account = adopted;
        pendingTokens = null;
      });
      subscriptions.delete(inboxTopic(old.username, old.deviceId));
      subscriptions.delete(controlTopic(old.username, old.deviceId));
      directory.invalidate();
      if (wasConnected) await connect();
      // The groups still record the old key: show the admins the new one so they re-key us.
      void groups.announceReset().catch((e: unknown) => events.emit('error', e));
      return info()!;
    },
    async start() {
      await ready();
      account ??= await store.getAccount();
      if (!account)
        throw new ClientError('NOT_REGISTERED', 'no account on this device: register or log in');
      await connect();
      // History blobs of earlier links whose grace period is over (PROTOCOL.md §13).
      void linker.sweep().catch((e: unknown) => events.emit('error', e));
    },
    async close() {
      linker.close();
      for (const t of timers.splice(0)) clearInterval(t);
      // Receipts still waiting for their batch go out before the connection ends.
      if (mqttClient && messaging.receipts.pending > 0)
        await Promise.race([messaging.receipts.flush(), new Promise((r) => setTimeout(r, 2000))]);
      messaging.receipts.stop();
      const c = mqttClient;
      mqttClient = null;
      // A graceful DISCONNECT (no will message), but never hang on a dead broker.
      if (c) {
        await Promise.race([c.endAsync(), new Promise((r) => setTimeout(r, 2000))]);
        if (!c.disconnected) c.end(true);
      }
      setState('closed');
    },

    async sendText(to, text, options = {}) {
      const input: PayloadInput = options.replyTo
        ? { kind: 'reply', text, replyTo: options.replyTo }
        : { kind: 'text', text };
      const p = await sendTo(to, input);
      return (await store.getMessage(p.id))!;
    },
    send: sendTo,
    async react(to, target, emoji) {
      await sendTo(to, { kind: 'reaction', target, emoji });
    },
    async edit(to, target, text) {
      await sendTo(to, { kind: 'edit', target, text });
    },
    async deleteForEveryone(to, target) {
      await sendTo(to, { kind: 'delete', target });
    },
    async setTyping(to, typing) {
      const t = resolveTarget(to);
      if (t.type === 'dm') await messaging.sendTypingDirect(t.user, typing);
      else await groups.sendTyping(t.groupId, typing);
    },
    async markRead(conversationId) {
      // Under the receive lock: a message stored between listing and marking
      // would otherwise turn read without its read receipt.
      const unread = await ctx.lock.run(async () => {
        const list = await store.listUnread(conversationId);
        if (list.length) await store.batch([{ op: 'markConversationRead', conversationId }]);
        return list;
      });
      // Batched with other receipts (internal/receipts.ts): a conversation read again and
      // again during a burst costs about one receipt per sender device per second.
      for (const m of unread) messaging.receipts.add(m.sender, m.senderDevice, 'read', m.id);
    },
    async sendFile(to, data, meta) {
      const total = data.length;
      let fed = 0;
      function* source(): Generator<Uint8Array> {
        for (let i = 0; i < total; i += 64 * 1024) {
          const piece = data.subarray(i, Math.min(total, i + 64 * 1024));
          fed += piece.length;
          meta.onProgress?.(fed, total);
          yield piece;
        }
        if (total === 0) yield new Uint8Array(0);
      }
      const stream = encryptStream(source());
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const c of stream.ciphertext) {
        parts.push(c);
        size += c.length;
      }
      const blob = new Uint8Array(size);
      let off = 0;
      for (const p of parts) {
        blob.set(p, off);
        off += p.length;
      }
      const { id } = await http.uploadBlob(blob);
      const p = await sendTo(to, {
        kind: 'file',
        blobId: id,
        name: meta.name,
        mime: meta.mime,
        size: total,
        key: toBase64(stream.key),
        hash: toBase64(stream.digest()),
        ...(meta.caption !== undefined ? { caption: meta.caption } : {}),
        ...(meta.thumbnail !== undefined ? { thumbnail: meta.thumbnail } : {}),
      });
      return (await store.getMessage(p.id))!;
    },
    async downloadFile(m, onProgress) {
      const f = 'body' in m ? (m.body as unknown as FilePayload) : m;
      const blob = await http.downloadBlob(f.blobId);
      const out = new Uint8Array(f.size);
      let off = 0;
      function* chunks(): Generator<Uint8Array> {
        for (let i = 0; i < blob.length; i += 64 * 1024) yield blob.subarray(i, i + 64 * 1024);
      }
      for await (const piece of decryptStream(chunks(), fromBase64(f.key), fromBase64(f.hash))) {
        if (off + piece.length > out.length)
          throw new ClientError('HASH_MISMATCH', 'file is larger than announced');
        out.set(piece, off);
        off += piece.length;
        onProgress?.(off, f.size);
      }
      if (off !== f.size) throw new ClientError('HASH_MISMATCH', 'file is smaller than announced');
      return out;
    },
    watchPresence(user) {
      ctx.subscribe(presenceTopic(user));
    },
    async setPresenceVisible(visible) {
      await http.updateSettings({ presenceVisible: visible });
    },
    async presenceVisible() {
      return (await http.getSettings()).presenceVisible;
    },
    flushOutbox: () => messaging.flushOutbox(0),
    maintainKeys: () => maintainPrekeys(ctx),

    groups: {
      create: (name, members) => groups.create(name, members),
      add: (groupId, user) => groups.change(groupId, 'add', user),
      remove: (groupId, user) => groups.change(groupId, 'remove', user),
      promote: (groupId, user) => groups.change(groupId, 'promote', user),
      demote: (groupId, user) => groups.change(groupId, 'demote', user),
      leave: (groupId) => groups.change(groupId, 'leave'),
      list: () => store.listGroups(),
      refresh: (groupId) => groups.refresh(groupId),
      keyStatus: (groupId, options) => groups.keyStatus(groupId, options),
      rekey: (groupId, user) => groups.rekey(groupId, user),
    },
    link: linker,
    things: {
      watch(thing) {
        ctx.subscribe(thingTopic(ctx.account().username, thing, '#'));
      },
      publish(thing, subtopic, payload) {
        const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
        ctx.publish(thingTopic(ctx.account().username, thing, ...subtopic.split('/')), bytes);
      },
    },
    trust: {
      safetyNumber: (user) => directory.safetyNumber(user),
      setVerified: (user, verified) => directory.setVerified(user, verified),
      async acceptKeyChange(user) {
        await directory.acceptKeyChange(user);
        await messaging.releaseHeld(user);
      },
      held: (user) => messaging.heldCount(user),
      contact: (user) => store.getContact(user),
      async refresh(user) {
        directory.invalidate(user);
        await directory.devices(user, true);
      },
      checkOwnKeys,
    },
  };
  return client;
}
