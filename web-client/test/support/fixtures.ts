/**
 * Test fixtures for component tests: a real engine store (the engine's Dexie store over
 * fake-indexeddb) filled with message records, and a recording {@link MessengerService} test
 * double whose operations only record their calls. Test-only: the product uses the engine.
 */
// The store captures IndexedDB when first imported: install the in-memory one before it.
import type { ModerationPort } from '../../src/services/moderation.ts';
import type { InvitePort } from '../../src/services/invites.ts';
import type { GuestPort } from '../../src/services/guests.ts';
import type { ProfileInfo, ProfilePort } from '../../src/services/profiles.ts';
import type { PinsPort } from '../../src/services/pins-forward.ts';
import type { PushPort } from '../../src/services/app-worker.ts';
import 'fake-indexeddb/auto';
import { createDexieStore } from '@sotto/client/dexie';
import type { ClientStore, MessageRecord, StoreOp } from '../../../client/src/store/types.ts';
import type {
  Account,
  AppLockState,
  Capability,
  ConnectionState,
  LinkApproval,
  LinkHistory,
  LinkOffer,
  MessengerEvent,
  MessengerService,
  OwnKeyLogInfo,
  CallSignalling,
} from '../../src/services/messenger.ts';
import { MessengerError } from '../../src/services/messenger.ts';

let dbSeq = 0;

/** A fresh engine store on its own IndexedDB database. */
export function freshStore(): { store: ClientStore; name: string } {
  const name = `web-test-${Date.now()}-${++dbSeq}`;
  return { store: createDexieStore({ name }), name };
}

/** A message record with defaults. */
export function message(partial: Partial<MessageRecord> & { id: string }): MessageRecord {
  return {
    conversationId: 'dm:bob',
    sender: 'bob',
    senderDevice: 'd1',
    timestamp: Date.now(),
    receivedAt: Date.now(),
    kind: 'text',
    body: { text: `hello ${partial.id}` },
    outgoing: false,
    unread: false,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
    ...partial,
  };
}

/** Write many messages in batches (as the engine does). */
export async function putMessages(store: ClientStore, messages: MessageRecord[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 1000) {
    const ops: StoreOp[] = messages
      .slice(i, i + 1000)
      .map((m) => ({ op: 'putMessage' as const, message: m }));
    await store.batch(ops);
  }
}

/** One recorded call on the test double. */
export interface Call {
  method: string;
  args: unknown[];
}

/** A MessengerService test double over a real store; records every operation it is asked. */
export class RecordingMessenger implements MessengerService {
  readonly calls: Call[] = [];
  readonly listeners = new Set<(e: MessengerEvent) => void>();
  capabilities: ReadonlySet<Capability> = new Set<Capability>([
    'groups',
    'files',
    'reactions',
    'edit',
    'delete',
    'receipts',
    'typing',
    'presence',
    'safety',
  ]);
  account: Account | null = { username: 'alice', deviceId: 'dev1' };
  connection: ConnectionState = 'online';
  /** What signUp / logIn throw, when set. */
  failWith: Error | undefined;

  constructor(readonly localStore: { store: ClientStore }) {}

  /** Calls are not among the double's capabilities: every signalling operation is refused. */
  readonly callSignalling: CallSignalling = {
    devices: () => Promise.reject(new MessengerError('UNSUPPORTED', 'no calls')),
    send: () => Promise.reject(new MessengerError('UNSUPPORTED', 'no calls')),
    note: () => Promise.reject(new MessengerError('UNSUPPORTED', 'no calls')),
    onSignal: () => () => undefined,
    iceServers: () => Promise.resolve([]),
    groupMembers: () => Promise.reject(new MessengerError('UNSUPPORTED', 'no calls')),
  };

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  /** Emit an engine event to subscribers. */
  emit(e: MessengerEvent): void {
    for (const l of this.listeners) l(e);
  }

