/**
 * The one place libsodium is loaded and initialised. Every other module gets
 * the library through {@link sodium} after {@link ready} has resolved, so
 * nothing in the package can race libsodium's asynchronous WebAssembly start.
 *
 * Runtime: any (`.std`): browser and Node alike.
 */
import libsodium from 'libsodium-wrappers';

/** The libsodium API surface, typed by the package's own declarations. */
export type Sodium = typeof libsodium;

let initialised = false;

/**
 * Resolves once libsodium is usable. Call (and await) it once before any other
 * function of this package; calling it again is cheap.
 */
export async function ready(): Promise<void> {
  if (initialised) return;
  await libsodium.ready;
  initialised = true;
}

/**
 * The initialised libsodium instance.
 *
 * @throws Error if {@link ready} has not resolved yet: a programming error, not
 *   a data error, so it is not a `CryptoError`.
 */
export function sodium(): Sodium {
  if (!initialised) {
    throw new Error('@sotto/crypto: await ready() before using the library');
  }
  return libsodium;
}
