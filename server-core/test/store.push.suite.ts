/**
 * The push part of the abstract store suite (kept apart from `store.suite.ts` for its size):
 * every Store implementation must pass it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/types.ts';
import type { StoreFactory } from './store.suite.ts';

const sub = (n: number) => ({
  endpoint: `https://push.example/${n}`,
  p256dh: `p256dh-${n}`,
  auth: `auth-${n}`,
  createdAt: n,
});

/** Register the shared push-subscription tests under `name`. */
export function pushStoreSuite(name: string, factory: StoreFactory): void {
  describe(`${name} store: push subscriptions`, () => {
    let store: Store;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });
    afterEach(async () => {
      await store.close();
      await cleanup?.();
    });

    it('keeps one subscription per device, replaced by the next and gone after delete', async () => {
      expect(await store.getPushSubscription('alice', 'd1')).toBeNull();
      await store.setPushSubscription('alice', 'd1', sub(1));
      await store.setPushSubscription('alice', 'd2', sub(2));
      expect(await store.getPushSubscription('alice', 'd1')).toEqual(sub(1));
      await store.setPushSubscription('alice', 'd1', sub(3));
      expect(await store.getPushSubscription('alice', 'd1')).toEqual(sub(3));
      expect(await store.getPushSubscription('alice', 'd2')).toEqual(sub(2));
      expect(await store.getPushSubscription('bob', 'd1')).toBeNull();
      expect(await store.deletePushSubscription('alice', 'd1')).toBe(true);
      expect(await store.deletePushSubscription('alice', 'd1')).toBe(false);
      expect(await store.getPushSubscription('alice', 'd1')).toBeNull();
    });

    it('gives a device one push slot per interval, to exactly one of concurrent claimants', async () => {
      const claims = await Promise.all(
        Array.from({ length: 8 }, () => store.claimPushSlot('alice', 'd1', 60_000)),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await store.claimPushSlot('alice', 'd2', 60_000)).toBe(true);
      expect(await store.claimPushSlot('alice', 'd1', 60_000)).toBe(false);
    });

    it('frees the slot once the interval has passed', async () => {
      expect(await store.claimPushSlot('alice', 'd1', 30)).toBe(true);
      expect(await store.claimPushSlot('alice', 'd1', 30)).toBe(false);
      const deadline = Date.now() + 5_000;
      let again = false;
      while (!again && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        again = await store.claimPushSlot('alice', 'd1', 30);
      }
      expect(again).toBe(true);
    });
  });
}
