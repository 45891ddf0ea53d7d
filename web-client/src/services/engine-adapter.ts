/**
 * {@link MessengerService} on the real `@sotto/client` engine, with its Dexie store
 * (`@sotto/client/dexie`) and mqtt.js over WebSocket at `/mqtt`. Loaded as a lazy chunk: it
 * pulls in libsodium, mqtt.js and the engine, so the first paint does not wait for them.
 *
 * A thin assembly: it forwards each call to the engine and translates the answer. The rest
 * lives by concern: `engine-host.ts` (the engine's lifecycle: open, connect, retry while the
 * server cannot be reached, close, listeners), `engine-events.ts` (event mapping),
 * `messenger-errors.ts` (error translation), `local-settings.ts` (what the browser remembers),
 * `safety-qr.ts` (safety numbers and QR checks), `device-link.ts` (linking a browser) and
 * `ui-strings.ts` (every English string of the services).
 *
 * One IndexedDB database per account on this browser (`sotto-{username}`); the last signed-in
 * username is remembered so a reload resumes without a password. When the server cannot be
 * reached the stored history is still shown and the engine is retried.
 */
import { createModerationPort } from './moderation.ts';
import { createInvitePort } from './invites.ts';
import { continueAsGuest, createGuestPort } from './guests.ts';
import { createProfilePort } from './profiles.ts';
import { createPinsPort } from './pins-forward.ts';
import {
  ClientError,
  createHttpClient,
  parseInviteLink,
  type LoginOptions,
  type FileThumbnail,
  type Mention,
  type MessageRecord,
  type SecurityApi,
  type SottoClient,
  type VoiceNote,
} from '@sotto/client';
import { deleteDexieStore } from '@sotto/client/dexie';
import { decodeDeviceCertificate, fromBase64, ready } from '@sotto/crypto';
import {
  MessengerError,
  dmId,
  groupConversationId,
  type Account,
  type AppLockState,
  type CallSignalling,
  type Capability,
  type ConnectionState,
  type ConversationId,
  type DeviceInfo,
  type DirectoryRoomInfo,
  type GroupInfo,
  type GroupKeys,
  type LinkApproval,
  type LinkOffer,
  type MessengerEvent,
  type MessengerService,
  type OwnKeyLogInfo,
  type ProgressFn,
  type RoomPreviewInfo,
  type SafetyInfo,
  type SendOptions,
} from './messenger.ts';
import type { ClientStore } from './engine-types.ts';
import { acknowledgeOwnKeyAlerts, pendingOwnKeyAlerts } from './own-key-alerts.ts';
import {
  notSignedIn,
  toMessengerError,
  toPasswordChangeError,
  translated,
  translatedApi,
} from './messenger-errors.ts';
import { passkeyLogIn } from './passkey-login.ts';
import { appLockState, changeAppLock, saveIdleLock } from './app-lock.ts';
import { EngineHost } from './engine-host.ts';
import type { PushPort } from './app-worker.ts';
import { READ_RECEIPTS_SETTING, lastUser, rememberUser, storeNameFor } from './local-settings.ts';
import { safetyInfo, verifyScannedQr } from './safety-qr.ts';
import { linkApproval, linkOffer } from './device-link.ts';
import { uiText } from './ui-strings.ts';
import { SAVE_ONLY_TYPE } from './media-type.ts';

/** Options of {@link createMessenger}. */
export interface MessengerOptions {
  /** Origin of the key server (`/v1`) and broker (`/mqtt`). */
  baseUrl: string;
}

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
  'app-lock',
  'calls',
]);

/** Create the messenger for this page. */
export function createMessenger(options: MessengerOptions): MessengerService {
  return new EngineMessenger(options.baseUrl);
}

/** The adapter. */
class EngineMessenger implements MessengerService {
  readonly capabilities = CAPABILITIES;

  private readonly host: EngineHost;
  private readReceipts = true;
  /** Presence visibility last read from or written to the key server (null: not known yet). */
  private presenceShared: boolean | null = null;

  constructor(private readonly baseUrl: string) {
    this.host = new EngineHost(baseUrl);
  }