  local() {
    return this.localStore;
  }
  async resume() {
    return this.account;
  }
  /** The app lock as the views last set it (capability `app-lock` is off by default). */
  appLockState: AppLockState = { enabled: false, idleSeconds: 300 };
  async appLock() {
    return this.appLockState;
  }
  async setAppLock(current: string | undefined, next: string | undefined) {
    this.record('setAppLock', current, next);
    this.appLockState = { ...this.appLockState, enabled: next !== undefined };
  }
  async setIdleLock(seconds: number) {
    this.record('setIdleLock', seconds);
    this.appLockState = { ...this.appLockState, idleSeconds: seconds };
  }
  async lock() {
    this.record('lock');
  }
  lockedAccount() {
    return this.account?.username ?? null;
  }
  async forgetLocked() {
    this.record('forgetLocked');
  }
  async signUp(username: string, password: string) {
    this.record('signUp', username, password);
    if (this.failWith) throw this.failWith;
    return { username, deviceId: 'dev1' };
  }
  async security(): Promise<never> {
    this.record('security');
    throw new MessengerError('UNSUPPORTED', 'no security API in the recording messenger');
  }
  async logIn(username: string, password: string) {
    this.record('logIn', username, password);
    if (this.failWith) throw this.failWith;
    return { username, deviceId: 'dev1' };
  }
  async logInWithPasskey(_progress?: unknown, after?: { username: string; password: string }) {
    this.record('logInWithPasskey', after?.username, after?.password);
    if (this.failWith) throw this.failWith;
    return { username: after?.username ?? 'passkey_user', deviceId: 'dev1' };
  }
  async logOut(options: { wipe: boolean }) {
    this.record('logOut', options);
  }
  /** What beginLink returns (a pending offer unless a test sets one). */
  linkOffer: LinkOffer | undefined;
  async beginLink(username: string, password: string): Promise<LinkOffer> {
    this.record('beginLink', username, password);
    if (this.failWith) throw this.failWith;
    return (
      this.linkOffer ?? {
        code: 'AQ-test-code',
        expiresAt: Date.now() + 600_000,
        linked: new Promise<Account>(() => undefined),
        history: new Promise<LinkHistory>(() => undefined),
        onHistoryProgress: () => undefined,
        cancel: () => this.record('cancelLink'),
      }
    );
  }
  /** What approveLink throws, when set. */
  approveFailWith: Error | undefined;
  async approveLink(code: string, options?: { history?: boolean }): Promise<LinkApproval> {
    this.record('approveLink', code, options);
    if (this.approveFailWith) throw this.approveFailWith;
    return {
      deviceId: 'dev2',
      history: options?.history === false ? null : { count: 42, omitted: 0 },
    };
  }
  subscribe(listener: (e: MessengerEvent) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async startDm(username: string) {
    this.record('startDm', username);
    return `dm:${username}`;
  }
  async createGroup(name: string, members: string[]) {
    this.record('createGroup', name, members);
    return 'group:g1';
  }
  async groupInfo(groupId: string) {
    return { groupId, name: 'G', members: [] };
  }
  /** What groupKeys returns. */
  groupKeysResult = { selfStale: false, canRekey: false, noAdmin: false, changed: [] } as Awaited<
    ReturnType<MessengerService['groupKeys']>
  >;
  async groupKeys(...args: unknown[]) {
    this.record('groupKeys', ...args);
    return this.groupKeysResult;
  }
  async rekeyMember(...args: unknown[]) {
    this.record('rekeyMember', ...args);
  }
  async previewInvite(...args: unknown[]) {
    this.record('previewInvite', ...args);
    return { groupId: 'g1', name: 'Room', topic: '', memberCount: 2, member: false };
  }
  async exploreRooms(...args: unknown[]) {
    this.record('exploreRooms', ...args);
    return [];
  }
  async joinOpenRoom(...args: unknown[]) {
    this.record('joinOpenRoom', ...args);
    return 'group:g1';
  }
  async joinByInvite(...args: unknown[]) {
    this.record('joinByInvite', ...args);
    return 'group:g1';
  }
  async addMember(...args: unknown[]) {
    this.record('addMember', ...args);
  }
  async removeMember(...args: unknown[]) {
    this.record('removeMember', ...args);
  }
  async setAdmin(...args: unknown[]) {
    this.record('setAdmin', ...args);
  }
  async leaveGroup(...args: unknown[]) {
    this.record('leaveGroup', ...args);
  }
  /** Stores the message and announces it as the engine adapter does (`added`: the stored record). */
  async sendText(conversationId: string, text: string, options?: { replyTo?: string }) {
    this.record('sendText', conversationId, text, options);
    const m = message({
      id: `m${this.calls.length}`,
      conversationId,
      sender: this.account?.username ?? 'alice',
      senderDevice: this.account?.deviceId ?? 'dev1',
      outgoing: true,
      body: { text },
    });
    await putMessages(this.localStore.store, [m]);
    this.emit({ type: 'history', conversationIds: [conversationId], added: [m] });
    return { id: m.id, sentAt: m.timestamp };
  }
  async sendFile(
    conversationId: string,
    file: File,
    _progress?: (fraction: number) => void,
    thumbnail?: unknown,
  ) {
    this.record('sendFile', conversationId, file.name, thumbnail);
    return { id: `f${this.calls.length}`, sentAt: Date.now() };
  }
  async downloadFile(m: MessageRecord): Promise<Blob> {
    this.record('downloadFile', m.id);
    return new Blob(['x']);
  }
  async react(...args: unknown[]) {
    this.record('react', ...args);
  }
  async edit(...args: unknown[]) {
    this.record('edit', ...args);
  }
  async deleteForEveryone(...args: unknown[]) {
    this.record('deleteForEveryone', ...args);
  }
  markRead(...args: unknown[]) {
    this.record('markRead', ...args);
  }
  markPlayed(...args: unknown[]) {
    this.record('markPlayed', ...args);
  }
  setTyping(...args: unknown[]) {
    this.record('setTyping', ...args);
  }
  async safety(username: string) {
    this.record('safety', username);
    return { digits: '1'.repeat(60), qrPayload: 'payload', verified: false };
  }
  async verifyScanned(username: string, payload: string) {
    this.record('verifyScanned', username, payload);
    return payload === 'payload';
  }
  async setVerified(...args: unknown[]) {
    this.record('setVerified', ...args);
  }
  async acceptKeyChange(...args: unknown[]) {
    this.record('acceptKeyChange', ...args);
  }
  /** What heldMessages answers, per user. */
  heldCounts = new Map<string, number>();
  async heldMessages(username: string) {
    this.record('heldMessages', username);
    return this.heldCounts.get(username) ?? 0;
  }
  /** What ownKeyLog answers. */
  ownKeyLogStatus: OwnKeyLogInfo = { checkedEntries: 0, checkedAt: null, unexpected: 0 };
  async ownKeyLog() {
    return this.ownKeyLogStatus;
  }
  async setPrivacy(...args: unknown[]) {
    this.record('setPrivacy', ...args);
  }
  /** What {@link presenceVisible} answers. */
  presenceShared = true;
  async presenceVisible() {
    return this.presenceShared;
  }
  async devices() {
    return [{ deviceId: 'dev1', kind: 'user' as const, current: true }];
  }
  /** The double's push routes: recorded, with a fixed VAPID key. */
  readonly push: PushPort = {
    key: async () => 'BPushKeyOfTheTestDouble',
    register: async (sub) => this.record('pushRegister', sub.endpoint),
    unregister: async () => this.record('pushUnregister'),
  };
  /** Whether the double's account is a guest (what {@link guests} answers). */
  guest = false;
  /** What the double's server says of a guest's idle time (ms; null: nothing). */
  guestIdleMs: number | null = null;
  /** When set, the guest upgrade fails with this (after being recorded). */
  guestUpgradeFailWith: MessengerError | null = null;
  /** The double's guest port: the flag above; an upgrade is recorded and clears it. */
  readonly guests: GuestPort = {
    isGuest: async () => this.guest,
    idleMs: async () => this.guestIdleMs,
    upgrade: async (password, username) => {
      if (username === undefined) this.record('upgradeGuest', password);
      else this.record('upgradeGuest', password, username);
      if (this.guestUpgradeFailWith !== null) throw this.guestUpgradeFailWith;
      this.guest = false;
      return username ?? this.account?.username ?? '';
    },
  };
  async continueAsGuest(): Promise<Account> {
    this.record('continueAsGuest');
    this.account = { username: 'guest_0a1b2c3d', deviceId: 'dev1' };
    this.guest = true;
    return this.account;
  }
  /** Blocked users of the double's account. */
  readonly blockedUsers = new Set<string>();
  /** The double's moderation: a block list in memory, the rest recorded (no operator role). */
  readonly moderation: ModerationPort = {
    setBlocked: async (u, on) => {
      this.record('setBlocked', u, on);
      if (on) this.blockedUsers.add(u);
      else this.blockedUsers.delete(u);
      return [...this.blockedUsers].sort();
    },
    isBlocked: (u) => this.blockedUsers.has(u),
    report: async (conversationId, ids, note) => {
      this.record('report', conversationId, ids, note);
      return [];
    },
    isOperator: async () => false,
    reports: async () => [],
    closeReport: async (id, status) => this.record('closeReport', id, status),
    bans: async () => [],
    ban: async (u, reason) => this.record('ban', u, reason),
    unban: async (u) => this.record('unban', u),
    closedRooms: async () => [],
    setRoomClosed: async (g, closed) => this.record('setRoomClosed', g, closed),
    log: async () => [],
  };
  /** The double's invites: recorded; creating one is refused (no chain behind the double). */
  readonly invites: InvitePort = {
    create: () => Promise.reject(new MessengerError('UNSUPPORTED', 'no invites')),
    list: async (groupId) => {
      this.record('listInvites', groupId);
      return [];
    },
    revoke: async (groupId, id) => this.record('revokeInvite', groupId, id),
  };
  /** Profiles the double knows, by username (no pictures). */
  readonly knownProfiles = new Map<string, ProfileInfo>();
  /** The double's profiles: names in memory, no pictures. */
  readonly profiles: ProfilePort = {
    own: async () => this.knownProfiles.get('me') ?? null,
    set: async (input) => {
      this.record('setProfile', input.displayName);
      if (typeof input.displayName === 'string')
        this.knownProfiles.set('me', { displayName: input.displayName, hasAvatar: false });
    },
    of: async (u) => this.knownProfiles.get(u) ?? null,
    avatar: async () => null,
  };
  /** The double's pins: none, and nothing may be pinned or forwarded (recorded). */
  readonly pins: PinsPort = {
    list: async () => [],
    canPin: async () => false,
    setPinned: async (c, id, pinned) => this.record('setPinned', c, id, pinned),
    forward: async (id, to) => {
      this.record('forward', id, [...to]);
      return [];
    },
  };
  watchPresence(usernames: readonly string[]) {
    this.record('watchPresence', [...usernames]);
  }
  /** What changePassword throws, when set. */
  passwordFailWith: Error | undefined;
  async changePassword(currentPassword: string, newPassword: string) {
    this.record('changePassword', currentPassword, newPassword);
    if (this.passwordFailWith) throw this.passwordFailWith;
  }
  /** What resetIdentity and logInWithNewIdentity throw, when set. */
  resetFailWith: Error | undefined;
  async resetIdentity(password: string) {
    this.record('resetIdentity', password);
    if (this.resetFailWith) throw this.resetFailWith;
    this.account = { username: this.account?.username ?? 'alice', deviceId: 'dev-reset' };
    return this.account;
  }
  async logInWithNewIdentity(username: string, password: string) {
    this.record('logInWithNewIdentity', username, password);
    if (this.resetFailWith) throw this.resetFailWith;
    return { username, deviceId: 'dev-reset' };
  }
}

/** Wait until `check` passes (bounded). */
export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
