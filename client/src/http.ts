/**
 * Typed HTTP client for the key server routes (DESIGN.md §4.1). Fetch-based,
 * so it runs unchanged in browsers and Node ≥ 20; the base URL and `fetch` are
 * injected. Binary objects travel as base64url strings of their canonical
 * encodings (PROTOCOL.md §1); this module leaves them as strings and the
 * engine decodes them with @sotto/crypto.
 *
 * Errors: every failure is an {@link ApiError} carrying the server's stable
 * `{ error, message }` code and the HTTP status; a network failure is
 * `ApiError('NETWORK', …)` with status 0. A 401 on an authenticated route
 * triggers one refresh with the refresh token and a retry (not when the 401 is
 * a wrong current password on a password change).
 */
import { decodeDiscovery, type Discovery, type TurnCredentials } from '@sotto/crypto/wire';

/** Error code from the key server's `{ error }`, or a client-side one. */
export type ApiErrorCode = string;

/** A failed key server call. `code` is the server's stable error code; `status` 0 = no response. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** How long the server asked to wait before trying again (`Retry-After`, on 429/503), in ms. */
  readonly retryAfterMs: number | undefined;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly status: number,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or bad. */
function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = /^\s*\d+\s*$/.test(header) ? Number(header) : (Date.parse(header) - now) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, Math.ceil(seconds)) * 1000 : undefined;
}

/** True when `err` is an {@link ApiError}, optionally of the given code. */
export function isApiError(err: unknown, code?: ApiErrorCode): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}

/** Access + refresh token pair. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/** `POST /v1/sessions` response. */
export interface LoginResult extends Tokens {
  deviceId: string;
}

/** What a login may say about the device besides its id (docs/API.md "Devices"). */
export interface LoginExtras {
  /** The second factor in the same request: a TOTP code or a recovery code. */
  totp?: string;
  /** Name of a new device (default: browser and system, or "sotto CLI"). */
  deviceName?: string;
  platform?: 'web' | 'cli';
}

/**
 * The password was right and the account has two-factor on: log in again with the code
 * ({@link LoginExtras.totp}), or send it with `mfaToken` to `POST /v1/sessions/mfa`.
 */
export class MfaRequiredError extends ApiError {
  constructor(
    readonly mfaToken: string,
    readonly methods: string[],
  ) {
    super('MFA_REQUIRED', 'this account needs a two-factor code', 401);
  }
}

/** `PUT /v1/devices/{deviceId}/keys` body: base64url of canonical encodings; every part optional. */
export interface KeyUpload {
  certificate?: string;
  signedPrekey?: string;
  kemPrekey?: string;
  oneTimePrekeys?: string[];
  oneTimeKemPrekeys?: string[];
  /** Replace the user's UIK (lost all devices); the server drops the user's other devices. */
  resetIdentity?: boolean;
  /**
   * The account password, sent with `resetIdentity`: the key server refuses a reset without it
   * unless the token comes from a password login at most 5 minutes old (docs/API.md).
   */
  password?: string;
}

/** `GET /v1/devices/{deviceId}/keys/count` response. */
export interface PrekeyCounts {
  oneTimePrekeys: number;
  oneTimeKemPrekeys: number;
}

/** One device in `GET /v1/users/{username}`. */
export interface DeviceEntry {
  deviceId: string;
  certificate: string;
  kind?: string;
  /** Index of the certificate's key-log leaf (null: not logged). */
  logIndex?: number | null;
}

/** `GET /v1/log/head`. */
export interface LogHead {
  treeSize: number;
  root: string;
  timestamp: number;
  signature: string;
  signedTreeHead: string;
  publicKey: string;
}

/** `GET /v1/log/proof`. */
export interface LogInclusion {
  index: number;
  treeSize: number;
  leaf: string;
  proof: string[];
}

/** `GET /v1/users/{username}` response. */
export interface UserKeys {
  username: string;
  uik: string | null;
  /** `true` for an active guest account (docs/API.md "Guests"); absent otherwise. */
  guest?: boolean;
  /** The guest rename this name is the old or new name of (PROTOCOL.md §3.3); absent otherwise. */
  rename?: RenameEntry;
  devices: DeviceEntry[];
}

/** {@link UserKeys.rename}: the statement (base64url) and the log indexes of its two leaves. */
export interface RenameEntry {
  from: string;
  to: string;
  statement: string;
  arrivalIndex: number;
  tombstoneIndex: number;
}

/** The rename fields of a guest upgrade to a new username (PROTOCOL.md §3.3), base64url. */
export interface GuestRenameBody {
  username: string;
  rename: string;
  certificate: string;
}