  readonly callSignalling: CallSignalling = {
    devices: (user) => this.engine().calls.devices(user),
    send: async (user, device, input) => {
      await this.engine().calls.send(user, device, input);
    },
    note: (conversationId, note) => this.engine().calls.note(conversationId, note),
    onSignal: (listener) => this.host.subscribeCalls(listener),
    iceServers: async () => {
      const http = this.engine().http;
      const ice = (await http.discovery()).ice;
      const servers: RTCIceServer[] = [...(ice?.servers ?? [])];
      if (ice?.turn === true) {
        const t = await http.turnCredentials();
        servers.push({ urls: t.urls, username: t.username, credential: t.credential });
      }
      return servers;
    },
    groupMembers: async (groupId) => (await this.groupInfo(groupId)).members.map((m) => m.username),
  };

  readonly push: PushPort = {
    key: () => translated(() => this.engine().http.pushKey()),
    register: (subscription) =>
      translated(() => this.engine().http.setPushSubscription(this.deviceId(), subscription)),
    unregister: () => translated(() => this.engine().http.deletePushSubscription(this.deviceId())),
  };

  private deviceId(): string {
    const me = this.host.account;
    if (me === null) throw new MessengerError('NOT_AUTHORIZED', uiText('error.signInFirst'));
    return me.deviceId;
  }

  get connection(): ConnectionState {
    return this.host.connection;
  }

  get account(): Account | null {
    return this.host.account;
  }

  local(): { store: ClientStore } {
    return this.host.local();
  }

  subscribe(listener: (e: MessengerEvent) => void): () => void {
    return this.host.subscribe(listener);
  }

  private engine(): SottoClient {
    return this.host.engine();
  }

  readonly moderation = createModerationPort(() => this.engine());
  readonly guests = createGuestPort(
    () => this.engine(),
    () => this.host.account,
  );
  readonly profiles = createProfilePort(() => this.engine());
  readonly pins = createPinsPort(() => this.engine());
  readonly invites = createInvitePort(
    () => this.engine(),
    () => location.href,
  );

  watchPresence(usernames: readonly string[]): void {
    for (const u of usernames) this.host.watch(u);
  }

  /** Signed in as `info`: remember the account on this browser and connect. */
  private async signedIn(info: Account): Promise<Account> {
    this.host.account = { username: info.username, deviceId: info.deviceId };
    rememberUser(info.username);
    await this.host.start();
    return this.host.account;
  }

  /**
   * Forget a failed first sign-in on this browser: nothing worth keeping was written to a
   * database that did not exist before.
   */
  private async discardFresh(fresh: boolean, username: string): Promise<void> {
    if (fresh) await deleteDexieStore(storeNameFor(username)).catch(() => undefined);
  }

  /**
   * The account in the just-opened database, or null. A locked one (LOCKED, BAD_PASSPHRASE) is
   * closed again with nothing written: logging in cannot enter a database with the app lock on.
   */
  private async stored(): Promise<Awaited<ReturnType<ClientStore['getAccount']>>> {
    try {
      return await this.local().store.getAccount();
    } catch (err) {
      await this.host.close();
      throw toMessengerError(err);
    }
  }

  async resume(passphrase?: string): Promise<Account | null> {
    const username = lastUser();
    if (username === null) return null;
    await this.host.close();
    await this.host.open(username, passphrase);
    const stored = await this.stored();
    if (stored === null || stored.refreshToken === null) {
      await this.host.close();
      return null;
    }
    await ready();
    this.host.account = { username: stored.username, deviceId: stored.deviceId };
    // Also tells a service worker installed before it learnt the account (`wake-account.ts`).
    rememberUser(stored.username);
    this.readReceipts =
      (await this.local().store.getSetting<boolean>(READ_RECEIPTS_SETTING)) ?? true;
    await this.host.start();
    return this.host.account;
  }

