/**
 * Linking a second device of the same user (DESIGN.md §3, PROTOCOL.md §13).
 *
 * New device: logged in with the password (so it holds a token for its new
 * device id) but without the user identity key. {@link Linker.begin} makes a
 * link code (ephemeral X25519 key + secret), listens on the device's own inbox
 * over a short-lived MQTT connection, and waits for the LINK envelope.
 *
 * Existing device: {@link Linker.approve} checks the code (same user, not
 * expired, not a device we already have), seals the UIK plus the state worth
 * syncing (trusted contact keys, verification marks, group chains, and a
 * reference to the encrypted message-history blob, history.ts) to the code, publishes it on the new device's inbox (ACL-1: any device may publish
 * to any inbox) and waits until the new device's certificate, signed by our
 * UIK, is on the key server.
 *
 * The new device opens the bundle, checks the UIK against the one the key
 * server publishes, makes its device keys and certificate, uploads them like
 * any device, applies the synced state, imports the message history and
 * becomes a normal engine.
 */
import {
  createLinkCode,
  decodeLinkCode,
  deviceClientId,
  encodeLinkCode,
  equalBytes,
  fromBase64,
  fromUtf8,
  inboxTopic,
  openLinkBundle,
  ready,
  sealLinkBundle,
  toBase64,
  utf8,
  verifyMembershipChain,
  MAX_LINK_STATE_BYTES,
  type DeviceKind,
  type KeyPair,
} from '@sotto/crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import { ClientError } from '../errors.ts';
import { isApiError, type Tokens } from '../http.ts';
import type { AccountRecord, GroupRecord, StoreOp } from '../store/types.ts';
import { PENDING_LINK_DEVICE, setUpDevice } from './account.ts';
import type { Ctx } from './context.ts';
import { brokerServers } from './failover.ts';
import {
  exportHistory,
  importHistory,
  parseHistoryRef,
  MAX_HISTORY_BYTES,
  type HistoryImportResult,
  type HistoryRef,
} from './history.ts';
import type { Directory } from './trust.ts';

/** How long a link code is valid by default (ms). */
export const LINK_TTL_MS = 10 * 60_000;

/** How often the existing device looks for the new device's certificate (ms). */
const POLL_MS = 500;

/**
 * How long the approving device keeps a history blob after the link completed
 * (ms): the new device downloads it right after uploading its keys.
 */
export const HISTORY_BLOB_GRACE_MS = 10 * 60_000;

/** Setting: history blobs this device uploaded and deletes once `deleteAt` passed. */
const HISTORY_BLOBS = 'link.historyBlobs';
type PendingBlob = { blobId: string; deleteAt: number };

/** The state synced to a linked device (JSON inside the sealed bundle). */
interface LinkState {
  v: 1;
  contacts: { username: string; uik: string; verified: boolean; displayName?: string }[];
  /** Groups we are a member of, with the membership chain we verified (base64url records). */
  groups: { groupId: string; chain: string[] }[];
  /** The encrypted message history (history.ts), absent when not copied. */
  history?: HistoryRef;
}

/** A link in progress on the new device. */
export interface LinkSession {
  /** The code to show (text and QR payload): base64url, about 100 characters. */
  readonly code: string;
  /** When the code stops working (ms since the Unix epoch). */
  readonly expiresAt: number;
  /**
   * Resolves once the device is linked: keys uploaded, state synced, account
   * stored (call `start()` next). Rejects with ClientError LINK_EXPIRED,
   * LINK_CANCELLED or LINK_MISMATCH.
   */
  readonly linked: Promise<{
    username: string;
    deviceId: string;
    kind: DeviceKind;
    /** The message history copied from the other device (a failure does not fail the link). */
    history: HistoryImportResult;
  }>;
  /** Stop waiting (the promise rejects with LINK_CANCELLED). */
  cancel(): void;
}

/** Options of {@link Linker.begin}. */
export interface BeginLinkOptions {
  kind?: DeviceKind;
  /** Ask the server for this device id. */
  deviceId?: string;
  /** Lifetime of the code (ms), default {@link LINK_TTL_MS}. */
  ttlMs?: number;
}

/** Options of {@link Linker.approve}. */
export interface ApproveLinkOptions {
  /** Copy the message history to the new device (default true). */
  history?: boolean;
  /**
   * Bound of the history export in bytes of JSON before compression (default and
   * most {@link MAX_HISTORY_BYTES}); older messages beyond it are left out.
   */
  historyMaxBytes?: number;
}

