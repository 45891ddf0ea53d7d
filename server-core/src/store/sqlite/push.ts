/**
 * SQLite store: Web Push subscriptions and the per-device push slot.
 */
import type { PushSubscriptionRecord } from '../types.ts';
import type { PushPart } from '../parts.ts';
import type { SqliteContext } from './schema.ts';

/** Push subscriptions of the SQLite store. */
export function sqlitePush({ db, now }: SqliteContext): PushPart {
  const claim = db.prepare(
    `INSERT INTO push_slots (username, device_id, until) VALUES (?, ?, ?)
     ON CONFLICT (username, device_id) DO UPDATE SET until = excluded.until
     WHERE push_slots.until <= ?`,
  );
  return {
    async setPushSubscription(username, deviceId, sub) {
      db.prepare(
        `INSERT INTO push_subscriptions (username, device_id, endpoint, p256dh, auth, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (username, device_id) DO UPDATE SET endpoint = excluded.endpoint,
           p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`,
      ).run(username, deviceId, sub.endpoint, sub.p256dh, sub.auth, sub.createdAt);
    },
    async getPushSubscription(username, deviceId) {
      const r = db
        .prepare(
          'SELECT endpoint, p256dh, auth, created_at FROM push_subscriptions WHERE username = ? AND device_id = ?',
        )
        .get(username, deviceId) as
        { endpoint: string; p256dh: string; auth: string; created_at: number } | undefined;
      if (!r) return null;
      const sub: PushSubscriptionRecord = {
        endpoint: r.endpoint,
        p256dh: r.p256dh,
        auth: r.auth,
        createdAt: r.created_at,
      };
      return sub;
    },
    async deletePushSubscription(username, deviceId) {
      const r = db
        .prepare('DELETE FROM push_subscriptions WHERE username = ? AND device_id = ?')
        .run(username, deviceId);
      return r.changes === 1;
    },
    async claimPushSlot(username, deviceId, intervalMs) {
      const t = now();
      return claim.run(username, deviceId, t + intervalMs, t).changes === 1;
    },
  };
}
