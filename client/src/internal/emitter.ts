/**
 * A minimal typed event emitter that runs in browsers and Node (no
 * `node:events`). A listener that throws is reported on `error` listeners,
 * never to the emitter's caller, so one bad UI handler cannot break message
 * processing.
 */

/** Map of event name → payload type. */
export type EventMap = Record<string, unknown>;

/** Subscribe/unsubscribe surface exposed to users of the engine. */
export interface TypedEvents<E extends EventMap> {
  /** Add a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: (value: E[K]) => void): () => void;
  off<K extends keyof E>(event: K, listener: (value: E[K]) => void): void;
  once<K extends keyof E>(event: K, listener: (value: E[K]) => void): () => void;
}

/** Emitter with a private `emit`. */
export class Emitter<E extends EventMap> implements TypedEvents<E> {
  readonly #listeners = new Map<keyof E, Set<(value: never) => void>>();

  on<K extends keyof E>(event: K, listener: (value: E[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof E>(event: K, listener: (value: E[K]) => void): void {
    this.#listeners.get(event)?.delete(listener);
  }

  once<K extends keyof E>(event: K, listener: (value: E[K]) => void): () => void {
    const off = this.on(event, (v) => {
      off();
      listener(v);
    });
    return off;
  }

  emit<K extends keyof E>(event: K, value: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (value: E[K]) => void)(value);
      } catch (err) {
        if (event !== 'error') this.emit('error' as K, err as E[K]);
      }
    }
  }
}
