/**
 * {@link MessengerService} on the real `@sotto/client` engine, with its Dexie store
 * (`@sotto/client/dexie`) and mqtt.js over WebSocket at `/mqtt`. Loaded as a lazy chunk: it
 * pulls in libsodium, mqtt.js and the engine, so the first paint does not wait for them.
 *
 * One IndexedDB database per account on this browser (`sotto-{username}`); the last signed-in
 * username is remembered in localStorage so a reload resumes without a password. When the
 * server cannot be reached the stored history is still shown and the engine is retried.
 */
import { Buffer } from 'buffer';
import mqtt from 'mqtt';
import {
  ApiError,
  ClientError,
  createClient,
  type ClientEvents,
  type FileThumbnail,
  type MessageRecord,
  type SottoClient,
} from '@sotto/client';
import { createDexieStore, deleteDexieStore } from '@sotto/client/dexie';
import {
  decodeDeviceCertificate,
  encodeSafetyQr,
  fromBase64,
  ready,
  toBase64,
  verifySafetyQr,
  type SafetyIdentity,
} from '@sotto/crypto';
import {
  MessengerError,
  dmId,
  parseConversationId,
  type Account,
  type Capability,
  type ConnectionState,
  type ConversationId,
  type DeviceInfo,
  type GroupInfo,
  type GroupKeys,
  type LinkApproval,
  type LinkHistory,
  type LinkOffer,
  type MessengerEvent,
  type MessengerService,
  type ProgressFn,
  type SafetyInfo,
} from './messenger.ts';
import type { ClientStore } from './engine-types.ts';
import {
  acknowledgeOwnKeyAlerts,
  forwardOwnKeyAlert,
  pendingOwnKeyAlerts,
} from './own-key-alerts.ts';

// The engine hands MQTT payloads to mqtt.js as Node Buffers (engine.ts `ctx.publish`); in the
// page that global does not exist, so provide the browser implementation mqtt.js itself uses.
const g = globalThis as { Buffer?: unknown };
g.Buffer ??= Buffer;

/** Options of {@link createMessenger}. */
export interface MessengerOptions {
  /** Origin of the key server (`/v1`) and broker (`/mqtt`). */
  baseUrl: string;
}

/** localStorage key of the last signed-in username. */
export const LAST_USER_KEY = 'sotto-last-user';
/** IndexedDB database name of an account. */
export const dbNameFor = (username: string): string => `sotto-${username}`;
/** Retry period while the server is unreachable (ms). */
export const RETRY_MS = 3000;

const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  'groups',
  'files',
  'reactions',
  'edit',
  'delete',
  'receipts',
  'typing',
  'presence',
  'safety',
  'devices',
  'hide-presence',
  'link-device',
  'change-password',
  'reset-identity',
]);

/** Map engine and key server errors to the stable codes the views translate. */
export function toMessengerError(err: unknown): unknown {
  if (err instanceof MessengerError) return err;
  if (err instanceof ApiError) {
    const map: Record<string, MessengerError['code']> = {
      USERNAME_TAKEN: 'USERNAME_TAKEN',
      INVALID_CREDENTIALS: 'BAD_CREDENTIALS',
      NETWORK: 'UNREACHABLE',
      USER_NOT_FOUND: 'NO_SUCH_USER',
      RATE_LIMITED: 'RATE_LIMITED',
      VALIDATION_FAILED: 'INVALID_USERNAME',
      FORBIDDEN: 'NOT_AUTHORIZED',
      NOT_AUTHORIZED: 'NOT_AUTHORIZED',
    };
    const code =
      map[err.code] ?? (err.status === 0 || err.status >= 502 ? 'UNREACHABLE' : 'FAILED');
    return new MessengerError(code, err.message, { cause: err });
  }
  if (err instanceof ClientError) {
    const link: Partial<Record<ClientError['code'], [MessengerError['code'], string]>> = {
      LINK_REQUIRED: [
        'LINK_REQUIRED',
        'This account’s keys live on another device. Link this browser from that device.',
      ],
      BAD_CODE: ['BAD_CODE', 'That is not a link code from a device of this account.'],
      WRONG_USER: ['BAD_CODE', 'That link code belongs to another account.'],
      LINK_EXPIRED: ['LINK_EXPIRED', 'The link code expired. Show a new one and try again.'],
      LINK_MISMATCH: [
        'FAILED',
        'The key from your other device does not match the one the server publishes. Do not use this server until you know why.',
      ],
      LINK_CANCELLED: ['FAILED', 'Linking was cancelled.'],
    };
    const l = link[err.code];
    if (l !== undefined) return new MessengerError(l[0], l[1], { cause: err });
    const text: Partial<Record<ClientError['code'], string>> = {
      KEY_CHANGED: 'The contact’s safety number changed. Review it before sending.',
      NO_DEVICES: 'That user has not finished setting up yet.',
      NOT_MEMBER: 'You are not a member of this group.',
      NOT_ADMIN: 'Only group admins can do that.',
      REKEY_PENDING:
        'Your identity reset replaced the key this group knows you by. An admin has to re-add you first.',
      NO_KEY_CHANGE: 'The group already has this member’s current key.',
      GROUP_FROZEN:
        'This group is frozen: the server rewrote its history, so nothing is sent to it.',
    };
    return new MessengerError(
      err.code === 'NOT_ADMIN' ? 'NOT_AUTHORIZED' : 'FAILED',
      text[err.code] ?? err.message,
      { cause: err },
    );
  }
  return err;
}

