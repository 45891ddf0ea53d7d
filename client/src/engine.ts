/**
 * The headless client engine (issue 5): one object that the web client, bots, the CLI and the
 * IoT bridge all use. `createClient` is a thin façade: it builds the layers once, each handed
 * what it needs (docs/CLIENT.md "Architecture"):
 *
 *   transport → dispatch → receive/inbox, groups/receive → apply/ → pairwise, groups, outbox
 *
 * and maps the public API ({@link SottoClient}, api.ts) onto them, plus the orchestration that
 * spans layers: start/close, the upkeep timers, and the identity reset. Documented in
 * docs/CLIENT.md.
 */
import {
  controlTopic,
  groupTopic,
  inboxTopic,
  presenceTopic,
  ready,
  thingTopic,
  utf8,
} from '@sotto/crypto';
import type { AccountInfo, CreateClientOptions, SottoClient } from './api.ts';
import { DEFAULT_OPTIONS } from './api.ts';
import { createSecurityApi } from './security-api.ts';
import { ClientError } from './errors.ts';
import { localDevice, logIn, maintainPrekeys, replaceIdentity } from './internal/account.ts';
import { Applier } from './internal/apply/index.ts';
import { Calls } from './internal/calls.ts';
import { receiveBatchOption } from './internal/inbound.ts';
import { ContactRenames } from './internal/contact-rename.ts';
import type { ClientEvents, Ctx, OwnKeyAlert } from './internal/context.ts';
import { dmConversation, groupConversation, parseConversation } from './internal/conversation.ts';
import { createDispatch } from './internal/dispatch.ts';
import { Emitter } from './internal/emitter.ts';
import { downloadFile, sendFile } from './internal/files.ts';
import { forwardMessage } from './internal/forward.ts';
import { createPinsApi } from './internal/pins.ts';
import { GroupAdmin } from './internal/groups/admin.ts';
import { GroupChain } from './internal/groups/chain.ts';
import { GroupRooms } from './internal/groups/rooms.ts';
import { GroupReceiver } from './internal/groups/receive.ts';
import { GroupSender } from './internal/groups/send.ts';
import { createLinker } from './internal/link.ts';
import { Mutex } from './internal/lock.ts';
import { Outbox } from './internal/outbox.ts';
import { Pairwise } from './internal/pairwise.ts';
import { Profiles, checkDisplayName } from './internal/profiles.ts';
import { createRenamer } from './internal/rename.ts';
import { InboxReceiver } from './internal/receive/inbox.ts';
import { Safety } from './internal/safety.ts';
import { Transparency } from './internal/transparency.ts';
import { createTransport } from './internal/transport.ts';
import { Directory } from './internal/trust.ts';
import type { Payload, PayloadInput } from './payload.ts';
import type { AccountRecord, MessageRecord } from './store/types.ts';

export * from './api.ts';
export type { CallSignal, ClientEvents, ConnectionState } from './internal/context.ts';
export type { CallInput } from './internal/calls.ts';
export type { CallNote } from './internal/apply/call.ts';
export type {
  ApproveLinkOptions,
  ApproveLinkResult,
  BeginLinkOptions,
  LinkSession,
} from './internal/link.ts';
export type { HistoryImportResult } from './internal/history.ts';

/** How long seen message ids are remembered (duplicates older than this are not recognised). */
const SEEN_TTL_MS = 30 * 24 * 3600 * 1000;
/** Key upkeep, own-key monitoring and pruning. */
const UPKEEP_MS = 3600_000;