/** A claimed prekey bundle (base64url fields). */
export interface BundleResponse {
  certificate: string;
  signedPrekey: string;
  kemPrekey: string;
  oneTimePrekey?: string | null;
}

/** `GET /v1/groups/{groupId}` response: the signed chain, in order. */
export interface GroupChain {
  groupId: string;
  records: string[];
}

/** `POST /v1/groups/{groupId}/preview` response (API.md "Rooms"): unverified until the chain is. */
export interface GroupPreviewResponse {
  groupId: string;
  name: string;
  topic: string;
  join: 'admins-add' | 'invite' | 'open';
  announce: boolean;
  memberCount: number;
  seq: number;
  records: string[];
}

/** One room of `GET /v1/rooms`. */
export interface DirectoryRoom {
  groupId: string;
  name: string;
  topic: string;
  memberCount: number;
}

/** Credentials of a registered thing (`POST /v1/things`). */
export interface ThingCredentials {
  /** MQTT clientId: `thing:{owner}:{thing}`. */
  clientId: string;
  /** MQTT username (equal to the clientId). */
  username: string;
  /** MQTT password (shown once). */
  password: string;
  /** Topic filter the thing may use: `iot/{owner}/{thing}/#`. */
  topic: string;
}

/** A thing in `GET /v1/things`. */
export interface ThingEntry {
  name: string;
  clientId: string;
  topic: string;
  active: boolean;
  createdAt: number;
}

/** `GET` / `PUT /v1/me/settings`: per-user settings the servers act on. */
export interface UserSettings {
  /** Brokers publish this user's online / last-seen presence. */
  presenceVisible: boolean;
}

/** Options for {@link createHttpClient}. */
export interface HttpClientOptions {
  /** e.g. `http://127.0.0.1:8080` (no trailing `/v1`). */
  baseUrl: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Current tokens (read on every request); an empty access token means "refresh first". */
  getTokens?: () => Tokens | null;
  /** Called after a successful refresh, so the engine can persist the new pair. */
  onTokens?: (tokens: Tokens) => void | Promise<void>;
}

