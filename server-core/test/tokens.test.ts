import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { describe, expect, it } from 'vitest';
import {
  createTokenIssuer,
  createTokenVerifier,
  generateSigningKey,
  privateKeyToPem,
  publicKeyToPem,
  TokenError,
} from '../src/tokens.ts';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const ISS = 'https://sotto.test';
const AUD = 'sotto';

function setup(now = Date.now) {
  const key = generateSigningKey();
  const issuer = createTokenIssuer({ privateKey: key, issuer: ISS, audience: AUD, now });
  const verifier = createTokenVerifier({
    publicKey: issuer.publicKeyPem,
    issuer: ISS,
    audience: AUD,
  });
  return { key, issuer, verifier };
}

function claims() {
  const iat = Math.floor(Date.now() / 1000);
  return {
    sub: 'alice',
    dev: 'd1',
    kind: 'user',
    jti: 'x',
    iat,
    exp: iat + 900,
    iss: ISS,
    aud: AUD,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof TokenError ? err.code : 'OTHER';
  }
  return undefined;
}

describe('access tokens', () => {
  it('round-trips the claims of an issued token', () => {
    const { issuer, verifier } = setup();
    const t = issuer.issue({ sub: 'alice', dev: 'd1', kind: 'user' });
    const c = verifier.verify(t.token);
    expect(c).toMatchObject({
      sub: 'alice',
      dev: 'd1',
      kind: 'user',
      jti: t.jti,
      iss: ISS,
      aud: AUD,
    });
    expect(c.exp - c.iat).toBe(900);
    expect(t.expiresAt).toBe(c.exp * 1000);
  });

  it('carries auth_time when issued with one, and refuses a signed token whose auth_time is not an integer', () => {
    const { key, issuer, verifier } = setup();
    expect(
      verifier.verify(issuer.issue({ sub: 'a', dev: 'd', kind: 'user' }).token),
    ).not.toHaveProperty('auth_time');
    const t = issuer.issue({ sub: 'a', dev: 'd', kind: 'user', authTime: 1_700_000_000 });
    expect(verifier.verify(t.token).auth_time).toBe(1_700_000_000);
    const sign = createSigner({ key: privateKeyToPem(key), algorithm: 'EdDSA' });
    const odd = sign({ ...claims(), auth_time: 'yesterday' });
    expect(codeOf(() => verifier.verify(odd))).toBe('TOKEN_INVALID');
  });

  it('refuses a token with alg none', () => {
    const { verifier } = setup();
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
    expect(codeOf(() => verifier.verify(token))).toMatch(/TOKEN_/);
  });

  it('refuses an HS256 token whose HMAC key is the public key PEM', () => {
    const { issuer, verifier } = setup();
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims())}`;
    const sig = createHmac('sha256', issuer.publicKeyPem).update(input).digest('base64url');
    expect(codeOf(() => verifier.verify(`${input}.${sig}`))).toBe('TOKEN_INVALID');
  });

  it('refuses an expired token with TOKEN_EXPIRED', () => {
    const past = Date.now() - 3600_000;
    const { issuer, verifier } = setup(() => past);
    const t = issuer.issue({ sub: 'alice', dev: 'd1', kind: 'user' });
    expect(codeOf(() => verifier.verify(t.token))).toBe('TOKEN_EXPIRED');
  });

  it('refuses a token whose payload was tampered with', () => {
    const { issuer, verifier } = setup();
    const [h, , s] = issuer.issue({ sub: 'alice', dev: 'd1', kind: 'user' }).token.split('.');
    const forged = `${h}.${b64({ ...claims(), sub: 'mallory' })}.${s}`;
    expect(codeOf(() => verifier.verify(forged))).toBe('TOKEN_INVALID');
  });

  it('refuses a token signed by another Ed25519 key', () => {
    const { verifier } = setup();
    const other = createTokenIssuer({
      privateKey: generateSigningKey(),
      issuer: ISS,
      audience: AUD,
    });
    expect(
      codeOf(() => verifier.verify(other.issue({ sub: 'a', dev: 'd', kind: 'user' }).token)),
    ).toBe('TOKEN_INVALID');
  });

  it('refuses a token for another issuer or audience', () => {
    const key = generateSigningKey();
    const verifier = createTokenVerifier({ publicKey: key, issuer: ISS, audience: AUD });
    const wrongIss = createTokenIssuer({ privateKey: key, issuer: 'https://evil', audience: AUD });
    const wrongAud = createTokenIssuer({ privateKey: key, issuer: ISS, audience: 'other' });
    expect(
      codeOf(() => verifier.verify(wrongIss.issue({ sub: 'a', dev: 'd', kind: 'user' }).token)),
    ).toBe('TOKEN_INVALID');
    expect(
      codeOf(() => verifier.verify(wrongAud.issue({ sub: 'a', dev: 'd', kind: 'user' }).token)),
    ).toBe('TOKEN_INVALID');
  });

  it('refuses garbage as malformed', () => {
    const { verifier } = setup();
    expect(codeOf(() => verifier.verify('not.a.jwt'))).toMatch(/TOKEN_/);
    expect(codeOf(() => verifier.verify(''))).toMatch(/TOKEN_/);
  });

  it('accepts only Ed25519 keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() =>
      createTokenIssuer({ privateKey: rsa.privateKey, issuer: ISS, audience: AUD }),
    ).toThrow(TypeError);
    expect(() =>
      createTokenVerifier({ publicKey: rsa.publicKey, issuer: ISS, audience: AUD }),
    ).toThrow(TypeError);
    expect(publicKeyToPem(generateSigningKey())).toContain('BEGIN PUBLIC KEY');
  });
});