  private async enter(
    username: string,
    password: string,
    progress: ProgressFn | undefined,
    mode: 'register' | 'login' | 'new-identity',
    extra: Pick<LoginOptions, 'totp' | 'session'> = {},
  ): Promise<Account> {
    await this.host.close();
    progress?.(uiText('progress.loading'), 0.1);
    await ready();
    const client = await this.host.open(username);
    const fresh = (await this.stored()) === null;
    try {
      progress?.(
        uiText(
          mode === 'register'
            ? 'progress.register'
            : mode === 'new-identity'
              ? 'progress.newIdentity'
              : 'progress.login',
        ),
        0.3,
      );
      const info =
        mode === 'register'
          ? await client.register(username, password, { platform: 'web' })
          : await client.login(username, password, {
              platform: 'web',
              ...(mode === 'new-identity' ? { resetIdentity: true } : {}),
              ...extra,
            });
      progress?.(uiText('progress.connecting'), 0.85);
      const me = await this.signedIn(info);
      progress?.(uiText('progress.ready'), 1);
      return me;
    } catch (err) {
      await this.host.close();
      // Except the device id of a login that needs linking: beginLink reuses it.
      const linking = err instanceof ClientError && err.code === 'LINK_REQUIRED';
      await this.discardFresh(fresh && !linking, username);
      throw toMessengerError(err);
    }
  }

  async beginLink(username: string, password: string): Promise<LinkOffer> {
    await this.host.close();
    await ready();
    const client = await this.host.open(username);
    const fresh = (await this.stored()) === null;
    const fail = async (err: unknown): Promise<never> => {
      if (this.host.engineOrNull() === client) await this.host.close();
      await this.discardFresh(fresh, username);
      throw toMessengerError(err);
    };
    let session;
    try {
      session = await client.link.begin(username, password);
    } catch (err) {
      return fail(err);
    }
    return linkOffer(client, session, (info) => this.signedIn(info), fail);
  }

  approveLink(code: string, options: { history?: boolean } = {}): Promise<LinkApproval> {
    return translated(async () =>
      linkApproval(await this.engine().link.approve(code, { history: options.history !== false })),
    );
  }

  continueAsGuest(progress?: ProgressFn): Promise<Account> {
    progress?.(uiText('progress.guest'), 0.05);
    return continueAsGuest(createHttpClient({ baseUrl: this.baseUrl }), (username, session) =>
      this.enter(username, '', progress, 'login', { session }),
    );
  }

  signUp(username: string, password: string, progress?: ProgressFn): Promise<Account> {
    return this.enter(username, password, progress, 'register');
  }

  logIn(
    username: string,
    password: string,
    progress?: ProgressFn,
    totp?: string,
  ): Promise<Account> {
    return this.enter(username, password, progress, 'login', totp === undefined ? {} : { totp });
  }

  logInWithPasskey(
    progress?: ProgressFn,
    after?: { username: string; password: string },
  ): Promise<Account> {
    return passkeyLogIn(
      createHttpClient({ baseUrl: this.baseUrl }),
      (username, password, session) =>
        this.enter(username, password, progress, 'login', { session }),
      after,
    );
  }

  async security(): Promise<SecurityApi> {
    return translatedApi(await translated(() => this.engine().security()));
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
    const info = await translated(() => client.resetIdentity(password));
    this.host.account = { username: info.username, deviceId: info.deviceId };
    // The alerts shown so far concern the identity key just replaced: the reset settles them.
    const store = this.local().store;
    const kept = await pendingOwnKeyAlerts(store);
    await acknowledgeOwnKeyAlerts(
      store,
      kept.map((a) => a.logIndex),
    );
    return this.host.account;
  }

  async logOut(options: { wipe: boolean }): Promise<void> {
    const username = this.host.account?.username;
    try {
      await this.engine().logout();
    } catch {
      // Offline: the tokens are forgotten locally; the server expires them.
      const store = this.host.storeOrNull();
      const account = await store?.getAccount();
      if (store && account) {
        await store.putAccount({ ...account, accessToken: null, refreshToken: null });
      }
    }
    await this.host.close();
    this.host.account = null;
    rememberUser(null);
    if (options.wipe && username !== undefined) await deleteDexieStore(storeNameFor(username));
    this.host.setConnection('offline');
  }