function rememberUser(username: string | null): void {
  try {
    if (username === null) localStorage.removeItem(LAST_USER_KEY);
    else localStorage.setItem(LAST_USER_KEY, username);
  } catch {
    // No storage (private mode): the session simply does not survive a reload.
  }
}

function lastUser(): string | null {
  try {
    return localStorage.getItem(LAST_USER_KEY);
  } catch {
    return null;
  }
}

/** Create the messenger for this page. */
export function createMessenger(options: MessengerOptions): MessengerService {
  return new EngineMessenger(options.baseUrl);
}

/** The adapter. */
class EngineMessenger implements MessengerService {
  readonly capabilities = CAPABILITIES;
  connection: ConnectionState = 'offline';

  private client: SottoClient | null = null;
  private store: ClientStore | null = null;
  private me: Account | null = null;
  private readonly listeners = new Set<(e: MessengerEvent) => void>();
  private readonly watched = new Set<string>();
  private readReceipts = true;
  /** Presence visibility last read from or written to the key server (null: not known yet). */
  private presenceShared: boolean | null = null;
  private everOnline = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private detach: (() => void)[] = [];

  constructor(private readonly baseUrl: string) {}

  get account(): Account | null {
    return this.me;
  }

  local(): { store: ClientStore } {
    if (this.store === null) throw new MessengerError('FAILED', 'not signed in');
    return { store: this.store };
  }

