/**
 * Password hashing: Argon2id through `@node-rs/argon2`, which runs on libuv's
 * thread pool so hashing never blocks the event loop. Unknown users are
 * verified against a dummy hash with the same parameters so a login for a
 * name that does not exist costs the same as a wrong password.
 */
import { hash, parseOptions, verify } from '@node-rs/argon2';
import type { Argon2Params } from './config.ts';

/** `Algorithm.Argon2id` of @node-rs/argon2 (an ambient const enum, unusable under isolatedModules). */
const ARGON2ID = 2;

/** Hashes and verifies passwords with fixed Argon2id parameters. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Verify against a stored hash, or against the dummy when `stored` is null (always false then). */
  verify(stored: string | null, password: string): Promise<boolean>;
  readonly params: Argon2Params;
}

/** Create a hasher; precomputes the dummy hash used for unknown users. */
export async function createPasswordHasher(params: Argon2Params): Promise<PasswordHasher> {
  const options = { ...params, algorithm: ARGON2ID, outputLen: 32 };
  const dummy = await hash('sotto dummy password for unknown users', options);
  return {
    params,
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      if (stored === null) {
        await verify(dummy, password).catch(() => false);
        return false;
      }
      try {
        return await verify(stored, password);
      } catch {
        return false;
      }
    },
  };
}

/** Parameters a PHC string was hashed with (tests, rehash checks). */
export function hashParams(phc: string): Argon2Params & { algorithm: number } {
  const p = parseOptions(phc);
  return {
    memoryCost: p.memoryCost,
    timeCost: p.timeCost,
    parallelism: p.parallelism,
    algorithm: p.algorithm,
  };
}
