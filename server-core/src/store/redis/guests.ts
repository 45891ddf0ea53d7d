/**
 * Redis store: guest accounts (docs/API.md "Guests"). A guest is a user hash with an empty
 * password hash — no password verifies against it — and a `guest` field holding its state;
 * active guests are also in one set, which the expiry sweep reads. A rename moves the user hash
 * and the device's keys to the new name and leaves a tombstone hash (`guest = renamed`).
 */
import type { GuestRenameRecord } from '../types.ts';
import type { GuestPart } from '../parts.ts';
import { b64, otkKeys, script, unb64, type RedisContext } from './support.ts';

// KEYS: user hash, guest set. ARGV: username, createdAt.
const CREATE_GUEST = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'passwordHash', '', 'createdAt', ARGV[2], 'guest', 'active')
redis.call('SADD', KEYS[2], ARGV[1])
return 1`);

// KEYS: user hash, guest set. ARGV: username, 'expired' | 'upgraded', password hash (upgrade).
const END_GUEST = script(`
if redis.call('HGET', KEYS[1], 'guest') ~= 'active' then return 0 end
if ARGV[2] == 'expired' then
  redis.call('HSET', KEYS[1], 'guest', 'expired')
else
  redis.call('HDEL', KEYS[1], 'guest')
  redis.call('HSET', KEYS[1], 'passwordHash', ARGV[3])
end
redis.call('SREM', KEYS[2], ARGV[1])
return 1`);

/** Keys moved per device on a rename, as (old, new) pairs: device hash, prekeys, push. */
const PAIRS_PER_DEVICE = 7;

// KEYS: 1 user(from), 2 user(to), 3 guest set, 4 devices(from), 5 devices(to), 6 log,
// 7 rename(from), 8 rename(to), then per device PAIRS_PER_DEVICE (old, new) pairs, the
// certificate's device first. ARGV: 1 from, 2 to, 3 password hash, 4 certificate, 5 statement,
// 6 at, 7-9 the three leaves, 10 device count.
const RENAME_GUEST = script(`
if redis.call('HGET', KEYS[1], 'guest') ~= 'active' then return {0, 'not-guest'} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, 'taken'} end
local n = tonumber(ARGV[10])
if redis.call('SCARD', KEYS[4]) ~= n then return {0, 'devices'} end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[2], 'guest')
redis.call('HSET', KEYS[2], 'passwordHash', ARGV[3])
redis.call('HSET', KEYS[1], 'passwordHash', '', 'createdAt', ARGV[6], 'guest', 'renamed')
redis.call('SREM', KEYS[3], ARGV[1])
if n > 0 then redis.call('RENAME', KEYS[4], KEYS[5]) end
for i = 0, n - 1 do
  local base = 9 + i * ${2 * PAIRS_PER_DEVICE}
  for j = 0, ${PAIRS_PER_DEVICE - 1} do
    if redis.call('EXISTS', KEYS[base + 2 * j]) == 1 then
      redis.call('RENAME', KEYS[base + 2 * j], KEYS[base + 2 * j + 1])
    end
  end
  redis.call('HSET', KEYS[base + 1], 'username', ARGV[2])
end
local idx = {}
for j = 7, 9 do idx[#idx + 1] = redis.call('RPUSH', KEYS[6], ARGV[j]) - 1 end
redis.call('HSET', KEYS[10], 'certificate', ARGV[4], 'logIndex', idx[1], 'updatedAt', ARGV[6])
for j = 7, 8 do
  redis.call('HSET', KEYS[j], 'from', ARGV[1], 'to', ARGV[2], 'statement', ARGV[5],
    'arrivalIndex', idx[2], 'tombstoneIndex', idx[3], 'at', ARGV[6])
end
return {1, idx[1], idx[2], idx[3]}`);

/** Guest accounts of the Redis store. */
export function redisGuests({ client, k, run }: RedisContext): GuestPart {
  return {
    async createGuest(username, createdAt) {
      return (
        (await run(CREATE_GUEST, [k.user(username), k.guests], [username, String(createdAt)])) === 1
      );
    },
    async guestState(username) {
      const v = await client.hGet(k.user(username), 'guest');
      return v === 'active' || v === 'expired' || v === 'renamed' ? v : null;
    },
    async listGuests() {
      return (await client.sMembers(k.guests)).sort();
    },
    async endGuest(username, how) {
      const hash = how.as === 'upgraded' ? how.passwordHash : '';
      return (await run(END_GUEST, [k.user(username), k.guests], [username, how.as, hash])) === 1;
    },
    async renameGuest(r) {
      const { from, to } = r;
      // The certificate's device first: the script writes the certificate to the first pair.
      const others = (await client.sMembers(k.devices(from))).filter((d) => d !== r.deviceId);
      const devices = [r.deviceId, ...others];
      const keys = [
        k.user(from),
        k.user(to),
        k.guests,
        k.devices(from),
        k.devices(to),
        k.log,
        k.rename(from),
        k.rename(to),
      ];
      for (const d of devices) {
        const [oldOtk, newOtk] = [otkKeys(k, from, d), otkKeys(k, to, d)];
        keys.push(k.device(from, d), k.device(to, d));
        oldOtk.forEach((key, i) => keys.push(key, newOtk[i] ?? ''));
        keys.push(k.push(from, d), k.push(to, d), k.pushSlot(from, d), k.pushSlot(to, d));
      }
      const args = [from, to, r.passwordHash, b64(r.certificate), b64(r.statement), String(r.at)];
      args.push(...r.leaves.map(b64), String(devices.length));
      const res = (await run(RENAME_GUEST, keys, args)) as [number, ...(number | string)[]];
      if (res[0] === 1) return { ok: true, logIndexes: res.slice(1).map(Number) };
      // The device set changed between the read and the script: a guest has one device, and
      // the route checked it; a second one appearing now is a race lost, not a rename.
      if (res[1] === 'devices') throw new Error('the guest device list changed during the rename');
      return { ok: false, reason: res[1] === 'taken' ? 'taken' : 'not-guest' };
    },
    async getRename(username): Promise<GuestRenameRecord | null> {
      const h = await client.hGetAll(k.rename(username));
      if (!h.from || !h.to || !h.statement) return null;
      return {
        from: h.from,
        to: h.to,
        statement: unb64(h.statement) ?? new Uint8Array(),
        arrivalIndex: Number(h.arrivalIndex),
        tombstoneIndex: Number(h.tombstoneIndex),
        at: Number(h.at),
      };
    },
  };
}
