/**
 * Redis store (node-redis v6) — cluster mode: any number of stateless key
 * servers share one Redis. Every key lives under one configurable prefix.
 * Multi-step changes that must be atomic (prekey claims, refresh-token use,
 * group compare-and-set appends, revocations) run as Lua scripts, which Redis
 * executes without interleaving. Binary values are stored as base64.
 *
 * Some scripts build key names from the prefix inside Lua; that is fine on a
 * single Redis (or a replica set) but would need hash tags on Redis Cluster.
 */
import { createHash } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import { checkThingSecret } from './secrets.ts';
import type {
  ClaimedBundle,
  ClaimQuota,
  DeviceKind,
  DeviceRecord,
  GroupMember,
  IssuedToken,
  PrekeyCounts,
  RefreshTokenRecord,
  Store,
  UserSettings,
} from './types.ts';

/** A connected node-redis client as returned by `createClient()`. */
export type RedisClient = RedisClientType;

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** `redis://…`; a client is created, connected and closed by the store. */
  url?: string;
  /** Or an existing connected client (left open on `close()`). */
  client?: RedisClient;
  /** Key prefix (default `sotto:`). */
  prefix?: string;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Longest a batched claim or token-check call may wait for Redis (ms, default 5,000). */
  batchTimeoutMs?: number;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: string | null | undefined): Uint8Array | null =>
  s === null || s === undefined ? null : new Uint8Array(Buffer.from(s, 'base64'));
/** Decoded base64 as a Uint8Array view of the decoding buffer (no second copy; hot claim path). */
const view64 = (s: string): Uint8Array => {
  const b = Buffer.from(s, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

/** A Lua script run by EVALSHA with an EVAL fallback on NOSCRIPT. */
interface Script {
  src: string;
  sha: string;
}
const script = (src: string): Script => ({
  src,
  sha: createHash('sha1').update(src).digest('hex'),
});

const CREATE_USER = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'passwordHash', ARGV[1], 'createdAt', ARGV[2])
return 1`);

// KEYS: user hash. ARGV: field, value. Sets the field only when the account exists.
const SET_IF_USER = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`);

const ACTIVATE_DEVICE = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'kind', 'user', 'updatedAt', ARGV[3])
end
redis.call('HSET', KEYS[1], 'active', '1', 'username', ARGV[1], 'deviceId', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[2])
return 1`);

// KEYS: x list, x hash, kem list, kem hash. ARGV: cap, number of x entries, then id/data pairs.
const ADD_OTKS = script(`
local cap = tonumber(ARGV[1])
local nx = tonumber(ARGV[2])
local i = 3
local function add(list, hash, n)
  for _ = 1, n do
    local id, data = ARGV[i], ARGV[i + 1]
    i = i + 2
    if redis.call('HSET', hash, id, data) == 1 then redis.call('RPUSH', list, id) end
  end
  while redis.call('LLEN', list) > cap do
    local old = redis.call('LPOP', list)
    redis.call('HDEL', hash, old)
  end