/** Result of {@link Linker.approve}. */
export interface ApproveLinkResult {
  deviceId: string;
  /**
   * The history sent along: messages included and older ones left out (size
   * bound); null when not copied (opted out, nothing to copy, or the export
   * failed: then `historyError` says why and the device was linked without it).
   */
  history: { count: number; omitted: number } | null;
  historyError?: unknown;
}

/** What the engine hands the linker. */
export interface LinkerDeps {
  directory: Directory;
  /** Fetch and verify a group chain from the key server (Groups.refresh). */
  refreshGroup(groupId: string): Promise<unknown>;
  /** Opens MQTT connections (the engine's `mqttConnect`). */
  mqttConnect: ((options: IClientOptions) => MqttClient) | undefined;
  /** Every broker of a cluster, in failover order (the engine's `brokers`), or undefined. */
  brokers: readonly string[] | undefined;
  /** True once the engine's own MQTT connection exists (approve publishes through it). */
  isConnected(): boolean;
  /** The engine's tokens before an account exists (HTTP calls of the new device use them). */
  pendingTokens: { get(): Tokens | null; set(t: Tokens | null): void };
  /** Make `account` the engine's account. */
  adopt(account: AccountRecord): void;
}

/** The `link` half of the engine. */
export interface Linker {
  begin(username: string, password: string, options?: BeginLinkOptions): Promise<LinkSession>;
  approve(code: string, options?: ApproveLinkOptions): Promise<ApproveLinkResult>;
}

