/**
 * Access tokens (DESIGN.md §4.1): JWTs signed with the key server's Ed25519
 * key (EdDSA). Brokers verify them with the public key only and so cannot
 * mint them. The algorithm is pinned on both sides: `none`, HS256 (including
 * HS256 "signed" with the public key) and every other `alg` are refused.
 *
 * Exported as `@sotto/server-core/tokens`. The issuer lives here beside the
 * verifier (one definition of the token format) and because the broker's tests
 * mint tokens: a broker dev dependency on the key server would pull Fastify and
 * Argon2 into the broker's production install. Minting needs the private key,
 * which only key servers are given.
 */
import {
  generateKeyPairSync,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createSigner, createVerifier } from 'fast-jwt';

/** Who holds a token: a user's device, a bot, a thing, or the key server itself on MQTT. */
export type TokenKind = 'user' | 'bot' | 'thing' | 'service';

const KINDS: readonly TokenKind[] = ['user', 'bot', 'thing', 'service'];

/** Verified claims of an access token. */
export interface AccessClaims {
  /** Username. */
  sub: string;
  /** Device id. */
  dev: string;
  kind: TokenKind;
  /** Unique token id (revocation key). */
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
  /** Seconds since the epoch. */
  exp: number;
  iss: string;
  aud: string;
  /**
   * Seconds since the epoch of the password login this token's session started from (OpenID
   * Connect's `auth_time`). Refreshed tokens carry the original value, so a refresh never makes
   * a session look freshly authenticated; absent on tokens not descended from a password login.
   */
  auth_time?: number;
  /**
   * Present (`true`) on a guest account's tokens (docs/API.md "Guests"): brokers let a guest
   * device reach only users it shares a room with ([ACL-13]). An upgrade revokes them all.
   */
  gst?: true;
}

/** Stable reasons a token is refused. */
export type TokenErrorCode = 'TOKEN_MALFORMED' | 'TOKEN_EXPIRED' | 'TOKEN_INVALID';

/** A token that does not verify; `code` says why (expired vs everything else). */
export class TokenError extends Error {
  override readonly name = 'TokenError';