  appLock(): Promise<AppLockState> {
    const username = this.host.account?.username;
    if (username === undefined) throw notSignedIn();
    return appLockState(username, this.local().store);
  }

  setAppLock(current: string | undefined, next: string | undefined): Promise<void> {
    const username = this.host.account?.username;
    if (username === undefined) throw notSignedIn();
    return changeAppLock(username, current, next);
  }

  setIdleLock(seconds: number): Promise<void> {
    return saveIdleLock(this.local().store, seconds);
  }

  async lock(): Promise<void> {
    await this.host.close();
    this.host.account = null;
    this.host.setConnection('offline');
  }

  lockedAccount(): string | null {
    return lastUser();
  }

  async forgetLocked(): Promise<void> {
    const username = lastUser();
    await this.lock();
    rememberUser(null);
    if (username !== null) await deleteDexieStore(storeNameFor(username));
  }

  async startDm(username: string): Promise<ConversationId> {
    const user = await translated(() => this.engine().http.getUser(username));
    if (user.devices.length === 0) {
      throw new MessengerError('NO_SUCH_USER', uiText('error.userNotSetUp', { user: username }));
    }
    this.host.watch(username);
    return dmId(username);
  }

  async createGroup(name: string, members: string[]): Promise<ConversationId> {
    return groupConversationId(await translated(() => this.engine().groups.create(name, members)));
  }

  async groupInfo(groupId: string): Promise<GroupInfo> {
    const g = await this.local().store.getGroup(groupId);
    if (g === null) throw new MessengerError('FAILED', uiText('error.groupUnavailable'));
    return {
      groupId,
      name: g.name,
      members: g.members.map((username) => ({ username, admin: g.admins.includes(username) })),
    };
  }

