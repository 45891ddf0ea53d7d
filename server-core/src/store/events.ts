/**
 * ACL change buses. Embedded mode uses {@link createMemoryAclEvents} (one
 * process: key server and broker share the emitter); cluster mode uses
 * {@link createRedisAclEvents}, a Redis pub/sub channel every key server
 * publishes on and every broker subscribes to.
 */
import { EventEmitter } from 'node:events';
import { decodeAclEvent, encodeAclEvent } from '@sotto/crypto/wire';
import type { AclEvent, AclEventHandler, AclEvents } from './types.ts';

const EVENT = 'acl';

function deliver(
  handlers: Set<AclEventHandler>,
  event: AclEvent,
  onError: (err: unknown) => void,
): void {
  for (const h of [...handlers]) {
    try {
      h(event);
    } catch (err) {
      // One failing subscriber must not stop the others from hearing a revocation.
      onError(err);
    }
  }
}

/** In-process bus for embedded mode: `publish` reaches every subscriber synchronously. */
export function createMemoryAclEvents(opts: { onError?: (err: unknown) => void } = {}): AclEvents {
  const emitter = new EventEmitter();
  const handlers = new Set<AclEventHandler>();
  const onError = opts.onError ?? (() => {});
  emitter.on(EVENT, (event: AclEvent) => deliver(handlers, event, onError));
  return {
    synchronous: true,
    publish(event) {
      emitter.emit(EVENT, event);
      return Promise.resolve();
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => {
        handlers.delete(handler);
      };
    },
    close() {
      handlers.clear();
      emitter.removeAllListeners();
      return Promise.resolve();
    },
  };
}

/** The part of a node-redis client the bus needs (v5/v6 API). */
export interface RedisPubSubClient {
  publish(channel: string, message: string): Promise<number>;
  duplicate(): RedisPubSubClient;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  unsubscribe(channel?: string): Promise<unknown>;
  quit?(): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready' | 'reconnecting' | 'end', listener: () => void): unknown;
}

/**
 * Redis pub/sub bus for cluster mode. Publishes on `{prefix}acl`; the first
 * `subscribe` opens a dedicated subscriber connection (Redis requires one).
 * The caller owns `client` (it is not closed here); the subscriber connection
 * is closed by {@link AclEvents.close}.
 */
export function createRedisAclEvents(opts: {
  client: RedisPubSubClient;
  prefix?: string;
  onError?: (err: unknown) => void;
}): AclEvents & { ready(): Promise<void> } & Required<
    Pick<AclEvents, 'hearing' | 'onHearingChange'>
  > {
  const channel = `${opts.prefix ?? 'sotto:'}acl`;
  const handlers = new Set<AclEventHandler>();
  const onError = opts.onError ?? (() => {});
  let sub: RedisPubSubClient | null = null;
  let subReady: Promise<void> | null = null;
  // True while the subscriber connection is up and subscribed. node-redis resubscribes on
  // reconnect before it emits 'ready', so 'ready' after the first subscribe means listening
  // again; any error, reconnect or end means events may have been missed meanwhile.
  let hearing = false;
  let subscribed = false;
  const hearingListeners = new Set<(hearing: boolean) => void>();
  const setHearing = (value: boolean): void => {
    if (value === hearing) return;
    hearing = value;
    for (const l of [...hearingListeners]) {
      try {
        l(value);
      } catch (err) {
        onError(err);
      }
    }
  };

  const ensureSubscriber = (): Promise<void> => {
    if (subReady) return subReady;
    const s = opts.client.duplicate();
    sub = s;
    s.on('error', (err) => {
      setHearing(false);
      onError(err);
    });
    s.on('reconnecting', () => setHearing(false));
    s.on('end', () => setHearing(false));
    s.on('ready', () => {
      if (subscribed) setHearing(true);
    });
    subReady = (async () => {
      await s.connect();
      await s.subscribe(channel, (message) => {
        let event: AclEvent;
        try {
          event = decodeAclEvent(message);
        } catch (cause) {
          onError(new Error(`ignored ACL event: ${message.slice(0, 200)}`, { cause }));
          return;
        }
        deliver(handlers, event, onError);
      });
      subscribed = true;
      setHearing(true);
    })();
    subReady.catch(onError);
    return subReady;
  };

  return {
    async publish(event) {
      await opts.client.publish(channel, encodeAclEvent(event));
    },
    subscribe(handler) {
      handlers.add(handler);
      void ensureSubscriber().catch(() => {});
      return () => {
        handlers.delete(handler);
      };
    },
    /** Resolves once the subscriber connection listens (so no event published after it is missed). */
    ready() {
      return ensureSubscriber();
    },
    hearing: () => hearing,
    onHearingChange(listener) {
      hearingListeners.add(listener);
      void ensureSubscriber().catch(() => {});
      return () => {
        hearingListeners.delete(listener);
      };
    },
    async close() {
      handlers.clear();
      subscribed = false;
      setHearing(false);
      hearingListeners.clear();
      const s = sub;
      sub = null;
      if (!s) return;
      try {
        await subReady;
        await s.unsubscribe(channel);
      } catch {
        // closing anyway
      }
      if (s.close) await s.close();
      else if (s.quit) await s.quit();
      else s.destroy?.();
    },
  };
}