/** The typed key server API. */
export interface HttpClient {
  readonly baseUrl: string;
  signUp(username: string, password: string): Promise<void>;
  /** Log in; throws {@link MfaRequiredError} when two-factor is on and `extras.totp` is absent. */
  login(
    username: string,
    password: string,
    deviceId?: string,
    extras?: LoginExtras,
  ): Promise<LoginResult>;
  /**
   * Any key-server route under `/v1/` (the account-security routes of `security-api.ts`, the
   * safety and administration wrappers use it): JSON body, bearer token when `auth`, the same
   * refresh-and-retry on 401 as the typed calls.
   */
  call<T>(method: string, path: string, o?: { body?: unknown; auth?: boolean }): Promise<T>;
  /** Replace the access token (a step-up's fresh one) keeping the refresh token. */
  useAccessToken(accessToken: string): Promise<void>;
  /**
   * Exchange the refresh token for a new pair (also called automatically on 401). During a
   * password change it waits for the change and returns its pair instead: the old refresh
   * token is revoked by the change, and presenting it would end this device's new session.
   */
  refresh(): Promise<Tokens>;
  /**
   * Change the account password (`POST /v1/accounts/password`). The server revokes every token
   * of the user (all devices are disconnected) and returns a new pair for this device, handed
   * to `onTokens` before this resolves. A wrong current password is
   * `ApiError('INVALID_CREDENTIALS')`; a new one under 8 characters is `ApiError('VALIDATION_FAILED')`.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<Tokens>;
  /**
   * Continue as guest (`POST /v1/guests`): a new password-less account `guest_xxxxxxxx`, signed
   * in on a new device. `ApiError('RATE_LIMITED')` past the per-IP limit,
   * `ApiError('GUESTS_DISABLED')` where the server offers none.
   */
  createGuest(extras?: Omit<LoginExtras, 'totp'>): Promise<LoginResult & { username: string }>;
  /**
   * Turn this guest account into a full one with `password` (`POST /v1/guests/upgrade`); like
   * {@link changePassword}, every old token is revoked and the new pair reaches `onTokens`.
   * `ApiError('GUEST_NOT_ALLOWED')` for an account that is no (longer a) guest. With `rename`
   * the account moves to `rename.username`: `USERNAME_TAKEN` when that name is taken or
   * reserved, `RENAME_MISMATCH` when the statement or certificate do not match.
   */
  upgradeGuest(password: string, rename?: GuestRenameBody): Promise<Tokens>;
  logout(): Promise<void>;
  uploadKeys(deviceId: string, keys: KeyUpload): Promise<void>;
  countPrekeys(deviceId: string): Promise<PrekeyCounts>;
  getUser(username: string): Promise<UserKeys>;
  claimBundle(username: string, deviceId: string): Promise<BundleResponse>;
  /**
   * Claim the bundles of up to 100 devices in one request (`POST /v1/bundles/claim`),
   * in the order asked; null for a device without published keys.
   */
  claimBundles(
    devices: { username: string; deviceId: string }[],
  ): Promise<{ username: string; deviceId: string; bundle: BundleResponse | null }[]>;
  createGroup(record: string): Promise<{ groupId: string }>;
  getGroup(groupId: string): Promise<GroupChain>;
  appendGroupChange(groupId: string, record: string): Promise<void>;
  /** A room's preview; `invite`/`proof` (base64url) for an invite-only room. */
  previewGroup(
    groupId: string,
    invite?: { invite: string; proof: string },
  ): Promise<GroupPreviewResponse>;
  /** The public room directory. */
  listRooms(query?: string, limit?: number): Promise<DirectoryRoom[]>;
  addThing(thing: string): Promise<ThingCredentials>;
  listThings(): Promise<ThingEntry[]>;
  revokeThing(thing: string): Promise<void>;
  uploadBlob(bytes: Uint8Array): Promise<{ id: string; size: number }>;
  logHead(): Promise<LogHead>;
  logProof(index: number, treeSize: number): Promise<LogInclusion>;
  logConsistency(from: number, to: number): Promise<{ from: number; to: number; proof: string[] }>;
  /** Raw key-log leaves [start, end) (the server returns at most 1000 per call). */
  logEntries(start: number, end: number): Promise<{ start: number; entries: string[] }>;
  downloadBlob(id: string): Promise<Uint8Array>;
  /** Delete a blob this user uploaded (404 `BLOB_NOT_FOUND` when gone, 403 for others' blobs). */
  deleteBlob(id: string): Promise<void>;
  getSettings(): Promise<UserSettings>;
  /** Change some settings; returns all of them. */
  updateSettings(patch: Partial<UserSettings>): Promise<UserSettings>;
  /** The discovery document (`GET /v1/config`): brokers and the ICE servers for calls. */
  discovery(): Promise<Discovery>;
  /** Time-limited TURN credentials (`POST /v1/calls/turn`); 404 TURN_NOT_CONFIGURED without TURN. */
  turnCredentials(): Promise<TurnCredentials>;
  /** The server's VAPID public key for `PushManager.subscribe` (`GET /v1/push/key`). */
  pushKey(): Promise<string>;
  /** Set this device's Web Push subscription (`PUT /v1/devices/{id}/push`, `toJSON()` form). */
  setPushSubscription(deviceId: string, subscription: PushSubscriptionBody): Promise<void>;
  /** Forget this device's Web Push subscription (`DELETE /v1/devices/{id}/push`). */
  deletePushSubscription(deviceId: string): Promise<void>;
}

