/**
 * Operator accounts from a Mosquitto `password_file` (docs/OPERATIONS.md "Operator
 * namespaces"), as `mosquitto_passwd` writes it: one `username:hash` per line, where the hash is
 *
 * - `$7$<iterations>$<salt, base64>$<PBKDF2-HMAC-SHA512 of the password, 64 bytes, base64>`
 *   (Mosquitto 2's default, `-H sha512-pbkdf2`), or
 * - `$6$<salt, base64>$<SHA-512 of password ‖ salt, base64>` (Mosquitto 1.6 and earlier,
 *   `-H sha512`).
 *
 * Plain-text passwords (a file `mosquitto_passwd -U` was never run on) are refused at load time,
 * as is any malformed line: start-up stops with a {@link ConfigError} naming the line. Checking
 * runs PBKDF2 off the event loop (node:crypto's thread pool) and compares in constant time.
 */
import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';
import { ConfigError } from './errors.ts';

/** The accounts of a password file. */
export interface PasswordFile {
  /** Account names, in file order. */
  readonly usernames: readonly string[];
  /** Does `password` open `username`? False for an unknown user (after the same work). */
  verify(username: string, password: Buffer): Promise<boolean>;
}

/** A user name an operator account may have (also what `user` lines of the policy accept). */
export const OPERATOR_USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** Iterations above this are refused at load (a file must not be able to stall every connect). */
const MAX_ITERATIONS = 1_000_000;

type Hash =
  | { kind: 7; iterations: number; salt: Buffer; hash: Buffer }
  | { kind: 6; salt: Buffer; hash: Buffer };

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parseHash(text: string): Hash | null {
  const p = text.split('$');
  if (p[0] !== '') return null;
  if (p[1] === '7' && p.length === 5) {
    const [, , iter, salt, hash] = p as [string, string, string, string, string];
    if (!/^\d{1,7}$/.test(iter) || !B64.test(salt) || !B64.test(hash)) return null;
    const iterations = Number(iter);
    const h = Buffer.from(hash, 'base64');
    if (iterations < 1 || iterations > MAX_ITERATIONS || h.length !== 64) return null;
    return { kind: 7, iterations, salt: Buffer.from(salt, 'base64'), hash: h };
  }
  if (p[1] === '6' && p.length === 4) {
    const [, , salt, hash] = p as [string, string, string, string];
    if (!B64.test(salt) || !B64.test(hash)) return null;
    const h = Buffer.from(hash, 'base64');
    if (h.length !== 64) return null;
    return { kind: 6, salt: Buffer.from(salt, 'base64'), hash: h };
  }
  return null;
}

function derive(h: Hash, password: Buffer): Promise<Buffer> {
  if (h.kind === 6) {
    return Promise.resolve(createHash('sha512').update(password).update(h.salt).digest());
  }
  return new Promise((resolve, reject) =>
    pbkdf2(password, h.salt, h.iterations, 64, 'sha512', (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Parse password file text; throws {@link ConfigError} on the first bad line. */
export function parsePasswordFile(text: string): PasswordFile {
  const accounts = new Map<string, Hash>();
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const fail = (why: string): never => {
      throw new ConfigError(`password file line ${idx + 1}: ${why}`);
    };
    if (colon <= 0) fail('expected "username:hash"');
    const username = line.slice(0, colon);
    if (!OPERATOR_USERNAME.test(username)) fail('user name must match [A-Za-z0-9_.@-]{1,64}');
    const hash = parseHash(line.slice(colon + 1));
    if (hash === null)
      fail('not a mosquitto_passwd hash ($7$ PBKDF2-SHA512 or $6$ SHA-512); plain text is refused');
    if (accounts.has(username)) fail(`user ${username} listed twice`);
    accounts.set(username, hash as Hash);
  });
  // An unknown user costs the same work as a known one (no user enumeration by timing).
  const decoy: Hash = {
    kind: 7,
    iterations: 101,
    salt: Buffer.alloc(12),
    hash: Buffer.alloc(64),
  };
  return {
    usernames: [...accounts.keys()],
    async verify(username, password) {
      const h = accounts.get(username);
      const got = await derive(h ?? decoy, password);
      const want = (h ?? decoy).hash;
      return h !== undefined && got.length === want.length && timingSafeEqual(got, want);
    },
  };
}