  /** Run an engine call whose result the views do not need. */
  private async run(fn: () => Promise<unknown>): Promise<void> {
    await translated(fn);
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

  groupKeys(groupId: string, options: { lookup?: boolean } = {}): Promise<GroupKeys> {
    return translated(async () => {
      const k = await this.engine().groups.keyStatus(groupId, options);
      return {
        selfStale: k.selfStale,
        canRekey: k.canRekey,
        noAdmin: k.noAdmin,
        changed: k.changed,
      };
    });
  }

  rekeyMember(groupId: string, username: string): Promise<void> {
    return this.run(() => this.engine().groups.rekey(groupId, username));
  }

  previewInvite(link: string): Promise<RoomPreviewInfo> {
    return translated(async () => {
      const { groupId, secret } = parseInviteLink(link);
      const p = await this.engine().groups.preview(groupId, secret);
      return {
        groupId,
        name: p.name,
        topic: p.topic,
        memberCount: p.memberCount,
        member: p.member,
      };
    });
  }

  exploreRooms(query: string): Promise<DirectoryRoomInfo[]> {
    return translated(() => this.engine().groups.directory(query));
  }

  async joinOpenRoom(groupId: string): Promise<ConversationId> {
    await this.run(() => this.engine().groups.join(groupId));
    return groupConversationId(groupId);
  }

  async joinByInvite(link: string): Promise<ConversationId> {
    return translated(async () => {
      const { groupId, secret } = parseInviteLink(link);
      await this.engine().groups.join(groupId, secret);
      return groupConversationId(groupId);
    });
  }

  sendText(
    conversationId: ConversationId,
    text: string,
    options: SendOptions = {},
  ): Promise<{ id: string; sentAt: number }> {
    return translated(async () => {
      const m = await this.engine().sendText(conversationId, text, options);
      this.host.sent.add(m.id, m.conversationId);
      // The record as stored: an open conversation appends it, no re-read of its rows (issue 23).
      this.host.emit({ type: 'history', conversationIds: [m.conversationId], added: [m] });
      return { id: m.id, sentAt: m.timestamp };
    });
  }

  async sendFile(
    conversationId: ConversationId,
    file: File,
    progress?: (fraction: number) => void,
    thumbnail?: FileThumbnail,
    voice?: VoiceNote,
  ): Promise<{ id: string; sentAt: number }> {
    const data = new Uint8Array(await file.arrayBuffer());
    return translated(async () => {
      const m = await this.engine().sendFile(conversationId, data, {
        name: file.name,
        mime: file.type || 'application/octet-stream',
        ...(thumbnail !== undefined ? { thumbnail } : {}),
        ...(voice !== undefined ? { voice } : {}),
        // Encryption streams the file; the upload is one request after it.
        onProgress: (done, total) => progress?.(total === 0 ? 0.9 : (done / total) * 0.9),
      });
      progress?.(1);
      this.host.sent.add(m.id, m.conversationId);
      return { id: m.id, sentAt: m.timestamp };
    });
  }

  downloadFile(message: MessageRecord, progress?: (f: number) => void): Promise<Blob> {
    return translated(async () => {
      const bytes = await this.engine().downloadFile(message, (done, total) =>
        progress?.(total === 0 ? 1 : done / total),
      );
      // Never typed with the sender's declared mime: media-type.ts judges the bytes.
      return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: SAVE_ONLY_TYPE });
    });
  }

  react(c: ConversationId, targetId: string, emoji: string, remove: boolean): Promise<void> {
    return this.run(() => this.engine().react(c, targetId, remove ? null : emoji));
  }

  edit(c: ConversationId, targetId: string, text: string, mentions?: Mention[]): Promise<void> {
    return this.run(() =>
      this.engine().edit(c, targetId, text, mentions?.length ? { mentions } : {}),
    );
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
        this.host.emit({ type: 'history', conversationIds: [conversationId], unreadOnly: true }),
      )
      .catch((err: unknown) => console.warn('markRead failed', err));
  }

  markPlayed(messageId: string): void {
    const account = this.host.account;
    if (account === null) return;
    const done = this.readReceipts
      ? this.engine().markPlayed(messageId)
      : this.local().store.batch([
          {
            op: 'setReceipt',
            messageId,
            recipient: `${account.username}:${account.deviceId}`,
            status: 'played',
          },
        ]);
    void done
      .then(async () => {
        const m = await this.local().store.getMessage(messageId);
        if (m !== null) this.host.emit({ type: 'history', conversationIds: [m.conversationId] });
      })
      .catch((err: unknown) => console.warn('markPlayed failed', err));
  }

  setTyping(conversationId: ConversationId, typing: boolean): void {
    void this.host
      .engineOrNull()
      ?.setTyping(conversationId, typing)
      .catch(() => undefined);
  }

  safety(username: string): Promise<SafetyInfo> {
    return translated(() => safetyInfo(this.engine(), this.local().store, username));
  }

  verifyScanned(username: string, payload: string): Promise<boolean> {
    return verifyScannedQr(this.engine(), this.local().store, username, payload);
  }

  setVerified(username: string, verified: boolean): Promise<void> {
    return this.run(() => this.engine().trust.setVerified(username, verified));
  }

  acceptKeyChange(username: string): Promise<void> {
    return this.run(() => this.engine().trust.acceptKeyChange(username));
  }

  heldMessages(username: string): Promise<number> {
    return translated(() => this.engine().trust.held(username));
  }

  ownKeyLog(): Promise<OwnKeyLogInfo> {
    return translated(() => this.engine().trust.ownKeyLog());
  }

  async setPrivacy(settings: { shareLastSeen: boolean; readReceipts: boolean }): Promise<void> {
    this.readReceipts = settings.readReceipts;
    await this.local().store.setSetting(READ_RECEIPTS_SETTING, settings.readReceipts);
    if (settings.shareLastSeen !== this.presenceShared) {
      await this.run(() => this.engine().setPresenceVisible(settings.shareLastSeen));
      this.presenceShared = settings.shareLastSeen;
    }
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    try {
      await this.engine().changePassword(currentPassword, newPassword);
    } catch (err) {
      throw toPasswordChangeError(err);
    }
  }

  async presenceVisible(): Promise<boolean> {
    this.presenceShared = await translated(() => this.engine().presenceVisible());
    return this.presenceShared;
  }

  async devices(): Promise<DeviceInfo[]> {
    const me = this.host.account;
    if (me === null) return [];
    return translated(async () => {
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
    });
  }
}