/** A push subscription as the browser's `PushSubscription.toJSON()` gives it. */
export interface PushSubscriptionBody {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

interface RequestOptions {
  body?: unknown;
  raw?: Uint8Array;
  auth?: boolean;
  binaryResponse?: boolean;
  /** The password change itself: a 401 INVALID_CREDENTIALS is final, other 401s refresh directly. */
  passwordChange?: boolean;
}

/** Create the key server client. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  let refreshing: Promise<Tokens> | null = null;
  let changing: Promise<Tokens> | null = null;

  async function send(method: string, path: string, o: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = {};
    let body: RequestInit['body'];
    if (o.raw) {
      headers['content-type'] = 'application/octet-stream';
      body = o.raw as Uint8Array<ArrayBuffer>;
    } else if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    if (o.auth) {
      let t = options.getTokens?.();
      // The access token lives in memory only (issue 15): a restarted client holds just the
      // refresh token, shown here as an empty access token, and refreshes before its first call.
      if (t?.accessToken === '') {
        await rotate();
        t = options.getTokens?.();
      }
      if (!t) throw new ApiError('NOT_LOGGED_IN', 'no access token: log in first', 0);
      headers.authorization = `Bearer ${t.accessToken}`;
    }
    try {
      return await doFetch(`${baseUrl}${path}`, { method, headers, ...(body ? { body } : {}) });
    } catch (cause) {
      throw new ApiError('NETWORK', `key server unreachable at ${baseUrl}`, 0, { cause });
    }
  }

  async function fail(res: Response): Promise<never> {
    let code = `HTTP_${res.status}`;
    let message = res.statusText || `HTTP ${res.status}`;
    try {
      const j = (await res.json()) as { error?: unknown; message?: unknown; code?: unknown };
      if (typeof j.error === 'string') code = j.error;
      if (typeof j.message === 'string') message = j.message;
    } catch {
      // Not JSON (a proxy error page): keep the HTTP status as the code.
    }
    const wait = retryAfterMs(res.headers.get('retry-after'));
    throw new ApiError(code, message, res.status, wait === undefined ? {} : { retryAfterMs: wait });
  }

  async function errorCode(res: Response): Promise<string | null> {
    try {
      const j = (await res.json()) as { error?: unknown };
      return typeof j.error === 'string' ? j.error : null;
    } catch {
      return null;
    }
  }

  /** The refresh itself: one at a time (a reused refresh token revokes the family). */
  function rotate(): Promise<Tokens> {
    refreshing ??= (async () => {
      try {
        const t = options.getTokens?.();
        if (!t) throw new ApiError('NOT_LOGGED_IN', 'no refresh token: log in first', 0);
        const next = await request<Tokens>('POST', '/v1/sessions/refresh', {
          body: { refreshToken: t.refreshToken },
        });
        await options.onTokens?.(next);
        return next;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  /**
   * A call that ends every session of the user and answers with this device's new pair
   * (password change, guest upgrade): one at a time, after any refresh in flight, and the pair
   * reaches `onTokens` before it resolves.
   */
  function replaceSession(path: string, body: unknown): Promise<Tokens> {
    if (changing) {
      return Promise.reject(
        new ApiError('PASSWORD_CHANGE_IN_PROGRESS', 'a password change is in progress', 0),
      );
    }
    const run = (async () => {
      try {
        // A refresh in flight must land first: the change revokes the pair it presents.
        await refreshing?.catch(() => undefined);
        const next = await request<Tokens>('POST', path, {
          auth: true,
          passwordChange: true,
          body,
        });
        await options.onTokens?.(next);
        return next;
      } finally {
        changing = null;
      }
    })();
    changing = run;
    return run;
  }

  async function request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    let res = await send(method, path, o);
    if (res.status === 401 && o.auth && options.getTokens?.()?.refreshToken) {
      if (o.passwordChange) {
        if ((await errorCode(res.clone())) === 'INVALID_CREDENTIALS') return fail(res);
        await rotate();
      } else {
        await client.refresh();
      }
      res = await send(method, path, o);
    }
    if (!res.ok) return fail(res);
    if (o.binaryResponse) return new Uint8Array(await res.arrayBuffer()) as T;
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const enc = encodeURIComponent;
  const client: HttpClient = {
    baseUrl,
    async signUp(username, password) {
      await request('POST', '/v1/accounts', { body: { username, password } });
    },
    async login(username, password, deviceId, extras = {}) {
      const r = await request<
        LoginResult | { mfaRequired: true; mfaToken: string; methods: string[] }
      >('POST', '/v1/sessions', {
        body: {
          username,
          password,
          ...(deviceId === undefined ? {} : { deviceId }),
          ...extras,
        },
      });
      if ('mfaRequired' in r) throw new MfaRequiredError(r.mfaToken, r.methods);
      return r;
    },
    call(method, path, o = {}) {
      if (!path.startsWith('/v1/')) throw new RangeError('path must start with /v1/');
      return request(method, path, o);
    },
    async useAccessToken(accessToken) {
      const t = options.getTokens?.();
      if (!t) throw new ApiError('NOT_LOGGED_IN', 'no session: log in first', 0);
      await options.onTokens?.({ accessToken, refreshToken: t.refreshToken });
    },
    async refresh() {
      const pending = changing;
      if (pending) {
        try {
          return await pending;
        } catch {
          // The password did not change: the old pair is still good, refresh it as usual.
        }
      }
      return rotate();
    },
    changePassword(currentPassword, newPassword) {
      return replaceSession('/v1/accounts/password', { currentPassword, newPassword });
    },
    upgradeGuest(password, rename) {
      return replaceSession('/v1/guests/upgrade', { password, ...rename });
    },
    async createGuest(extras = {}) {
      return request<LoginResult & { username: string }>('POST', '/v1/guests', { body: extras });
    },
    async logout() {
      await request('DELETE', '/v1/sessions/current', { auth: true });
    },
    async uploadKeys(deviceId, keys) {
      await request('PUT', `/v1/devices/${enc(deviceId)}/keys`, { body: keys, auth: true });
    },
    async countPrekeys(deviceId) {
      const r = await request<Partial<PrekeyCounts>>(
        'GET',
        `/v1/devices/${enc(deviceId)}/keys/count`,
        {
          auth: true,
        },
      );
      return { oneTimePrekeys: r.oneTimePrekeys ?? 0, oneTimeKemPrekeys: r.oneTimeKemPrekeys ?? 0 };
    },
    getUser(username) {
      return request<UserKeys>('GET', `/v1/users/${enc(username)}`, { auth: true });
    },
    async claimBundles(devices) {
      const res = await request<{
        bundles: { username: string; deviceId: string; bundle: BundleResponse | null }[];
      }>('POST', '/v1/bundles/claim', { auth: true, body: { devices } });
      return res.bundles;
    },
    claimBundle(username, deviceId) {
      return request<BundleResponse>(
        'POST',
        `/v1/users/${enc(username)}/devices/${enc(deviceId)}/bundle`,
        { auth: true, body: {} },
      );
    },
    createGroup(record) {
      return request<{ groupId: string }>('POST', '/v1/groups', { auth: true, body: { record } });
    },
    getGroup(groupId) {
      return request<GroupChain>('GET', `/v1/groups/${enc(groupId)}`, { auth: true });
    },
    async appendGroupChange(groupId, record) {
      await request('POST', `/v1/groups/${enc(groupId)}/changes`, { auth: true, body: { record } });
    },
    previewGroup(groupId, invite) {
      return request<GroupPreviewResponse>('POST', `/v1/groups/${enc(groupId)}/preview`, {
        auth: true,
        body: invite ?? {},
      });
    },
    async listRooms(query, limit) {
      const params = new URLSearchParams();
      if (query) params.set('q', query);
      if (limit !== undefined) params.set('limit', String(limit));
      const qs = params.toString();
      const r = await request<{ rooms: DirectoryRoom[] }>('GET', `/v1/rooms${qs ? `?${qs}` : ''}`, {
        auth: true,
      });
      return r.rooms;
    },
    addThing(thing) {
      return request<ThingCredentials>('POST', '/v1/things', { auth: true, body: { name: thing } });
    },
    async listThings() {
      const r = await request<{ things: ThingEntry[] }>('GET', '/v1/things', { auth: true });
      return r.things;
    },
    async revokeThing(thing) {
      await request('DELETE', `/v1/things/${enc(thing)}`, { auth: true });
    },
    uploadBlob(bytes) {
      return request<{ id: string; size: number }>('POST', '/v1/blobs', { auth: true, raw: bytes });
    },
    logHead() {
      return request<LogHead>('GET', '/v1/log/head', { auth: true });
    },
    logProof(index, treeSize) {
      return request<LogInclusion>('GET', `/v1/log/proof?index=${index}&treeSize=${treeSize}`, {
        auth: true,
      });
    },
    logConsistency(from, to) {
      return request<{ from: number; to: number; proof: string[] }>(
        'GET',
        `/v1/log/consistency?from=${from}&to=${to}`,
        { auth: true },
      );
    },
    logEntries(start, end) {
      return request<{ start: number; entries: string[] }>(
        'GET',
        `/v1/log/entries?start=${start}&end=${end}`,
        { auth: true },
      );
    },
    downloadBlob(id) {
      return request<Uint8Array>('GET', `/v1/blobs/${enc(id)}`, {
        auth: true,
        binaryResponse: true,
      });
    },
    async deleteBlob(id) {
      await request('DELETE', `/v1/blobs/${enc(id)}`, { auth: true });
    },
    getSettings() {
      return request<UserSettings>('GET', '/v1/me/settings', { auth: true });
    },
    updateSettings(patch) {
      return request<UserSettings>('PUT', '/v1/me/settings', { auth: true, body: patch });
    },
    async discovery() {
      return decodeDiscovery(JSON.stringify(await request<unknown>('GET', '/v1/config', {})));
    },
    turnCredentials() {
      return request<TurnCredentials>('POST', '/v1/calls/turn', { auth: true });
    },
    async pushKey() {
      return (await request<{ publicKey: string }>('GET', '/v1/push/key', { auth: true }))
        .publicKey;
    },
    async setPushSubscription(deviceId, subscription) {
      const body = { endpoint: subscription.endpoint, keys: subscription.keys };
      await request('PUT', `/v1/devices/${enc(deviceId)}/push`, { auth: true, body });
    },
    async deletePushSubscription(deviceId) {
      await request('DELETE', `/v1/devices/${enc(deviceId)}/push`, { auth: true });
    },
  };
  return client;
}