/** Create a client engine. Nothing connects until {@link SottoClient.start} (or login/register). */
export function createClient(deps: CreateClientOptions): SottoClient {
  const { store } = deps;
  const now = deps.now ?? (() => Date.now());
  const random = deps.random ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));
  const events = new Emitter<ClientEvents>();
  const report = (e: unknown): void => void events.emit('error', e);

  // Layer 1: tokens and the MQTT connection.
  const transport = createTransport({
    store,
    http: deps.http,
    mqttConnect: deps.mqttConnect,
    brokers: deps.brokers,
    now,
    events,
  });
  const { http } = transport;
  const options = { ...DEFAULT_OPTIONS, ...deps.options };
  receiveBatchOption(options.receiveBatch);
  const ctx: Ctx = {
    store,
    http,
    now,
    random,
    events,
    lock: new Mutex(),
    options,
    ...(deps.trace ? { trace: deps.trace } : {}),
    account() {
      const a = transport.account;
      if (!a)
        throw new ClientError('NOT_REGISTERED', 'no account on this device: register or log in');
      return a;
    },
    local: () => localDevice(ctx.account()),
    publish: (topic, bytes) => transport.publish(topic, bytes),
    published: () => transport.published(),
    inboundBacklog: () => transport.inboundBacklog(),
    subscribe: (topic) => transport.subscribe(topic),
    unsubscribe: (topic) => transport.unsubscribe(topic),
  };

  // Trust: the directory (every fetched device list verified) and the own-key monitor.
  const transparency = ctx.options.keyTransparency ? new Transparency(ctx) : null;
  const directory = new Directory(ctx, transparency, new ContactRenames(ctx, transparency));
  // One own-key monitor run at a time, so a leaf is never reported twice.
  let monitoring: Promise<OwnKeyAlert[]> = Promise.resolve([]);
  const checkOwnKeys = (): Promise<OwnKeyAlert[]> => {
    const run = async (): Promise<OwnKeyAlert[]> => {
      if (!transparency) return [];
      const a = ctx.account();
      const { alerts, checked } = await transparency.monitor(a.username, a.uik.publicKey);
      for (const alert of alerts) events.emit('ownKeyAlert', alert);
      if (checked) events.emit('ownKeyLogChecked', checked);
      return alerts;
    };
    monitoring = monitoring.then(run, run);
    return monitoring;
  };
  const monitorInBackground = (): void => void checkOwnKeys().catch(report);

  // Sending: pairwise, then groups on top of it, then the outbox that re-sends through both.
  const pairwise = new Pairwise(ctx, directory);
  const chain = new GroupChain(ctx);
  const groupSender = new GroupSender(ctx, directory, chain, pairwise);
  const groupAdmin = new GroupAdmin(ctx, directory, chain, pairwise);
  const rooms = new GroupRooms(ctx, chain);
  const outbox = new Outbox(ctx, pairwise, groupSender);
  const calls = new Calls(ctx, directory, pairwise);
  // Receiving: the apply handlers, the two receivers, and dispatch by topic.
  const safety = new Safety(ctx, pairwise);
  const applier = new Applier({
    ctx,
    directory,
    pairwise,
    chain,
    outbox,
    isBlocked: (u) => safety.isBlocked(u),
  });
  const groupReceiver = new GroupReceiver(ctx, directory, applier, pairwise.receipts);
  const profiles = new Profiles(ctx, {
    direct: (user, input) => pairwise.sendDirect(user, input),
    group: (groupId, input) => groupSender.send(groupId, input),
    users: (users, input) => pairwise.sendToUsers(users, input),
    isBlocked: (u) => safety.isBlocked(u),
  });
  /** Our profile follows our first message into a conversation, and into a group that grew. */
  const shareProfile = (conversationId: string): void =>
    void profiles.share(conversationId).catch(report);
  events.on('groupChange', (g) => {
    if (g.added.length > 0) shareProfile(groupConversation(g.groupId));
  });
  const inbox = new InboxReceiver(
    ctx,
    directory,
    applier,
    outbox,
    pairwise.receipts,
    groupReceiver,
  );
  const dispatch = createDispatch({
    ctx,
    directory,
    inbox,
    groups: groupReceiver,
    chain,
    monitorOwnKeys: monitorInBackground,
    reloadBlocks: () => safety.load(),
  });
  const linker = createLinker(ctx, {
    directory,
    refreshGroup: (groupId) => chain.refresh(groupId),
    mqttConnect: deps.mqttConnect,
    brokers: deps.brokers,
    isConnected: () => transport.connected,
    pendingTokens: {
      get: () => transport.pendingTokens,
      set: (t) => (transport.pendingTokens = t),
    },
    adopt: (a) => (transport.account = a),
  });

  async function connect(): Promise<void> {
    if (!deps.mqttConnect || transport.connected) return;
    const a = ctx.account();
    const topics = [inboxTopic(a.username, a.deviceId), controlTopic(a.username, a.deviceId)];
    for (const g of await store.listGroups()) {
      if (g.members.includes(a.username)) topics.push(groupTopic(g.groupId));
    }
    await transport.connect({
      topics,
      onMessages: dispatch,
      batchSize: ctx.options.receiveBatch,
      onOnline() {
        // A rename whose group records did not all go out (PROTOCOL.md §3.3): try again.
        void finishRename().catch(report);
        // The block list may have changed while we were away (the notice may be gone).
        void safety.load().catch(report);
        // Reconnected: anything not acknowledged end to end goes out again.
        void outbox.flushOutbox(0).catch(report);
        void maintainPrekeys(ctx).catch(report);
        monitorInBackground();
      },
      timers: [
        {
          ms: ctx.options.resendAfterMs,
          run: () => void outbox.resendDue(ctx.options.resendAfterMs).catch(report),
        },
        {
          ms: UPKEEP_MS,
          run() {
            void maintainPrekeys(ctx).catch(report);
            monitorInBackground();
            void store.pruneSeen(now() - SEEN_TTL_MS).catch(report);
          },
        },
      ],
    });
  }

  function resolveTarget(
    to: string,
  ): { type: 'dm'; user: string } | { type: 'group'; groupId: string } {
    // A bare username is a DM; anything with a conversation prefix must parse as one.
    return to.includes(':') ? parseConversation(to) : { type: 'dm', user: to };
  }

  /**
   * Send `input` to a DM or group. `committed` is told the message's record once it is stored,
   * when the path knows it (DMs); a caller that needs the record reads it otherwise.
   */
  async function sendTo(
    to: string,
    input: PayloadInput,
    committed?: (record: MessageRecord) => void,
  ): Promise<Payload> {
    const t = resolveTarget(to);
    const p =
      t.type === 'dm'
        ? await pairwise.sendDirect(t.user, input, committed ? { committed } : {})
        : await groupSender.send(t.groupId, input);
    if (p.kind === 'text' || p.kind === 'reply' || p.kind === 'file')
      shareProfile(t.type === 'dm' ? dmConversation(t.user) : groupConversation(t.groupId));
    return p;
  }

  const info = (): AccountInfo | null => {
    const a = transport.account;
    return a ? { username: a.username, deviceId: a.deviceId, kind: a.kind } : null;
  };

  /** The stored account, loaded once. */
  async function loadAccount(): Promise<AccountRecord | null> {
    transport.account ??= await store.getAccount();
    return transport.account;
  }

  // A guest's move to a username of its choice (PROTOCOL.md §3.3): internal/rename.ts.
  const renamer = createRenamer({
    ctx,
    transport,
    connect,
    invalidateDirectory: () => directory.invalidate(),
    renameSelf: (from) => groupAdmin.renameSelf(from),
  });
  const finishRename = (): Promise<void> => renamer.finish();

  /**
   * Reset the identity (SottoClient.resetIdentity): leave the broker before the upload ends the
   * old device id's session, adopt the new device's account and tokens in one store batch, and
   * come back on the new device's topics.
   */
  async function resetIdentity(password: string): Promise<AccountInfo> {
    await ready();
    const old = await loadAccount();
    if (!old?.certificate || !old.refreshToken)
      throw new ClientError('NOT_REGISTERED', 'not logged in on this device: log in first');
    const wasConnected = transport.connected;
    // Report anything logged under the old identity first: afterwards those leaves are history.
    await checkOwnKeys().catch(report);
    let replaced;
    // A run under the old UIK must not save the monitor's state after the reset does.
    await monitoring.catch(() => []);
    try {
      replaced = await replaceIdentity(ctx, old, password, async (tokens) => {
        transport.pendingTokens = tokens;
        // The upload ends the old device id's session: leave its connection first, so
        // nothing reconnects with its revoked tokens.
        await transport.disconnect();
      });
    } catch (err) {
      transport.pendingTokens = null;
      if (wasConnected && !transport.connected) await connect().catch(report);
      throw err;
    }
    const next = replaced.account;
    // A refresh during the upload rotated the new device's pair: keep the newest.
    const t = transport.pendingTokens ?? next;
    const adopted: AccountRecord = {
      ...next,
      accessToken: t.accessToken,
      refreshToken: t.refreshToken,
    };
    await ctx.lock.run(async () => {
      await store.batch([...replaced.ops, { op: 'putAccount', account: adopted }]);
      transport.account = adopted;
      transport.pendingTokens = null;
    });
    transport.unsubscribe(inboxTopic(old.username, old.deviceId));
    transport.unsubscribe(controlTopic(old.username, old.deviceId));
    directory.invalidate();
    if (wasConnected) await connect();
    // The groups still record the old key: show the admins the new one so they re-key us.
    void groupAdmin.announceReset().catch(report);
    return info()!;
  }

  const client: SottoClient = {
    store,
    http,
    get account() {
      return info();
    },
    get connectionState() {
      return transport.state;
    },
    on: (e, l) => events.on(e, l),
    off: (e, l) => events.off(e, l),
    once: (e, l) => events.once(e, l),

    async register(username, password, options = {}) {
      await ready();
      await http.signUp(username, password);
      return client.login(username, password, options);
    },
    async continueAsGuest(options = {}) {
      await ready();
      const name = options.displayName === undefined ? '' : checkDisplayName(options.displayName);
      const extras = {
        ...(options.deviceName === undefined ? {} : { deviceName: options.deviceName }),
        ...(options.platform === undefined ? {} : { platform: options.platform }),
      };
      const guest = await http.createGuest(extras);
      const account = await client.login(guest.username, '', {
        ...extras,
        session: () => Promise.resolve(guest),
      });
      if (name !== '') await profiles.saveOwn({ displayName: name });
      return account;
    },
    async upgradeGuest(password, options = {}) {
      await ready();
      const a = await loadAccount();
      if (!a?.refreshToken)
        throw new ClientError('NOT_REGISTERED', 'not logged in on this device: log in first');
      if (options.username === undefined) await http.upgradeGuest(password);
      else await renamer.rename(a, password, options.username);
      return info()!;
    },
    async login(username, password, options = {}) {
      await ready();
      try {
        transport.account = await logIn(ctx, username, password, options, (t) => {
          // Tokens from the login call, before the account record exists.
          transport.pendingTokens = t;
        });
      } finally {
        transport.pendingTokens = null;
      }
      return info()!;
    },
    async security() {
      if (!(await loadAccount())?.refreshToken)
        throw new ClientError('NOT_REGISTERED', 'not logged in on this device: log in first');
      return createSecurityApi(http);
    },
    async logout() {
      await http.logout();
      await client.close();
      const a = transport.account;
      if (a) {
        transport.account = { ...a, accessToken: null, refreshToken: null };
        await store.putAccount(transport.account);
      }
    },
    async changePassword(currentPassword, newPassword) {
      await ready();
      if (!(await loadAccount())?.refreshToken)
        throw new ClientError('NOT_REGISTERED', 'not logged in on this device: log in first');
      // The new pair reaches the transport's onTokens, which persists it and sets the MQTT
      // password the reconnect after the broker's user-revoked disconnect presents.
      await http.changePassword(currentPassword, newPassword);
    },
    resetIdentity,
    async start() {
      await ready();
      if (!(await loadAccount()))
        throw new ClientError('NOT_REGISTERED', 'no account on this device: register or log in');
      // Blocked senders are dropped from the first message on.
      await safety.load().catch(report);
      await connect();
      // History blobs of earlier links whose grace period is over (PROTOCOL.md §13).
      void linker.sweep().catch(report);
    },
    async close() {
      linker.close();
      // Receipts still waiting for their batch go out before the connection ends.
      if (transport.connected && pairwise.receipts.pending > 0)
        await Promise.race([pairwise.receipts.flush(), new Promise((r) => setTimeout(r, 2000))]);
      pairwise.receipts.stop();
      pairwise.close();
      // A graceful DISCONNECT (no will message), but never hang on a dead broker.
      await transport.disconnect();
      transport.setClosed();
    },

    async sendText(to, text, options = {}) {
      const mentions = options.mentions?.length ? { mentions: options.mentions } : {};
      const input: PayloadInput = options.replyTo
        ? { kind: 'reply', text, replyTo: options.replyTo, ...mentions }
        : { kind: 'text', text, ...mentions };
      let record: MessageRecord | undefined;
      const p = await sendTo(to, input, (m) => (record = m));
      return record ?? (await store.getMessage(p.id))!;
    },
    send: (to, input) => sendTo(to, input),
    async react(to, target, emoji) {
      await sendTo(to, { kind: 'reaction', target, emoji });
    },
    async edit(to, target, text, options = {}) {
      const mentions = options.mentions?.length ? { mentions: options.mentions } : {};
      await sendTo(to, { kind: 'edit', target, text, ...mentions });
    },
    forward: (messageId, to) => forwardMessage({ ctx, http, send: sendTo }, messageId, to),
    pins: createPinsApi({ ctx, send: sendTo }),
    async deleteForEveryone(to, target) {
      await sendTo(to, { kind: 'delete', target });
    },
    async setTyping(to, typing) {
      const t = resolveTarget(to);
      if (t.type === 'dm') await pairwise.sendTypingDirect(t.user, typing);
      else await groupSender.sendTyping(t.groupId, typing);
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
      for (const m of unread) pairwise.receipts.add(m.sender, m.senderDevice, 'read', m.id);
    },
    async markPlayed(messageId) {
      const me = `${ctx.account().username}:${ctx.account().deviceId}`;
      const m = await ctx.lock.run(async () => {
        const found = await store.getMessage(messageId);
        const voice = found?.body.voice;
        if (!found || found.outgoing || found.deleted || typeof voice !== 'object' || !voice)
          return null;
        if (found.status[me] === 'played') return null;
        await store.batch([{ op: 'setReceipt', messageId, recipient: me, status: 'played' }]);
        return found;
      });
      if (m === null) return;
      pairwise.receipts.add(m.sender, m.senderDevice, 'played', m.id);
      ctx.events.emit('messageUpdate', (await store.getMessage(messageId))!);
    },
    async sendFile(to, data, meta) {
      const p = await sendFile(http, data, meta, (input) => sendTo(to, input));
      return (await store.getMessage(p.id))!;
    },
    downloadFile: (m, onProgress) => downloadFile(http, m, onProgress),
    watchPresence(user) {
      ctx.subscribe(presenceTopic(user));
    },
    async setPresenceVisible(visible) {
      await http.updateSettings({ presenceVisible: visible });
    },
    async presenceVisible() {
      return (await http.getSettings()).presenceVisible;
    },
    flushOutbox: () => outbox.flushOutbox(0),
    maintainKeys: () => maintainPrekeys(ctx),

    groups: {
      create: (name, members) => groupAdmin.create(name, members),
      add: (groupId, user) => groupAdmin.change(groupId, 'add', user),
      remove: (groupId, user) => groupAdmin.change(groupId, 'remove', user),
      promote: (groupId, user) => groupAdmin.change(groupId, 'promote', user),
      demote: (groupId, user) => groupAdmin.change(groupId, 'demote', user),
      leave: (groupId) => groupAdmin.change(groupId, 'leave'),
      list: () => store.listGroups(),
      refresh: (groupId) => chain.refresh(groupId),
      keyStatus: (groupId, options) => groupAdmin.keyStatus(groupId, options),
      rekey: (groupId, user) => groupAdmin.rekey(groupId, user),
      setPolicy: (groupId, patch) => rooms.setPolicy(groupId, patch),
      createInvite: (groupId, options) => rooms.createInvite(groupId, options),
      listInvites: (groupId) => rooms.listInvites(groupId),
      revokeInvite: (groupId, id) => rooms.revokeInvite(groupId, id),
      preview: (groupId, secret) => rooms.preview(groupId, secret),
      join: async (groupId, secret) => {
        await rooms.join(groupId, secret);
        await profiles.share(groupConversation(groupId));
      },
      directory: (query, limit) => rooms.directory(query, limit),
    },
    link: linker,
    profile: {
      get: () => profiles.own(),
      set: (input) => profiles.set(input),
      of: (user) => profiles.of(user),
      avatar: (user) => profiles.avatar(user),
    },
    calls: {
      devices: (user) => calls.devices(user),
      send: (user, device, input) => calls.send(user, device, input),
      note: (conversationId, note) => calls.note(conversationId, note),
    },
    things: {
      watch(thing) {
        ctx.subscribe(thingTopic(ctx.account().username, thing, '#'));
      },
      publish(thing, subtopic, payload) {
        const bytes = typeof payload === 'string' ? utf8(payload) : payload;
        ctx.publish(thingTopic(ctx.account().username, thing, ...subtopic.split('/')), bytes);
      },
    },
    trust: {
      safetyNumber: (user) => directory.safetyNumber(user),
      setVerified: (user, verified) => directory.setVerified(user, verified),
      async acceptKeyChange(user) {
        await directory.acceptKeyChange(user);
        await inbox.releaseHeld(user);
      },
      held: (user) => inbox.heldCount(user),
      contact: (user) => store.getContact(user),
      async refresh(user) {
        directory.invalidate(user);
        await directory.devices(user, true);
      },
      checkOwnKeys,
      ownKeyLog: async () =>
        transparency
          ? transparency.ownKeyLog()
          : { checkedEntries: 0, checkedAt: null, unexpected: 0 },
    },
    safety: {
      block: (user) => safety.setBlocked(user, true),
      unblock: (user) => safety.setBlocked(user, false),
      blocked: () => safety.blocked(),
      isBlocked: (user) => safety.isBlocked(user),
      report: (conversationId, ids, note) => safety.report(conversationId, ids, note),
      receivedReports: () => safety.received(),
    },
  };
  return client;
}