  subscribe(listener: (e: MessengerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: MessengerEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        console.error('listener failed', err);
      }
    }
  }

  private engine(): SottoClient {
    if (this.client === null) throw new MessengerError('FAILED', 'not signed in');
    return this.client;
  }

  /** Open the account's database and an engine on it. */
  private open(username: string): SottoClient {
    const name = dbNameFor(username);
    const store = createDexieStore({ name });
    const wsUrl = `${this.baseUrl.replace(/^http/, 'ws')}/mqtt`;
    const client = createClient({
      store,
      http: { baseUrl: this.baseUrl },
      mqttConnect: (o) => mqtt.connect(wsUrl, o),
    });
    this.store = store;
    this.client = client;
    this.wire(client);
    return client;
  }

  private async closeEngine(): Promise<void> {
    clearTimeout(this.retry);
    for (const d of this.detach.splice(0)) d();
    await this.client?.close().catch(() => undefined);
    await this.store?.close().catch(() => undefined);
    this.client = null;
    this.store = null;
    this.watched.clear();
  }

  private setConnection(state: ConnectionState, detail?: string): void {
    this.connection = state;
    this.emit({ type: 'connection', state, ...(detail !== undefined ? { detail } : {}) });
  }

  /** Translate engine events into UI events. */
  private wire(client: SottoClient): void {
    const on = <K extends keyof ClientEvents & string>(
      name: K,
      fn: (e: ClientEvents[K]) => void,
    ): void => {
      client.on(name, fn);
      this.detach.push(() => client.off(name, fn));
    };
    on('message', (m) => {
      this.emit({
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
                },
              ],
            }),
      });
      const { kind, ref } = parseConversationId(m.conversationId);
      if (kind === 'dm') this.watch(ref);
    });
    on('messageUpdate', (m) => this.emit({ type: 'history', conversationIds: [m.conversationId] }));
    on('receipt', (r) => {
      void this.store?.getMessage(r.messageId).then((m) => {
        if (m !== null) this.emit({ type: 'history', conversationIds: [m.conversationId] });
      });
    });
    on('typing', (t) =>
      this.emit({
        type: 'typing',
        conversationId: t.conversationId,
        sender: t.user,
        typing: t.typing,
      }),
    );
    on('presence', (p) =>
      this.emit({
        type: 'presence',
        username: p.user,
        online: p.status === 'online',
        ...(p.status === 'offline' && p.at > 0 ? { lastSeen: p.at } : {}),
      }),
    );
    on('keyChange', (k) =>
      this.emit({ type: 'keyChange', username: k.user, wasVerified: k.verified || k.blocked }),
    );
    on('securityNotice', (n) =>
      this.emit({
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
    on('ownKeyAlert', (a) => {
      const store = this.store;
      if (store !== null) void forwardOwnKeyAlert(store, a, (e) => this.emit(e));
    });
    on('groupChange', (c) => {
      const me = this.me?.username ?? '';
      this.emit({ type: 'groupChange', groupId: c.groupId, removed: c.removed.includes(me) });
      for (const u of c.added) this.watch(u);
    });
    on('connection', (c) => {
      if (c.state === 'online') {
        this.everOnline = true;
        this.setConnection('online');
      } else if (c.state === 'connecting') {
        this.setConnection(this.everOnline ? 'reconnecting' : 'connecting');
      } else if (c.state === 'offline') {
        this.setConnection(this.everOnline ? 'reconnecting' : 'unreachable', c.error);
      } else if (c.state === 'signed-out') {
        this.setConnection('signed-out', c.error);
      } else {
        this.setConnection('offline');
      }
    });
    on('error', (err) => console.warn('sotto engine:', err));
  }

  private watch(username: string): void {
    if (this.client === null || this.watched.has(username) || username === this.me?.username) {
      return;
    }
    this.watched.add(username);
    this.client.watchPresence(username);
  }

  /** Connect; when the server is unreachable, keep showing local history and retry. */
  private async startEngine(): Promise<void> {
    const client = this.engine();
    try {
      await client.start();
      for (const c of await this.local().store.listContacts()) this.watch(c.username);
    } catch (err) {
      const e = toMessengerError(err);
      if (e instanceof MessengerError && e.code === 'UNREACHABLE') {
        this.setConnection('unreachable', e.message);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => {
          if (this.client === client) void this.startEngine();
        }, RETRY_MS);
        return;
      }
      throw e;
    }
  }

  async resume(): Promise<Account | null> {
    const username = lastUser();
    if (username === null) return null;
    const client = this.open(username);
    const stored = await this.local().store.getAccount();
    if (stored === null || stored.refreshToken === null) {
      await this.closeEngine();
      return null;
    }
    await ready();
    this.me = { username: stored.username, deviceId: stored.deviceId };
    this.readReceipts = (await this.local().store.getSetting<boolean>('web:readReceipts')) ?? true;
    await this.startEngine();
    void client;
    return this.me;
  }

  private async enter(
    username: string,
    password: string,
    progress: ProgressFn | undefined,
    mode: 'register' | 'login' | 'new-identity',
  ): Promise<Account> {
    const register = mode === 'register';
    await this.closeEngine();
    progress?.('Loading encryption…', 0.1);
    await ready();
    const client = this.open(username);
    const fresh = (await this.local().store.getAccount()) === null;
    try {
      progress?.(
        register
          ? 'Creating your account and keys…'
          : mode === 'new-identity'
            ? 'Creating your new identity key…'
            : 'Checking your password…',
        0.3,
      );
      const info = register
        ? await client.register(username, password)
        : await client.login(
            username,
            password,
            mode === 'new-identity' ? { resetIdentity: true } : {},
          );
      progress?.('Connecting securely…', 0.85);
      this.me = { username: info.username, deviceId: info.deviceId };
      rememberUser(info.username);
      await this.startEngine();
      progress?.('Ready', 1);
      return this.me;
    } catch (err) {
      await this.closeEngine();
      // Nothing worth keeping was written for a failed first sign-in on this browser, except
      // the device id of a login that needs linking (beginLink reuses it).
      if (fresh && !(err instanceof ClientError && err.code === 'LINK_REQUIRED'))
        await deleteDexieStore(dbNameFor(username)).catch(() => undefined);
      throw toMessengerError(err);
    }
  }

  async beginLink(username: string, password: string): Promise<LinkOffer> {
    await this.closeEngine();
    await ready();
    const client = this.open(username);
    const fresh = (await this.local().store.getAccount()) === null;
    const fail = async (err: unknown): Promise<never> => {
      if (this.client === client) await this.closeEngine();
      if (fresh) await deleteDexieStore(dbNameFor(username)).catch(() => undefined);
      throw toMessengerError(err);
    };
    let session;
    try {
      session = await client.link.begin(username, password);
    } catch (err) {
      return fail(err);
    }
    const progress = new Set<(done: number, total: number) => void>();
    const stopProgress = client.on('historyProgress', ({ done, total }) => {
      for (const l of progress) l(done, total);
    });
    let history: LinkHistory = { status: 'none' };
    const linked = session.linked.then(async (info) => {
      stopProgress();
      const h = info.history;
      history =
        h.status === 'imported'
          ? { status: 'imported', imported: h.imported + h.skipped, omitted: h.omitted }
          : h.status === 'failed'
            ? { status: 'failed', message: h.error.message }
            : { status: 'none' };
      this.me = { username: info.username, deviceId: info.deviceId };
      rememberUser(info.username);
      await this.startEngine();
      return this.me;
    }, fail);
    // The view may attach its handlers later; the outcome is still delivered to it.
    linked.catch(() => undefined);
    const historyOutcome = linked.then(() => history);
    historyOutcome.catch(() => undefined);
    return {
      code: session.code,
      expiresAt: session.expiresAt,
      linked,
      history: historyOutcome,
      onHistoryProgress: (listener) => void progress.add(listener),
      cancel: () => session.cancel(),
    };
  }

  async approveLink(code: string, options: { history?: boolean } = {}): Promise<LinkApproval> {
    try {
      const r = await this.engine().link.approve(code, { history: options.history !== false });
      const why = r.historyError;
      return {
        deviceId: r.deviceId,
        history: r.history,
        ...(why !== undefined
          ? { historyError: why instanceof Error ? why.message : JSON.stringify(why) }
          : {}),
      };
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  signUp(username: string, password: string, progress?: ProgressFn): Promise<Account> {
    return this.enter(username, password, progress, 'register');
  }

  logIn(username: string, password: string, progress?: ProgressFn): Promise<Account> {
    return this.enter(username, password, progress, 'login');
  }

  logInWithNewIdentity(
    username: string,
    password: string,
    progress?: ProgressFn,
  ): Promise<Account> {
    return this.enter(username, password, progress, 'new-identity');
  }

  async resetIdentity(password: string): Promise<Account> {
    const client = this.engine();
    let info;
    try {
      info = await client.resetIdentity(password);
    } catch (err) {
      throw toMessengerError(err);
    }
    this.me = { username: info.username, deviceId: info.deviceId };
    // The alerts shown so far concern the identity key just replaced: the reset settles them.
    const store = this.local().store;
    const kept = await pendingOwnKeyAlerts(store);
    await acknowledgeOwnKeyAlerts(
      store,
      kept.map((a) => a.logIndex),
    );
    return this.me;
  }

  async logOut(options: { wipe: boolean }): Promise<void> {
    const username = this.me?.username;
    try {
      await this.engine().logout();
    } catch {
      // Offline: the tokens are forgotten locally; the server expires them.
      const store = this.store;
      const account = await store?.getAccount();
      if (store && account) {
        await store.putAccount({ ...account, accessToken: null, refreshToken: null });
      }
    }
    await this.closeEngine();
    this.me = null;
    rememberUser(null);
    if (options.wipe && username !== undefined) await deleteDexieStore(dbNameFor(username));
    this.setConnection('offline');
  }

  async startDm(username: string): Promise<ConversationId> {
    let user;
    try {
      user = await this.engine().http.getUser(username);
    } catch (err) {
      throw toMessengerError(err);
    }
    if (user.devices.length === 0) {
      throw new MessengerError('NO_SUCH_USER', `${username} has not finished setting up yet.`);
    }
    this.watch(username);
    return dmId(username);
  }

  async createGroup(name: string, members: string[]): Promise<ConversationId> {
    try {
      const groupId = await this.engine().groups.create(name, members);
      return `group:${groupId}`;
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  async groupInfo(groupId: string): Promise<GroupInfo> {
    const g = await this.local().store.getGroup(groupId);
    if (g === null) throw new MessengerError('FAILED', 'This group is not available.');
    return {
      groupId,
      name: g.name,
      members: g.members.map((username) => ({ username, admin: g.admins.includes(username) })),
    };
  }

  private async run(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  addMember(groupId: string, username: string): Promise<void> {
    return this.run(() => this.engine().groups.add(groupId, username));
  }

  removeMember(groupId: string, username: string): Promise<void> {
    return this.run(() => this.engine().groups.remove(groupId, username));
  }

  setAdmin(groupId: string, username: string, admin: boolean): Promise<void> {
    return this.run(() =>
      admin
        ? this.engine().groups.promote(groupId, username)
        : this.engine().groups.demote(groupId, username),
    );
  }

  leaveGroup(groupId: string): Promise<void> {
    return this.run(() => this.engine().groups.leave(groupId));
  }

  async groupKeys(groupId: string, options: { lookup?: boolean } = {}): Promise<GroupKeys> {
    try {
      const k = await this.engine().groups.keyStatus(groupId, options);
      return {
        selfStale: k.selfStale,
        canRekey: k.canRekey,
        noAdmin: k.noAdmin,
        changed: k.changed,
      };
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  rekeyMember(groupId: string, username: string): Promise<void> {
    return this.run(() => this.engine().groups.rekey(groupId, username));
  }

  async sendText(
    conversationId: ConversationId,
    text: string,
    options: { replyTo?: string } = {},
  ): Promise<{ id: string; sentAt: number }> {
    try {
      const m = await this.engine().sendText(conversationId, text, options);
      return { id: m.id, sentAt: m.timestamp };
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  async sendFile(
    conversationId: ConversationId,
    file: File,
    progress?: (fraction: number) => void,
    thumbnail?: FileThumbnail,
  ): Promise<{ id: string; sentAt: number }> {
    const data = new Uint8Array(await file.arrayBuffer());
    try {
      const m = await this.engine().sendFile(conversationId, data, {
        name: file.name,
        mime: file.type || 'application/octet-stream',
        ...(thumbnail !== undefined ? { thumbnail } : {}),
        // Encryption streams the file; the upload is one request after it.
        onProgress: (done, total) => progress?.(total === 0 ? 0.9 : (done / total) * 0.9),
      });
      progress?.(1);
      return { id: m.id, sentAt: m.timestamp };
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  async downloadFile(message: MessageRecord, progress?: (f: number) => void): Promise<Blob> {
    try {
      const bytes = await this.engine().downloadFile(message, (done, total) =>
        progress?.(total === 0 ? 1 : done / total),
      );
      const mime = typeof message.body.mime === 'string' ? message.body.mime : '';
      return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime });
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  react(c: ConversationId, targetId: string, emoji: string, remove: boolean): Promise<void> {
    return this.run(() => this.engine().react(c, targetId, remove ? null : emoji));
  }

  edit(c: ConversationId, targetId: string, text: string): Promise<void> {
    return this.run(() => this.engine().edit(c, targetId, text));
  }

  deleteForEveryone(c: ConversationId, targetId: string): Promise<void> {
    return this.run(() => this.engine().deleteForEveryone(c, targetId));
  }

  markRead(conversationId: ConversationId): void {
    const done = this.readReceipts
      ? this.engine().markRead(conversationId)
      : this.local().store.batch([{ op: 'markConversationRead', conversationId }]);
    void done
      .then(() =>
        this.emit({ type: 'history', conversationIds: [conversationId], unreadOnly: true }),
      )
      .catch((err: unknown) => console.warn('markRead failed', err));
  }

  setTyping(conversationId: ConversationId, typing: boolean): void {
    void this.client?.setTyping(conversationId, typing).catch(() => undefined);
  }

  private async identities(username: string): Promise<[SafetyIdentity, SafetyIdentity]> {
    const client = this.engine();
    await client.trust.safetyNumber(username);
    const [account, contact] = await Promise.all([
      this.local().store.getAccount(),
      client.trust.contact(username),
    ]);
    if (account === null || contact?.uik == null) {
      throw new MessengerError('FAILED', `${username} has no identity key yet.`);
    }
    return [
      { username: account.username, uik: account.uik.publicKey },
      { username, uik: contact.uik },
    ];
  }

  async safety(username: string): Promise<SafetyInfo> {
    try {
      const client = this.engine();
      const digits = await client.trust.safetyNumber(username);
      const [local, remote] = await this.identities(username);
      const contact = await client.trust.contact(username);
      return {
        digits,
        qrPayload: toBase64(encodeSafetyQr(local, remote)),
        verified: contact?.verified === true,
      };
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  async verifyScanned(username: string, payload: string): Promise<boolean> {
    const [local, remote] = await this.identities(username);
    let ok = false;
    try {
      ok = verifySafetyQr(fromBase64(payload), local, remote);
    } catch {
      ok = false; // Not a safety code at all.
    }
    if (ok) await this.engine().trust.setVerified(username, true);
    return ok;
  }

  setVerified(username: string, verified: boolean): Promise<void> {
    return this.run(() => this.engine().trust.setVerified(username, verified));
  }

  acceptKeyChange(username: string): Promise<void> {
    return this.run(() => this.engine().trust.acceptKeyChange(username));
  }

  async heldMessages(username: string): Promise<number> {
    try {
      return await this.engine().trust.held(username);
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  async setPrivacy(settings: { shareLastSeen: boolean; readReceipts: boolean }): Promise<void> {
    this.readReceipts = settings.readReceipts;
    await this.local().store.setSetting('web:readReceipts', settings.readReceipts);
    if (settings.shareLastSeen !== this.presenceShared) {
      await this.run(() => this.engine().setPresenceVisible(settings.shareLastSeen));
      this.presenceShared = settings.shareLastSeen;
    }
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    try {
      await this.engine().changePassword(currentPassword, newPassword);
    } catch (err) {
      // The only field the server validates here is the new password.
      if (err instanceof ApiError && err.code === 'VALIDATION_FAILED') {
        throw new MessengerError(
          'WEAK_PASSWORD',
          'The server refused the new password: use at least 8 characters.',
          { cause: err },
        );
      }
      throw toMessengerError(err);
    }
  }

  async presenceVisible(): Promise<boolean> {
    try {
      this.presenceShared = await this.engine().presenceVisible();
      return this.presenceShared;
    } catch (err) {
      throw toMessengerError(err);
    }
  }

  async devices(): Promise<DeviceInfo[]> {
    const me = this.me;
    if (me === null) return [];
    try {
      const user = await this.engine().http.getUser(me.username);
      return user.devices.map((d) => {
        const cert = decodeDeviceCertificate(fromBase64(d.certificate));
        return {
          deviceId: d.deviceId,
          kind: cert.kind,
          current: d.deviceId === me.deviceId,
          issuedAt: cert.issuedAt,
        };
      });
    } catch (err) {
      throw toMessengerError(err);
    }
  }
}

function previewText(m: MessageRecord): string {
  const { text, name } = m.body;
  if (typeof text === 'string') return text.slice(0, 140);
  if (typeof name === 'string') return `File: ${name}`;
  return 'New message';
}
