/**
 * Redis store: issued, revoked and refresh tokens.
 */
import type { IssuedToken, RefreshTokenRecord } from '../types.ts';
import type { TokenPart } from '../parts.ts';
import { coalesce, script, type RedisContext } from './support.ts';

// KEYS: per token its revoked key and its device hash. One 1 (usable) or 0 per token.
const TOKENS_USABLE = script(`
local out = {}
for i = 1, #KEYS, 2 do
  local ok = redis.call('EXISTS', KEYS[i]) == 0 and redis.call('HGET', KEYS[i + 1], 'active') == '1'
  out[#out + 1] = ok and 1 or 0
end
return out`);

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

/** Access and refresh tokens of the Redis store. */
export function redisTokens({ client, k, now, prefix, run, runBatch }: RedisContext): TokenPart {
  // Token checks of concurrent requests share one script call.
  const tokenUsable = coalesce(
    async (items: { jti: string; username: string; deviceId: string }[]): Promise<boolean[]> => {
      const keys: string[] = [];
      for (const t of items) keys.push(k.revoked(t.jti), k.device(t.username, t.deviceId));
      const rows = (await runBatch(TOKENS_USABLE, keys)) as number[];
      return rows.map((r) => r === 1);
    },
  );

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

  return {
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
    async isTokenRevoked(jti) {
      return (await client.exists(k.revoked(jti))) === 1;
    },
    isTokenUsable(jti, username, deviceId) {
      return tokenUsable({ jti, username, deviceId });
    },
  };
}