end
add(KEYS[1], KEYS[2], nx)
add(KEYS[3], KEYS[4], (#ARGV - 2 - 2 * nx) / 2)
return { redis.call('LLEN', KEYS[1]), redis.call('LLEN', KEYS[3]) }`);

// KEYS: per claim six keys — device hash, x list, x hash, kem list, kem hash, the claimant's
// counter for this device (see ClaimQuota). ARGV: per claim the quota's max ('' = no quota) and
// window ms. One result per claim, in order: false (no such active device with keys) or its
// bundle fields and the one-time prekeys left of each kind. A claimant at its max takes
// nothing; a counted claim starts the window (PEXPIRE) when it is the first of one.
const CLAIM = script(`
local function take(list, hash)
  local id = redis.call('LPOP', list)
  if not id then return false end
  local data = redis.call('HGET', hash, id)
  redis.call('HDEL', hash, id)
  return data
end
local out = {}
local n = 0
for i = 1, #KEYS, 6 do
  n = n + 1
  local d = redis.call('HMGET', KEYS[i], 'active', 'certificate', 'signedPrekey', 'kemPrekey')
  if d[1] ~= '1' or not d[2] or not d[3] or not d[4] then
    out[n] = false
  else
    local max = tonumber(ARGV[2 * n - 1])
    local allowed = true
    if max then allowed = tonumber(redis.call('GET', KEYS[i + 5]) or '0') < max end
    local otk, kem = false, false
    if allowed then
      otk = take(KEYS[i + 1], KEYS[i + 2])
      kem = take(KEYS[i + 3], KEYS[i + 4])
    end
    if max and (otk or kem) and redis.call('INCR', KEYS[i + 5]) == 1 then
      redis.call('PEXPIRE', KEYS[i + 5], ARGV[2 * n])
    end
    local last = '0'
    if not kem then kem = d[4]; last = '1' end
    out[n] = { d[2], d[3], kem, last, otk or '',
      redis.call('LLEN', KEYS[i + 1]), redis.call('LLEN', KEYS[i + 3]) }
  end
end
return out`);

// KEYS: per token its revoked key and its device hash. One 1 (usable) or 0 per token.
const TOKENS_USABLE = script(`
local out = {}
for i = 1, #KEYS, 2 do
  local ok = redis.call('EXISTS', KEYS[i]) == 0 and redis.call('HGET', KEYS[i + 1], 'active') == '1'
  out[#out + 1] = ok and 1 or 0
end
return out`);

/** Most claims or token checks one script call carries (bounds the time Redis is busy with it). */
const BATCH_MAX = 128;

/** Longest a batched script call may take before its callers get an error (ms; node-redis's default). */
const BATCH_TIMEOUT_MS = 5_000;

/** A batched script call that Redis did not answer in time (`batchTimeoutMs`). */
export class RedisBatchTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer a batched script call within ${ms} ms`);
    this.name = 'RedisBatchTimeoutError';
  }
}

/**
 * Deadlines for calls in flight with one timer for all of them. node-redis arms an
 * `AbortSignal.timeout` per command (5 s by default) whose timer later fires and builds a
 * `DOMException` — about 2 % of a bundle claim's CPU on the hot path. The batched calls run
 * with that off and are failed by one sweep instead.
 */
function createDeadlines(ms: number): {
  watch<T>(p: Promise<T>): Promise<T>;
  stop(): void;
} {
  const inFlight = new Set<{ at: number; fail: (err: Error) => void }>();
  let timer: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = Date.now();
    for (const c of inFlight) {
      if (now - c.at < ms) continue;
      inFlight.delete(c);
      c.fail(new RedisBatchTimeoutError(ms));
    }
    if (inFlight.size === 0) stop();
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  return {
    watch: (p) =>
      new Promise((resolve, reject) => {
        const c = { at: Date.now(), fail: reject };
        inFlight.add(c);
        timer ??= setInterval(sweep, Math.max(1, Math.floor(ms / 5))).unref();
        p.then(
          (v) => {
            inFlight.delete(c);
            resolve(v);
          },
          (err: Error) => {
            inFlight.delete(c);
            reject(err);
          },
        );
      }),
    stop,
  };
}

/**
 * Coalesce calls made in one turn of the event loop into batches of up to
 * {@link BATCH_MAX}: every request in flight then costs one share of a script
 * call instead of one script call (round trip, command and client overhead).
 */
function coalesce<A, R>(runBatch: (items: A[]) => Promise<R[]>): (item: A) => Promise<R> {
  let queue: { item: A; resolve: (r: R) => void; reject: (err: unknown) => void }[] = [];
  const flush = (): void => {
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += BATCH_MAX) {
      const batch = all.slice(i, i + BATCH_MAX);
      runBatch(batch.map((b) => b.item)).then(
        (results) => batch.forEach((b, j) => b.resolve(results[j] as R)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      );
    }
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (queue.length === 1) setImmediate(flush);
    });
}

