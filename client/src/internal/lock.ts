/**
 * A FIFO mutex. Ratchet and sender-key states are read, advanced and written
 * back across `await`s; running those sections one at a time keeps two
 * concurrent sends or receives from forking a session state.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Run `fn` after everything queued before it; its result or error is returned. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
