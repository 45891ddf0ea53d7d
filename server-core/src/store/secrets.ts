/**
 * Hashing and constant-time comparison of thing secrets. Thing secrets are
 * 32 random bytes (base64url), so a fast hash is enough: there is nothing to
 * brute-force, and the broker checks them on every MQTT connect.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a thing secret, as stored. */
export function hashThingSecret(secret: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret, 'utf8').digest());
}

const DUMMY = hashThingSecret('dummy secret for unknown things');

/**
 * Compare `secret` with a stored hash in constant time; an unknown thing
 * (`stored` null) costs the same and returns false.
 */
export function checkThingSecret(secret: string, stored: Uint8Array | null): boolean {
  const got = hashThingSecret(secret);
  const want = stored && stored.length === got.length ? stored : DUMMY;
  return timingSafeEqual(got, want) && stored !== null && stored.length === got.length;
}
