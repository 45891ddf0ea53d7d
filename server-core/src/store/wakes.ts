/**
 * The wake-up bus (docs/PROTOCOL.md §7 "Wake-up pushes"): brokers publish a {@link WakeEvent}
 * when they queue a message for a device that is not connected, and key servers, which hold the
 * push subscriptions and the VAPID key, send the push. The opposite direction of the ACL bus.
 * Embedded mode: {@link createMemoryWakeBus} (one process). Cluster mode: {@link createRedisWakeBus},
 * a Redis pub/sub channel `{prefix}wake`; every key server hears every event and the store's
 * per-device push slot (`claimPushSlot`) lets exactly one of them send.
 */
import { decodeWakeEvent, encodeWakeEvent, type WakeEvent } from '@sotto/crypto/wire';
import type { RedisPubSubClient } from './events.ts';

export type { WakeEvent };

/** Listener of wake events. */
export type WakeHandler = (event: WakeEvent) => void;

/** Where brokers publish and key servers listen. */
export interface WakeBus {
  /** Fire and forget: a lost wake-up costs one notification, never a message. */
  publish(event: WakeEvent): void;
  subscribe(handler: WakeHandler): () => void;
  close(): Promise<void>;
}

function deliver(handlers: Set<WakeHandler>, e: WakeEvent, onError: (err: unknown) => void) {
  for (const h of [...handlers]) {
    try {
      h(e);
    } catch (err) {
      onError(err);
    }
  }
}

/** In-process bus (embedded mode). */
export function createMemoryWakeBus(opts: { onError?: (err: unknown) => void } = {}): WakeBus {
  const handlers = new Set<WakeHandler>();
  const onError = opts.onError ?? (() => {});
  return {
    publish(event) {
      // Off the broker's enqueue path: the handler's store reads must not delay the message.
      queueMicrotask(() => deliver(handlers, event, onError));
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => void handlers.delete(handler);
    },
    close() {
      handlers.clear();
      return Promise.resolve();
    },
  };
}

/**
 * Redis bus (cluster mode) on `{prefix}wake`. `client` is the caller's (not closed here); the
 * first `subscribe` opens the dedicated subscriber connection Redis needs, closed by `close`.
 */
export function createRedisWakeBus(opts: {
  client: RedisPubSubClient;
  prefix?: string;
  onError?: (err: unknown) => void;
}): WakeBus & { ready(): Promise<void> } {
  const channel = `${opts.prefix ?? 'sotto:'}wake`;
  const handlers = new Set<WakeHandler>();
  const onError = opts.onError ?? (() => {});
  let sub: RedisPubSubClient | null = null;
  let subReady: Promise<void> | null = null;
  const listen = (): Promise<void> => {
    if (subReady) return subReady;
    const s = opts.client.duplicate();
    sub = s;
    s.on('error', onError);
    subReady = (async () => {
      await s.connect();
      await s.subscribe(channel, (message) => {
        try {
          deliver(handlers, decodeWakeEvent(message), onError);
        } catch (cause) {
          onError(new Error(`ignored wake event: ${message.slice(0, 200)}`, { cause }));
        }
      });
    })();
    subReady.catch(onError);
    return subReady;
  };
  return {
    publish(event) {
      opts.client.publish(channel, encodeWakeEvent(event)).catch(onError);
    },
    subscribe(handler) {
      handlers.add(handler);
      void listen().catch(() => {});
      return () => void handlers.delete(handler);
    },
    ready: listen,
    async close() {
      handlers.clear();
      const s = sub;
      sub = null;
      if (!s) return;
      await subReady?.catch(() => undefined);
      await s.unsubscribe(channel).catch(() => undefined);
      if (s.close) await s.close();
      else if (s.quit) await s.quit();
      else s.destroy?.();
    },
  };
}
