/**
 * The engine's event surface (`on`/`off`) without an engine, for the tests of the event mapping
 * (`services/engine-events.ts`): `fire` delivers an event as the engine would.
 */
import type { ClientEvents } from '@sotto/client';

/** A stand-in for the engine's event source: `on`/`off` and a way to fire. */
export function eventSource() {
  const listeners = new Map<string, ((e: unknown) => void)[]>();
  return {
    on(name: string, fn: (e: never) => void) {
      listeners.set(name, [...(listeners.get(name) ?? []), fn as (e: unknown) => void]);
      return () => undefined;
    },
    off() {},
    fire<K extends keyof ClientEvents & string>(name: K, e: ClientEvents[K]) {
      for (const fn of listeners.get(name) ?? []) fn(e);
    },
  };
}
