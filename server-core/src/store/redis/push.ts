/**
 * Redis store: Web Push subscriptions (one hash per device) and the per-device push slot (a key
 * set with NX and a TTL, so of several key servers exactly one takes it).
 */
import type { PushPart } from '../parts.ts';
import type { RedisContext } from './support.ts';

/** Push subscriptions of the Redis store. */
export function redisPush({ client, k }: RedisContext): PushPart {
  return {
    async setPushSubscription(username, deviceId, sub) {
      await client.hSet(k.push(username, deviceId), {
        endpoint: sub.endpoint,
        p256dh: sub.p256dh,
        auth: sub.auth,
        createdAt: String(sub.createdAt),
      });
    },
    async getPushSubscription(username, deviceId) {
      const h = await client.hGetAll(k.push(username, deviceId));
      if (h.endpoint === undefined || h.p256dh === undefined || h.auth === undefined) return null;
      return {
        endpoint: h.endpoint,
        p256dh: h.p256dh,
        auth: h.auth,
        createdAt: Number(h.createdAt),
      };
    },
    async deletePushSubscription(username, deviceId) {
      return (await client.del(k.push(username, deviceId))) === 1;
    },
    async claimPushSlot(username, deviceId, intervalMs) {
      const r = await client.set(k.pushSlot(username, deviceId), '1', {
        condition: 'NX',
        expiration: { type: 'PX', value: Math.max(1, Math.floor(intervalMs)) },
      });
      return r === 'OK';
    },
  };
}
