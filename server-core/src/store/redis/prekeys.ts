/**
 * Redis store: one-time prekeys and bundle claims (one Lua script per batch
 * of concurrent claims).
 */
import type { ClaimedBundle, ClaimQuota, PrekeyCounts } from '../types.ts';
import type { PrekeyPart } from '../parts.ts';
import { b64, coalesce, otkKeys, script, view64, type RedisContext } from './support.ts';

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

/** One-time prekeys and bundle claims of the Redis store. */
export function redisPrekeys({ client, k, run, runBatch }: RedisContext): PrekeyPart {
  // Bundle claims of concurrent requests share one script call.
  const claimOne = coalesce(
    async (
      items: { username: string; deviceId: string; quota: ClaimQuota | undefined }[],
    ): Promise<(ClaimedBundle | null)[]> => {
      const keys: string[] = [];
      const args: string[] = [];
      for (const c of items) {
        keys.push(
          k.device(c.username, c.deviceId),
          ...otkKeys(k, c.username, c.deviceId),
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
  async function counts(u: string, d: string): Promise<PrekeyCounts> {
    const [x, kem] = await Promise.all([
      client.lLen(k.otkList(u, d, 'x')),
      client.lLen(k.otkList(u, d, 'k')),
    ]);
    return { oneTimePrekeys: x, oneTimeKemPrekeys: kem };
  }

  return {
    async addOneTimePrekeys(username, deviceId, prekeys, cap) {
      const args = [String(cap), String(prekeys.x25519.length)];
      for (const p of [...prekeys.x25519, ...prekeys.kem]) args.push(String(p.id), b64(p.data));
      const [x, kem] = (await run(ADD_OTKS, otkKeys(k, username, deviceId), args)) as [
        number,
        number,
      ];
      return { oneTimePrekeys: x, oneTimeKemPrekeys: kem };
    },
    async clearOneTimePrekeys(username, deviceId) {
      await client.del(otkKeys(k, username, deviceId));
    },
    async countOneTimePrekeys(username, deviceId) {
      return counts(username, deviceId);
    },
    claimPrekeyBundle(username, deviceId, quota) {
      return claimOne({ username, deviceId, quota });
    },
  };
}