// KEYS: issued zset, families set. ARGV: now, prefix. Returns jti/expiry pairs.
const REVOKE_DEVICE = script(`
local now = tonumber(ARGV[1])
local out = {}
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES')
for i = 1, #items, 2 do
  local jti, exp = items[i], items[i + 1]
  redis.call('SET', ARGV[2] .. 'revoked:' .. jti, '1', 'PXAT', exp)
  table.insert(out, jti)
  table.insert(out, exp)
end
redis.call('DEL', KEYS[1])
for _, f in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('HSET', ARGV[2] .. 'rfam:' .. f, 'revoked', '1')
end
return out`);

// KEYS: refresh hash. ARGV: now, prefix.
const USE_REFRESH = script(`
local r = redis.call('HMGET', KEYS[1], 'familyId', 'username', 'deviceId', 'expiresAt', 'used',
  'authTime')
if not r[1] then return false end
if tonumber(r[4]) <= tonumber(ARGV[1]) then return false end
local status = 'ok'
if r[5] == '1' or redis.call('HGET', ARGV[2] .. 'rfam:' .. r[1], 'revoked') == '1' then
  status = 'reused'
else
  redis.call('HSET', KEYS[1], 'used', '1')
end
return { status, r[1], r[2], r[3], r[4], r[6] or '' }`);

// KEYS: group hash, records list, members hash. ARGV: expected previous seq ('' = create), new seq, record, then name/admin pairs.
const PUT_GROUP = script(`
local cur = redis.call('HGET', KEYS[1], 'seq')
if ARGV[1] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'seq', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[3])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
return 1`);

// KEYS: thing hash, owner's thing set. ARGV: thing, secret hash, createdAt.
const CREATE_THING = script(`
if redis.call('HGET', KEYS[1], 'active') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'secretHash', ARGV[2], 'active', '1', 'createdAt', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`);

const REVOKE_THING = script(`
if redis.call('HGET', KEYS[1], 'active') ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'active', '0')
return 1`);

