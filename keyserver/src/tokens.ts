/**
 * Access tokens, the minting side (DESIGN.md §4.1): the key server's Ed25519
 * signing key and the issuer. Only the key server holds the private key; the
 * claims, the verifier and the key-to-PEM helpers are in
 * `@sotto/server-core/tokens`, shared with the broker, and re-exported here.
 *
 * Exported as `@sotto/keyserver/tokens` for scripts/keygen.ts and tests.
 */
import { generateKeyPairSync, createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createSigner } from 'fast-jwt';
import { publicKeyToPem, type KeyInput, type TokenKind } from '@sotto/server-core/tokens';

export {
  createTokenVerifier,
  publicKeyToPem,
  TokenError,
  type AccessClaims,
  type KeyInput,
  type TokenErrorCode,
  type TokenKind,
  type TokenVerifier,
} from '@sotto/server-core/tokens';

function toPrivateKey(key: KeyInput): KeyObject {
  const k = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  if (k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('signing key must be an Ed25519 private key');
  }
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
    issue({ sub, dev, kind, authTime }) {
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
      });
      return { token, jti, expiresAt: exp * 1000 };
    },
  };
}