  constructor(
    readonly code: TokenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A private or public key as a Node KeyObject or PEM text. */
export type KeyInput = KeyObject | string | Buffer;

function toPrivateKey(key: KeyInput): KeyObject {
  const k = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  if (k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('signing key must be an Ed25519 private key');
  }
  return k;
}

function toPublicKey(key: KeyInput): KeyObject {
  let k: KeyObject;
  if (typeof key === 'string' || Buffer.isBuffer(key)) {
    const text = key.toString();
    k = text.includes('PRIVATE KEY')
      ? createPublicKey(createPrivateKey(text))
      : createPublicKey(text);
  } else {
    k = key.type === 'private' ? createPublicKey(key) : key;
  }
  if (k.asymmetricKeyType !== 'ed25519') throw new TypeError('publicKey must be an Ed25519 key');
  return k;
}

/** A fresh Ed25519 signing key. */
export function generateSigningKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

/** PKCS#8 PEM of a private key. */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** SPKI PEM of the public half of a key (private or public). */
export function publicKeyToPem(key: KeyInput): string {
  return toPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
}

/** Load an Ed25519 private key from a PEM file. */
export function loadSigningKey(file: string): KeyObject {
  return toPrivateKey(readFileSync(file, 'utf8'));
}

/** Load the key at `file`, or generate one and write it there (mode 0600) on first start. */
export function loadOrCreateSigningKey(file: string): KeyObject {
  if (existsSync(file)) return loadSigningKey(file);
  const key = generateSigningKey();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, privateKeyToPem(key), { mode: 0o600, flag: 'wx' });
  return key;
}

/** A freshly issued access token. */
export interface IssuedAccessToken {
  token: string;
  jti: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** Mints access tokens. */
export interface TokenIssuer {
  /** Mint a token; `authTime` (seconds) becomes the `auth_time` claim when given. */
  issue(subject: {
    sub: string;
    dev: string;
    kind: TokenKind;
    authTime?: number | undefined;
    /** A guest account's token: adds the `gst` claim. */
    guest?: boolean;
  }): IssuedAccessToken;
  /** SPKI PEM of the verification key (give this to brokers). */
  readonly publicKeyPem: string;
}

/** Create the key server's token issuer. `ttlSeconds` defaults to 900 (15 min). */
export function createTokenIssuer(opts: {
  privateKey: KeyInput;
  issuer: string;
  audience: string;
  ttlSeconds?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}): TokenIssuer {
  const key = toPrivateKey(opts.privateKey);
  const pem = privateKeyToPem(key);
  const ttl = opts.ttlSeconds ?? 900;
  const now = opts.now ?? Date.now;
  const sign = createSigner({ key: pem, algorithm: 'EdDSA' });
  return {
    publicKeyPem: publicKeyToPem(key),
    issue({ sub, dev, kind, authTime, guest }) {
      const iat = Math.floor(now() / 1000);
      const exp = iat + ttl;
      const jti = randomUUID();
      const token = sign({
        sub,
        dev,
        kind,
        jti,
        iat,
        exp,
        iss: opts.issuer,
        aud: opts.audience,
        ...(authTime === undefined ? {} : { auth_time: authTime }),
        ...(guest ? { gst: true } : {}),
      });
      return { token, jti, expiresAt: exp * 1000 };
    },
  };
}

/** Verifies access tokens; EdDSA only. */
export interface TokenVerifier {
  /** Claims of a valid token; throws {@link TokenError} otherwise. Does not consult revocation. */
  verify(token: string): AccessClaims;
}

/**
 * Create a verifier for tokens of one issuer and audience. Only `EdDSA` is
 * accepted, whatever the header says; `iss`, `aud`, `exp` are required.
 */
export function createTokenVerifier(opts: {
  publicKey: KeyInput;
  issuer: string;
  audience: string;
  /** Seconds of clock skew tolerated on `exp`/`iat` (default 5). */
  clockToleranceSeconds?: number;
  /** Verified tokens remembered to skip repeated signature checks (default 10 000; 0 = off). */
  cacheSize?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}): TokenVerifier {
  const pem = publicKeyToPem(opts.publicKey);
  const tolerance = (opts.clockToleranceSeconds ?? 5) * 1000;
  const base = {
    key: pem,
    algorithms: ['EdDSA' as const],
    allowedIss: opts.issuer,
    allowedAud: opts.audience,
    requiredClaims: ['sub', 'dev', 'kind', 'jti', 'iat', 'exp', 'iss', 'aud'],
    clockTolerance: tolerance,
    // Signature checks are cached per token (until it expires): a token that verified once
    // verifies again. Revocation is never cached — callers consult the store every time.
    cache: opts.cacheSize ?? 10_000,
  };
  const fixed = opts.now ? null : createVerifier(base);
  return {
    verify(token) {
      if (typeof token !== 'string' || token.length > 4096)
        throw new TokenError('TOKEN_MALFORMED', 'token is not a JWT');
      let payload: unknown;
      try {
        const v = fixed ?? createVerifier({ ...base, clockTimestamp: opts.now?.() ?? Date.now() });
        payload = v(token);
      } catch (cause) {
        const code = (cause as { code?: string }).code;
        if (code === 'FAST_JWT_EXPIRED')
          throw new TokenError('TOKEN_EXPIRED', 'token expired', { cause });
        if (code === 'FAST_JWT_MALFORMED' || code === 'FAST_JWT_INVALID_TYPE') {
          throw new TokenError('TOKEN_MALFORMED', 'token is not a JWT', { cause });
        }
        throw new TokenError('TOKEN_INVALID', 'token rejected', { cause });
      }
      const p = payload as Record<string, unknown>;
      if (
        typeof p.sub !== 'string' ||
        typeof p.dev !== 'string' ||
        typeof p.jti !== 'string' ||
        typeof p.iat !== 'number' ||
        typeof p.exp !== 'number' ||
        typeof p.iss !== 'string' ||
        typeof p.aud !== 'string' ||
        (p.auth_time !== undefined && !Number.isSafeInteger(p.auth_time)) ||
        !KINDS.includes(p.kind as TokenKind)
      ) {
        throw new TokenError('TOKEN_INVALID', 'token claims have the wrong shape');
      }
      return {
        sub: p.sub,
        dev: p.dev,
        kind: p.kind as TokenKind,
        jti: p.jti,
        iat: p.iat,
        exp: p.exp,
        iss: p.iss,
        aud: p.aud,
        ...(typeof p.auth_time === 'number' ? { auth_time: p.auth_time } : {}),
        ...(p.gst === true ? { gst: true as const } : {}),
      };
    },
  };
}

/** Paths of a key pair on disk. */
export interface KeyFiles {
  privateKeyFile: string;
  publicKeyFile: string;
}

/**
 * Load the Ed25519 signing key at `privateKeyFile` (generating it, mode 0600,
 * when missing) and (re)write its public half to `publicKeyFile`.
 */
export function ensureSigningKeyPair(files: KeyFiles): { publicKeyPem: string } {
  const key = loadOrCreateSigningKey(files.privateKeyFile);
  const publicKeyPem = publicKeyToPem(key);
  mkdirSync(dirname(files.publicKeyFile), { recursive: true });
  writeFileSync(files.publicKeyFile, publicKeyPem, { mode: 0o644 });
  return { publicKeyPem };
}