const PUT_BLOB = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'size', ARGV[2], 'createdAt', ARGV[3])
return 1`);

/** Open a Redis store (connecting when given a URL). */
export async function createRedisStore(opts: RedisStoreOptions): Promise<Store> {
  const prefix = opts.prefix ?? 'sotto:';
  const now = opts.now ?? Date.now;
  const owned = !opts.client;
  let client: RedisClient;
  if (opts.client) {
    client = opts.client;
  } else {
    if (!opts.url) throw new TypeError('createRedisStore needs `url` or `client`');
    client = createClient({ url: opts.url });
    client.on('error', () => {
      // Reconnects are automatic; commands fail (and routes answer 503) while Redis is down.
    });
    await client.connect();
  }

  const k = {
    user: (u: string) => `${prefix}user:${u}`,
    devices: (u: string) => `${prefix}devices:${u}`,
    device: (u: string, d: string) => `${prefix}device:${u}:${d}`,
    otkList: (u: string, d: string, kind: 'x' | 'k') => `${prefix}otk:${u}:${d}:${kind}`,
    otkHash: (u: string, d: string, kind: 'x' | 'k') => `${prefix}otkdata:${u}:${d}:${kind}`,
    otkQuota: (u: string, d: string, claimant: string) => `${prefix}otkq:${u}:${d}:${claimant}`,
    issued: (u: string, d: string) => `${prefix}issued:${u}:${d}`,
    tokenDevices: (u: string) => `${prefix}tokdevs:${u}`,
    revoked: (jti: string) => `${prefix}revoked:${jti}`,
    refresh: (h: string) => `${prefix}refresh:${h}`,
    family: (f: string) => `${prefix}rfam:${f}`,
    families: (u: string, d: string) => `${prefix}rfams:${u}:${d}`,
    group: (g: string) => `${prefix}group:${g}`,
    groupRecords: (g: string) => `${prefix}grouprec:${g}`,
    groupMembers: (g: string) => `${prefix}groupmem:${g}`,
    thing: (o: string, t: string) => `${prefix}thing:${o}:${t}`,
    things: (o: string) => `${prefix}things:${o}`,
    blob: (id: string) => `${prefix}blob:${id}`,
    log: `${prefix}ktlog`,
  };

  async function run(
    s: Script,
    keys: string[],
    args: string[],
    via: RedisClient = client,
  ): Promise<unknown> {
    try {
      return await via.evalSha(s.sha, { keys, arguments: args });
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      return via.eval(s.src, { keys, arguments: args });
    }
  }

  // The batched hot-path calls: node-redis's per-command timeout off, one sweep instead.
  const batchClient = client.withCommandOptions({ timeout: 0 }) as unknown as RedisClient;
  const deadlines = createDeadlines(opts.batchTimeoutMs ?? BATCH_TIMEOUT_MS);
  const runBatch = (s: Script, keys: string[], args: string[] = []) =>
    deadlines.watch(run(s, keys, args, batchClient));

  const otkKeys = (u: string, d: string) => [
    k.otkList(u, d, 'x'),
    k.otkHash(u, d, 'x'),
    k.otkList(u, d, 'k'),
    k.otkHash(u, d, 'k'),
  ];

  // Bundle claims and token checks of concurrent requests share one script call each.
  const claimOne = coalesce(
    async (
      items: { username: string; deviceId: string; quota: ClaimQuota | undefined }[],
    ): Promise<(ClaimedBundle | null)[]> => {
      const keys: string[] = [];
      const args: string[] = [];
      for (const c of items) {
        keys.push(
          k.device(c.username, c.deviceId),
          ...otkKeys(c.username, c.deviceId),
          // Without a quota the script never touches this key; it names one only to keep six.
          k.otkQuota(c.username, c.deviceId, c.quota?.claimant ?? ''),
        );
        args.push(c.quota ? String(c.quota.max) : '', c.quota ? String(c.quota.windowMs) : '');
      }
      const rows = (await runBatch(CLAIM, keys, args)) as (
        [string, string, string, string, string, number, number] | null
      )[];
      return rows.map((r) =>
        r
          ? {
              certificate: view64(r[0]),
              signedPrekey: view64(r[1]),
              kemPrekey: view64(r[2]),
              kemLastResort: r[3] === '1',
              oneTimePrekey: r[4] === '' ? null : view64(r[4]),
              remaining: { oneTimePrekeys: r[5], oneTimeKemPrekeys: r[6] },
            }
          : null,
      );
    },
  );
  const tokenUsable = coalesce(
    async (items: { jti: string; username: string; deviceId: string }[]): Promise<boolean[]> => {
      const keys: string[] = [];
      for (const t of items) keys.push(k.revoked(t.jti), k.device(t.username, t.deviceId));
      const rows = (await runBatch(TOKENS_USABLE, keys)) as number[];
      return rows.map((r) => r === 1);
    },
  );

  async function counts(u: string, d: string): Promise<PrekeyCounts> {
    const [x, kem] = await Promise.all([
      client.lLen(k.otkList(u, d, 'x')),
      client.lLen(k.otkList(u, d, 'k')),
    ]);
    return { oneTimePrekeys: x, oneTimeKemPrekeys: kem };
  }

  function toDevice(u: string, d: string, h: Record<string, string>): DeviceRecord {
    return {
      username: u,
      deviceId: d,
      kind: (h.kind ?? 'user') as DeviceKind,
      active: h.active === '1',
      certificate: unb64(h.certificate),
      signedPrekey: unb64(h.signedPrekey),
      kemPrekey: unb64(h.kemPrekey),
      logIndex: h.logIndex === undefined ? null : Number(h.logIndex),
      updatedAt: Number(h.updatedAt ?? 0),
    };
  }

  async function revokeDevice(u: string, d: string): Promise<IssuedToken[]> {
    const out = (await run(
      REVOKE_DEVICE,
      [k.issued(u, d), k.families(u, d)],
      [String(now()), prefix],
    )) as string[];
    const tokens: IssuedToken[] = [];
    for (let i = 0; i + 1 < out.length; i += 2) {
      tokens.push({ jti: out[i] ?? '', username: u, deviceId: d, expiresAt: Number(out[i + 1]) });
    }
    return tokens;
  }

  async function readSettings(username: string): Promise<UserSettings | null> {
    const [hash, hidden] = await client.hmGet(k.user(username), ['passwordHash', 'presenceHidden']);
    if (hash === null || hash === undefined) return null;
    return { presenceVisible: hidden !== '1' };
  }

  async function putGroup(
    groupId: string,
    prev: string,
    seq: number,
    record: Uint8Array,
    members: GroupMember[],
  ): Promise<boolean> {
    const args = [prev, String(seq), b64(record)];
    for (const m of members) args.push(m.username, m.admin ? '1' : '0');
    const r = await run(
      PUT_GROUP,
      [k.group(groupId), k.groupRecords(groupId), k.groupMembers(groupId)],
      args,
    );
    return r === 1;
  }

  const store: Store = {
    async createUser(user) {
      const r = await run(
        CREATE_USER,
        [k.user(user.username)],
        [user.passwordHash, String(user.createdAt)],
      );
      return r === 1;
    },
    async getUser(username) {
      const h = await client.hGetAll(k.user(username));
      if (h.passwordHash === undefined) return null;
      return {
        username,
        passwordHash: h.passwordHash,
        uik: unb64(h.uik),
        createdAt: Number(h.createdAt),
      };
    },
    async setPasswordHash(username, passwordHash) {
      if (await client.exists(k.user(username))) {
        await client.hSet(k.user(username), 'passwordHash', passwordHash);
      }
    },
    async setUserIdentity(username, uik) {
      if (await client.exists(k.user(username))) {
        await client.hSet(k.user(username), 'uik', b64(uik));
      }
    },
    async getUserSettings(username) {
      return readSettings(username);
    },
    async updateUserSettings(username, patch) {
      if (patch.presenceVisible !== undefined) {
        // Only for an existing account (the Lua check keeps a racing delete from recreating it).
        await run(
          SET_IF_USER,
          [k.user(username)],
          ['presenceHidden', patch.presenceVisible ? '0' : '1'],
        );
      }
      return readSettings(username);
    },

    async activateDevice(username, deviceId) {
      await run(
        ACTIVATE_DEVICE,
        [k.device(username, deviceId), k.devices(username)],
        [username, deviceId, String(now())],
      );
    },
    async getDevice(username, deviceId) {
      const h = await client.hGetAll(k.device(username, deviceId));
      return h.active === undefined ? null : toDevice(username, deviceId, h);
    },
    async listDevices(username) {
      const ids = (await client.sMembers(k.devices(username))).sort();
      const out: DeviceRecord[] = [];
      for (const d of ids) {
        const dev = await store.getDevice(username, d);
        if (dev) out.push(dev);
      }
      return out;
    },
    async deactivateDevice(username, deviceId) {
      if (!(await client.exists(k.device(username, deviceId)))) return;
      await client
        .multi()
        .hSet(k.device(username, deviceId), { active: '0', updatedAt: String(now()) })
        .hDel(k.device(username, deviceId), [
          'certificate',
          'signedPrekey',
          'kemPrekey',
          'logIndex',
        ])
        .del(otkKeys(username, deviceId))
        .exec();
    },
    async removeOtherDevices(username, keep) {
      const ids = (await client.sMembers(k.devices(username))).filter((d) => d !== keep);
      if (ids.length === 0) return [];
      const m = client.multi();
      for (const d of ids) {
        m.del([k.device(username, d), ...otkKeys(username, d)]);
        m.sRem(k.devices(username), d);
      }
      await m.exec();
      return ids;
    },
    async setDeviceKeys(username, deviceId, keys) {
      const key = k.device(username, deviceId);
      const fields: Record<string, string> = {
        username,
        deviceId,
        kind: keys.kind,
        certificate: b64(keys.certificate),
        updatedAt: String(now()),
      };
      if (keys.signedPrekey) fields.signedPrekey = b64(keys.signedPrekey);
      if (keys.kemPrekey) fields.kemPrekey = b64(keys.kemPrekey);
      if (keys.logIndex !== null) fields.logIndex = String(keys.logIndex);
      await client
        .multi()
        .hSetNX(key, 'active', '1')
        .hSet(key, fields)
        .sAdd(k.devices(username), deviceId)
        .exec();
    },
    async addOneTimePrekeys(username, deviceId, prekeys, cap) {
      const args = [String(cap), String(prekeys.x25519.length)];
      for (const p of [...prekeys.x25519, ...prekeys.kem]) args.push(String(p.id), b64(p.data));
      const [x, kem] = (await run(ADD_OTKS, otkKeys(username, deviceId), args)) as [number, number];
      return { oneTimePrekeys: x, oneTimeKemPrekeys: kem };
    },
    async clearOneTimePrekeys(username, deviceId) {
      await client.del(otkKeys(username, deviceId));
    },
    async countOneTimePrekeys(username, deviceId) {
      return counts(username, deviceId);
    },
    claimPrekeyBundle(username, deviceId, quota) {
      return claimOne({ username, deviceId, quota });
    },

    async recordAccessToken(t) {
      const key = k.issued(t.username, t.deviceId);
      await client
        .multi()
        .zRemRangeByScore(key, '-inf', now())
        .zAdd(key, { score: t.expiresAt, value: t.jti })
        .pExpireAt(key, t.expiresAt, 'GT')
        .pExpireAt(key, t.expiresAt, 'NX')
        .sAdd(k.tokenDevices(t.username), t.deviceId)
        .exec();
    },
    async revokeToken(jti, expiresAt) {
      if (expiresAt <= now()) return;
      await client.set(k.revoked(jti), '1', { expiration: { type: 'PXAT', value: expiresAt } });
    },
    async revokeDeviceTokens(username, deviceId) {
      return revokeDevice(username, deviceId);
    },
    async revokeUserTokens(username) {
      const devices = await client.sMembers(k.tokenDevices(username));
      const out: IssuedToken[] = [];
      for (const d of devices.sort()) out.push(...(await revokeDevice(username, d)));
      return out;
    },
    async putRefreshToken(r) {
      await client
        .multi()
        .hSet(k.family(r.familyId), { username: r.username, deviceId: r.deviceId })
        .pExpireAt(k.family(r.familyId), r.expiresAt, 'GT')
        .pExpireAt(k.family(r.familyId), r.expiresAt, 'NX')
        .sAdd(k.families(r.username, r.deviceId), r.familyId)
        .sAdd(k.tokenDevices(r.username), r.deviceId)
        .hSet(k.refresh(r.tokenHash), {
          familyId: r.familyId,
          username: r.username,
          deviceId: r.deviceId,
          expiresAt: String(r.expiresAt),
          used: '0',
          ...(r.authTime === undefined ? {} : { authTime: String(r.authTime) }),
        })
        .pExpireAt(k.refresh(r.tokenHash), r.expiresAt)
        .exec();
    },
    async useRefreshToken(tokenHash, t) {
      const r = (await run(USE_REFRESH, [k.refresh(tokenHash)], [String(t), prefix])) as
        [string, string, string, string, string, string] | null;
      if (!r) return { status: 'unknown' };
      const record: RefreshTokenRecord = {
        tokenHash,
        familyId: r[1],
        username: r[2],
        deviceId: r[3],
        expiresAt: Number(r[4]),
        ...(r[5] === '' ? {} : { authTime: Number(r[5]) }),
      };
      return r[0] === 'ok' ? { status: 'ok', record } : { status: 'reused', record };
    },
    async revokeRefreshFamily(familyId) {
      if (await client.exists(k.family(familyId))) {
        await client.hSet(k.family(familyId), 'revoked', '1');
      }
    },

    async createGroup(groupId, record, members) {
      return putGroup(groupId, '', 0, record, members);
    },
    async appendGroupRecord(groupId, seq, record, members) {
      return putGroup(groupId, String(seq - 1), seq, record, members);
    },
    async getGroupChain(groupId) {
      if (!(await client.exists(k.group(groupId)))) return null;
      const rows = await client.lRange(k.groupRecords(groupId), 0, -1);
      return rows.map((r) => unb64(r) ?? new Uint8Array());
    },
    async getGroup(groupId) {
      const [seq, members] = await Promise.all([
        client.hGet(k.group(groupId), 'seq'),
        client.hGetAll(k.groupMembers(groupId)),
      ]);
      if (seq === null || seq === undefined) return null;
      return {
        groupId,
        seq: Number(seq),
        members: Object.keys(members)
          .sort()
          .map((username) => ({ username, admin: members[username] === '1' })),
      };
    },

    async createThing(t) {
      const r = await run(
        CREATE_THING,
        [k.thing(t.owner, t.thing), k.things(t.owner)],
        [t.thing, b64(t.secretHash), String(t.createdAt)],
      );
      return r === 1;
    },
    async listThings(owner) {
      const names = (await client.sMembers(k.things(owner))).sort();
      const out = [];
      for (const thing of names) {
        const h = await client.hGetAll(k.thing(owner, thing));
        if (h.active === undefined) continue;
        out.push({ owner, thing, active: h.active === '1', createdAt: Number(h.createdAt) });
      }
      return out;
    },
    async revokeThing(owner, thing) {
      return (await run(REVOKE_THING, [k.thing(owner, thing)], [])) === 1;
    },

    async putBlob(b) {
      const r = await run(PUT_BLOB, [k.blob(b.id)], [b.owner, String(b.size), String(b.createdAt)]);
      return r === 1;
    },
    async getBlob(id) {
      const h = await client.hGetAll(k.blob(id));
      if (h.owner === undefined) return null;
      return { id, owner: h.owner, size: Number(h.size), createdAt: Number(h.createdAt) };
    },
    async deleteBlob(id) {
      return (await client.del(k.blob(id))) === 1;
    },

    async appendLogLeaf(leaf) {
      return (await client.rPush(k.log, b64(leaf))) - 1;
    },
    async logSize() {
      return client.lLen(k.log);
    },
    async getLogLeaves(start, end) {
      if (end <= start) return [];
      const rows = await client.lRange(k.log, start, end - 1);
      return rows.map((r) => unb64(r) ?? new Uint8Array());
    },

    async isTokenRevoked(jti) {
      return (await client.exists(k.revoked(jti))) === 1;
    },
    async isDeviceActive(username, deviceId) {
      return (await client.hGet(k.device(username, deviceId), 'active')) === '1';
    },
    isTokenUsable(jti, username, deviceId) {
      return tokenUsable({ jti, username, deviceId });
    },
    async groupMembers(groupId) {
      const [exists, names] = await Promise.all([
        client.exists(k.group(groupId)),
        client.hKeys(k.groupMembers(groupId)),
      ]);
      return exists ? names.sort() : null;
    },
    async isGroupMember(groupId, username) {
      return (await client.hExists(k.groupMembers(groupId), username)) === 1;
    },
    async verifyThingCredential(owner, thing, secret) {
      const [hash, active] = await client.hmGet(k.thing(owner, thing), ['secretHash', 'active']);
      const ok = checkThingSecret(secret, unb64(hash));
      return ok && active === '1';
    },
    async isThingActive(owner, thing) {
      return (await client.hGet(k.thing(owner, thing), 'active')) === '1';
    },
    async userExists(username) {
      return (await client.exists(k.user(username))) === 1;
    },

    async ping() {
      await client.ping();
    },
    async close() {
      deadlines.stop();
      if (owned && client.isOpen) await client.close();
    },
  };
  return store;
}
