/**
 * Refresh tokens: 32 random bytes (base64url), stored only as their SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A new opaque refresh token. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored form of a refresh token. */
export function refreshTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
