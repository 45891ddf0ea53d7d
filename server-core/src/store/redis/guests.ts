/**
 * Redis store: guest accounts (docs/API.md "Guests"). A guest is a user hash with an empty
 * password hash — no password verifies against it — and a `guest` field holding its state;
 * active guests are also in one set, which the expiry sweep reads.
 */
import type { GuestPart } from '../parts.ts';
import { script, type RedisContext } from './support.ts';

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
      return v === 'active' || v === 'expired' ? v : null;
    },
    async listGuests() {
      return (await client.sMembers(k.guests)).sort();
    },
    async endGuest(username, how) {
      const hash = how.as === 'upgraded' ? how.passwordHash : '';
      return (await run(END_GUEST, [k.user(username), k.guests], [username, how.as, hash])) === 1;
    },
  };
}