/** Create the linker of one engine; `close` cancels a link still waiting (engine close). */
export function createLinker(
  ctx: Ctx,
  deps: LinkerDeps,
): Linker & { close(): void; sweep(): Promise<void> } {
  const open = new Set<LinkSession>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;
  /** Delete the history blobs whose grace period is over; keep the rest for a later sweep. */
  const sweep = async (): Promise<void> => {
    const pending = (await ctx.store.getSetting<PendingBlob[]>(HISTORY_BLOBS)) ?? [];
    if (pending.length === 0) return;
    const keep: PendingBlob[] = [];
    for (const p of pending) {
      if (p.deleteAt > ctx.now()) {
        keep.push(p);
        continue;
      }
      try {
        await ctx.http.deleteBlob(p.blobId);
      } catch (err) {
        // Gone already: done. Anything else (offline): try again at the next sweep.
        if (!isApiError(err, 'BLOB_NOT_FOUND')) keep.push(p);
      }
    }
    // Blobs recorded meanwhile (another approval) are kept.
    const now = (await ctx.store.getSetting<PendingBlob[]>(HISTORY_BLOBS)) ?? [];
    const done = new Set(pending.filter((p) => !keep.includes(p)).map((p) => p.blobId));
    await ctx.store.setSetting(
      HISTORY_BLOBS,
      now.filter((p) => !done.has(p.blobId)),
    );
  };
  const schedule = async (blobId: string, deleteAt: number): Promise<void> => {
    const pending = (await ctx.store.getSetting<PendingBlob[]>(HISTORY_BLOBS)) ?? [];
    await ctx.store.setSetting(HISTORY_BLOBS, [...pending, { blobId, deleteAt }]);
    if (closed) return;
    const t = setTimeout(
      () => {
        timers.delete(t);
        void sweep().catch((err: unknown) => ctx.events.emit('error', err));
      },
      Math.max(0, deleteAt - ctx.now()),
    );
    timers.add(t);
  };
  return {
    async begin(username, password, options = {}) {
      const session = await begin(ctx, deps, username, password, options);
      open.add(session);
      void session.linked.then(
        () => open.delete(session),
        () => open.delete(session),
      );
      return session;
    },
    approve: (code, options) => approve(ctx, deps, code, options ?? {}, schedule),
    sweep,
    close() {
      closed = true;
      for (const s of open) s.cancel();
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

async function sleep(ms: number): Promise<void> {
  await new Promise<void>((r) => setTimeout(r, ms));
}

/** Existing device: hand the UIK and state to the device that shows `text`. */
async function approve(
  ctx: Ctx,
  deps: LinkerDeps,
  text: string,
  options: ApproveLinkOptions,
  schedule: (blobId: string, deleteAt: number) => Promise<void>,
): Promise<ApproveLinkResult> {
  await ready();
  const account = ctx.account();
  let code;
  try {
    code = decodeLinkCode(text);
  } catch (cause) {
    throw new ClientError('BAD_CODE', 'this is not a Sotto link code', { cause });
  }
  if (code.username !== account.username) {
    throw new ClientError(
      'WRONG_USER',
      `the code is for ${code.username}; only devices of ${account.username} can be linked here`,
    );
  }
  if (code.expiresAt <= ctx.now()) {
    throw new ClientError('LINK_EXPIRED', 'the link code has expired: show a new one');
  }
  if (code.deviceId === account.deviceId) {
    throw new ClientError('BAD_CODE', 'the code was made by this device');
  }
  if (!deps.isConnected()) throw new ClientError('NOT_STARTED', 'start the engine first');
  const before = await deps.directory.devices(account.username, true);
  if (before.devices.some((d) => d.deviceId === code.deviceId)) {
    throw new ClientError('BAD_CODE', `device ${code.deviceId} is already linked`);
  }
  let history: HistoryRef | null = null;
  let historyError: unknown;
  if (options.history !== false) {
    try {
      history = await exportHistory(ctx, options.historyMaxBytes ?? MAX_HISTORY_BYTES);
    } catch (err) {
      // Linking matters more than the history: link without it and say why.
      historyError = err;
      ctx.events.emit('error', err);
    }
  }
  const done = (deleteAt: number): Promise<void> =>
    history ? schedule(history.blobId, deleteAt) : Promise.resolve();
  const envelope = sealLinkBundle(code, {
    uik: account.uik,
    state: await syncState(ctx, history),
  });
  ctx.publish(inboxTopic(code.username, code.deviceId), envelope);
  // The link is done when the new device's certificate, signed by our UIK, is published.
  while (ctx.now() < code.expiresAt) {
    await sleep(POLL_MS);
    const now = await deps.directory.devices(account.username, true);
    if (now.devices.some((d) => d.deviceId === code.deviceId)) {
      // The new device fetches the history right after uploading its keys: delete it later.
      await done(ctx.now() + HISTORY_BLOB_GRACE_MS);
      return {
        deviceId: code.deviceId,
        history: history ? { count: history.count, omitted: history.omitted } : null,
        ...(historyError !== undefined ? { historyError } : {}),
      };
    }
  }
  // Nobody linked: the blob is of no use to anyone.
  await done(ctx.now());
  throw new ClientError('LINK_EXPIRED', 'the new device did not finish linking in time');
}

/** The state a new device gets: trusted keys, verification marks, group chains. */
async function syncState(ctx: Ctx, history: HistoryRef | null): Promise<Uint8Array> {
  const me = ctx.account().username;
  const contacts = (await ctx.store.listContacts())
    .filter((c) => c.uik !== null && c.username !== me)
    .map((c) => ({
      username: c.username,
      uik: toBase64(c.uik!),
      verified: c.verified,
      ...(c.displayName !== undefined ? { displayName: c.displayName } : {}),
    }));
  const groups = (await ctx.store.listGroups())
    .filter((g) => g.members.includes(me))
    .map((g) => ({ groupId: g.groupId, chain: g.chain.map((r) => toBase64(r)) }));
  const full: LinkState = { v: 1, contacts, groups, ...(history ? { history } : {}) };
  let bytes = utf8(JSON.stringify(full));
  // Very long group histories: send ids only; the new device fetches and verifies the chains.
  if (bytes.length > MAX_LINK_STATE_BYTES) {
    bytes = utf8(
      JSON.stringify({ ...full, groups: groups.map((g) => ({ groupId: g.groupId, chain: [] })) }),
    );
  }
  if (bytes.length > MAX_LINK_STATE_BYTES) bytes = utf8(JSON.stringify({ ...full, groups: [] }));
  return bytes;
}

/** Parse the synced state defensively: it came from our own device, but a bug must not break linking. */
function parseState(bytes: Uint8Array): LinkState & { historyError?: ClientError } {
  const empty: LinkState = { v: 1, contacts: [], groups: [] };
  try {
    const raw = JSON.parse(fromUtf8(bytes)) as Partial<LinkState>;
    let history: HistoryRef | undefined;
    let historyError: ClientError | undefined;
    try {
      history = parseHistoryRef(raw.history);
    } catch (err) {
      historyError = err as ClientError;
    }
    return {
      ...(history ? { history } : {}),
      ...(historyError ? { historyError } : {}),
      v: 1,
      contacts: Array.isArray(raw.contacts)
        ? raw.contacts.filter(
            (c) =>
              typeof c?.username === 'string' &&
              typeof c.uik === 'string' &&
              typeof c.verified === 'boolean',
          )
        : [],
      groups: Array.isArray(raw.groups)
        ? raw.groups.filter((g) => typeof g?.groupId === 'string' && Array.isArray(g.chain))
        : [],
    };
  } catch {
    return empty;
  }
}

/** Store the synced contacts and group chains on the new device. */
async function applyState(ctx: Ctx, deps: LinkerDeps, state: LinkState): Promise<void> {
  const now = ctx.now();
  const ops: StoreOp[] = [];
  for (const c of state.contacts) {
    try {
      ops.push({
        op: 'putContact',
        contact: {
          username: c.username,
          uik: fromBase64(c.uik),
          verified: c.verified,
          pendingUik: null,
          ...(typeof c.displayName === 'string' ? { displayName: c.displayName } : {}),
          updatedAt: now,
        },
      });
    } catch (err) {
      ctx.events.emit('error', err);
    }
  }
  for (const g of state.groups) {
    if (g.chain.length === 0) continue;
    try {
      const chain = g.chain.map((r) => fromBase64(r));
      const verified = verifyMembershipChain(chain);
      if (verified.groupId !== g.groupId) continue;
      const members = [...verified.members.keys()].sort();
      const group: GroupRecord = {
        groupId: g.groupId,
        name: verified.name,
        chain,
        members,
        admins: members.filter((m) => verified.members.get(m)!.admin),
        updatedAt: now,
      };
      ops.push({ op: 'putGroup', group });
    } catch (err) {
      ctx.events.emit('error', err);
    }
  }
  await ctx.store.batch(ops);
  // Catch up with changes made since the existing device's copy (forks and rollbacks refused).
  for (const g of state.groups) {
    await deps.refreshGroup(g.groupId).catch((err: unknown) => ctx.events.emit('error', err));
  }
}

/**
 * New device, after the bundle opened and the device is set up: import the
 * history the state points to. Never throws: a failure is a `failed` result
 * (HISTORY_NOT_IMPORTED) and the device stays linked.
 */
async function copyHistory(
  ctx: Ctx,
  state: LinkState & { historyError?: ClientError },
): Promise<HistoryImportResult> {
  const fail = (cause: unknown): HistoryImportResult => {
    ctx.events.emit('error', cause);
    const reason = cause instanceof Error ? cause.message : String(cause);
    return {
      status: 'failed',
      error: new ClientError(
        'HISTORY_NOT_IMPORTED',
        `linked, but the message history could not be imported: ${reason}`,
        { cause },
      ),
    };
  };
  if (state.historyError) return fail(state.historyError);
  const ref = state.history;
  if (!ref) return { status: 'none' };
  try {
    const { imported, skipped } = await importHistory(ctx, ref, (done, total) =>
      ctx.events.emit('historyProgress', { done, total }),
    );
    const result = { status: 'imported' as const, imported, skipped, omitted: ref.omitted };
    ctx.events.emit('historyImported', { imported, skipped, omitted: ref.omitted });
    return result;
  } catch (err) {
    return fail(err);
  }
}

/** New device: log in, show a code, wait for the sealed UIK on our inbox. */
async function begin(
  ctx: Ctx,
  deps: LinkerDeps,
  username: string,
  password: string,
  options: BeginLinkOptions,
): Promise<LinkSession> {
  await ready();
  const { store, http } = ctx;
  const connectFn = deps.mqttConnect;
  if (!connectFn) throw new ClientError('NOT_STARTED', 'linking needs an MQTT connection');
  const existing = await store.getAccount();
  if (existing?.certificate) {
    throw new ClientError('BAD_INPUT', `this device is already set up for ${existing.username}`);
  }
  const pending = await store.getSetting<{ username: string; deviceId: string }>(
    PENDING_LINK_DEVICE,
  );
  const res = await http.login(
    username,
    password,
    options.deviceId ?? (pending?.username === username ? pending.deviceId : undefined),
  );
  deps.pendingTokens.set(res);
  let client: MqttClient | null = null;
  const release = async (logout: boolean): Promise<void> => {
    const c = client;
    client = null;
    if (c) {
      await Promise.race([c.endAsync(), sleep(2000)]);
      if (!c.disconnected) c.end(true);
    }
    if (logout) await http.logout().catch(() => undefined);
    deps.pendingTokens.set(null);
  };
  try {
    const user = await http.getUser(username);
    if (user.uik === null) {
      throw new ClientError(
        'BAD_INPUT',
        `${username} has no identity key yet: log in normally to make this the first device`,
      );
    }
    const serverUik = fromBase64(user.uik);
    await store.setSetting(PENDING_LINK_DEVICE, { username, deviceId: res.deviceId });
    const expiresAt = ctx.now() + (options.ttlMs ?? LINK_TTL_MS);
    const { code, secretKey } = createLinkCode({ username, deviceId: res.deviceId, expiresAt });
    const kind = options.kind ?? 'user';

    let settle: { resolve: (a: AccountRecord) => void; reject: (e: unknown) => void } | null = null;
    const done = new Promise<AccountRecord>((resolve, reject) => {
      settle = { resolve, reject };
    });
    let historyResult: HistoryImportResult = { status: 'none' };
    let finished = false;
    /** The bundle opened: expiry and cancel no longer interrupt setting the device up. */
    let settingUp = false;
    const finish = (err: unknown, account?: AccountRecord, fromSetUp = false): void => {
      if (finished || (settingUp && !fromSetUp)) return;
      finished = true;
      clearTimeout(timer);
      if (account) settle!.resolve(account);
      else settle!.reject(err);
    };
    const timer = setTimeout(
      () => finish(new ClientError('LINK_EXPIRED', 'nobody approved the link code in time')),
      Math.max(0, expiresAt - ctx.now()),
    );

    /** One envelope on our inbox: the bundle, or noise to drop. */
    const onEnvelope = async (bytes: Uint8Array): Promise<void> => {
      // A second copy (QoS 1 redelivery, a second approval) while or after setting up: ignore.
      if (finished || settingUp) return;
      let uik: KeyPair;
      let state: Uint8Array;
      try {
        ({ uik, state } = openLinkBundle(code, secretKey, bytes));
      } catch (err) {
        // Not for this code (a stray envelope, someone guessing): drop it and keep waiting.
        ctx.events.emit('error', err);
        return;
      }
      if (!equalBytes(uik.publicKey, serverUik)) {
        finish(
          new ClientError(
            'LINK_MISMATCH',
            'the identity key from the other device is not the one the key server publishes',
          ),
        );
        return;
      }
      settingUp = true;
      clearTimeout(timer);
      try {
        const account = await setUpDevice(ctx, {
          username,
          deviceId: res.deviceId,
          kind,
          uik,
          tokens: deps.pendingTokens.get() ?? res,
        });
        deps.adopt(account);
        deps.pendingTokens.set(null);
        await store.setSetting(PENDING_LINK_DEVICE, null);
        const synced = parseState(state);
        await applyState(ctx, deps, synced);
        historyResult = await copyHistory(ctx, synced);
        finish(null, account, true);
      } catch (err) {
        finish(err, undefined, true);
      }
    };

    const clientId = deviceClientId(username, res.deviceId);
    const c = connectFn({
      // With several brokers, the link waits on whichever answers (docs/CLIENT.md failover).
      ...(deps.brokers ? { servers: brokerServers(deps.brokers) } : {}),
      clientId,
      username: clientId,
      password: res.accessToken,
      // The same persistent session the engine resumes after linking: nothing queued is lost.
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: true,
    });
    client = c;
    c.handleMessage = (packet, callback) => {
      const p = packet.payload;
      const bytes = typeof p === 'string' ? utf8(p) : new Uint8Array(p);
      onEnvelope(bytes).then(
        () => callback(),
        (err: unknown) => {
          ctx.events.emit('error', err);
          callback();
        },
      );
    };
    // Give up only once every broker refused a first attempt (one, unless a cluster is given).
    let failures = 0;
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        if (++failures < (deps.brokers?.length ?? 1)) return;
        c.off('error', fail);
        c.off('connect', onConnect);
        reject(err);
      };
      const onConnect = (): void => {
        c.off('error', fail);
        c.subscribe(inboxTopic(username, res.deviceId), { qos: 1 }, (err, granted) => {
          if (err) reject(err);
          else if (granted?.some((g) => g.qos === 128))
            reject(new Error('inbox subscription refused'));
          else resolve();
        });
      };
      c.once('connect', onConnect);
      c.on('error', fail);
    });

    const linked = done.then(
      async (account) => {
        await release(false);
        return {
          username: account.username,
          deviceId: account.deviceId,
          kind: account.kind,
          history: historyResult,
        };
      },
      async (err: unknown) => {
        await release(true);
        throw err;
      },
    );
    // Callers may look at the outcome late (after showing the code): not an unhandled rejection.
    linked.catch(() => undefined);
    return {
      code: encodeLinkCode(code),
      expiresAt,
      linked,
      cancel: () => finish(new ClientError('LINK_CANCELLED', 'linking was cancelled')),
    };
  } catch (err) {
    await release(true);
    throw err;
  }
}
