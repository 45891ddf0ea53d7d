import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/sodium.ts';
import { isCryptoError } from '../src/errors.ts';
import {
  type DeviceCertificate,
  decodeDeviceCertificate,
  encodeDeviceCertificate,
  generateDeviceKeys,
  generateUserIdentity,
  issueDeviceCertificate,
  verifyDeviceCertificate,
} from '../src/identity.ts';

beforeAll(async () => {
  await ready();
});

function makeCert(overrides: Partial<{ username: string; deviceId: string }> = {}) {
  const uik = generateUserIdentity();
  const keys = generateDeviceKeys();
  const cert = issueDeviceCertificate(uik, {
    username: overrides.username ?? 'alice',
    deviceId: overrides.deviceId ?? 'laptop-1',
    kind: 'user',
    signingKey: keys.signing.publicKey,
    identityKey: keys.identity.publicKey,
    issuedAt: 1_700_000_000_000,
  });
  return { uik, keys, cert };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isCryptoError(err) ? err.code : `non-CryptoError: ${String(err)}`;
  }
  return undefined;
}

describe('device certificates', () => {
  it('verifies a certificate issued by the user identity key against that key, user and device', () => {
    const { uik, cert } = makeCert();
    expect(() =>
      verifyDeviceCertificate(cert, {
        uik: uik.publicKey,
        username: 'alice',
        deviceId: 'laptop-1',
      }),
    ).not.toThrow();
  });

  it('round-trips through its canonical encoding, which starts with the version byte', () => {
    const { cert } = makeCert();
    const bytes = encodeDeviceCertificate(cert);
    expect(bytes[0]).toBe(1);
    const back = decodeDeviceCertificate(bytes);
    expect(back).toEqual(cert);
    expect(encodeDeviceCertificate(back)).toEqual(bytes);
    verifyDeviceCertificate(back);
  });

  it('rejects a certificate checked against another user identity key', () => {
    const { cert } = makeCert();
    const other = generateUserIdentity();
    expect(codeOf(() => verifyDeviceCertificate(cert, { uik: other.publicKey }))).toBe(
      'BAD_CERTIFICATE',
    );
  });

  it('verifies a certificate once per exact bytes: a changed signature or field and the expectations are still checked', () => {
    const { uik, cert } = makeCert();
    verifyDeviceCertificate(cert, { uik: uik.publicKey, username: 'alice' });
    // Verified before: the same bytes pass again, but only under the same expectations.
    expect(() => verifyDeviceCertificate(cert, { uik: uik.publicKey })).not.toThrow();
    expect(codeOf(() => verifyDeviceCertificate(cert, { username: 'mallory' }))).toBe(
      'BAD_CERTIFICATE',
    );
    expect(
      codeOf(() => verifyDeviceCertificate(cert, { uik: generateUserIdentity().publicKey })),
    ).toBe('BAD_CERTIFICATE');
    const signature = cert.signature.slice();
    signature[0]! ^= 1;
    expect(codeOf(() => verifyDeviceCertificate({ ...cert, signature }))).toBe('BAD_CERTIFICATE');
    expect(codeOf(() => verifyDeviceCertificate({ ...cert, issuedAt: cert.issuedAt + 1 }))).toBe(
      'BAD_CERTIFICATE',
    );
    const identityKey = cert.identityKey.slice();
    identityKey[0]! ^= 1;
    expect(codeOf(() => verifyDeviceCertificate({ ...cert, identityKey }))).toBe('BAD_CERTIFICATE');
  });

  it('rejects a certificate for another username or device id', () => {
    const { cert } = makeCert();
    expect(codeOf(() => verifyDeviceCertificate(cert, { username: 'mallory' }))).toBe(
      'BAD_CERTIFICATE',
    );
    expect(codeOf(() => verifyDeviceCertificate(cert, { deviceId: 'phone' }))).toBe(
      'BAD_CERTIFICATE',
    );
  });

  it('rejects a certificate whose fields were changed after signing', () => {
    const { cert } = makeCert();
    const attacker = generateDeviceKeys();
    const variants: DeviceCertificate[] = [
      { ...cert, username: 'mallory' },
      { ...cert, deviceId: 'other' },
      { ...cert, kind: 'bot' },
      { ...cert, identityKey: attacker.identity.publicKey },
      { ...cert, signingKey: attacker.signing.publicKey },
      { ...cert, issuedAt: cert.issuedAt + 1 },
    ];
    for (const v of variants)
      expect(codeOf(() => verifyDeviceCertificate(v))).toBe('BAD_CERTIFICATE');
  });

  it('rejects a certificate signed by a key other than the uik it names', () => {
    const { cert } = makeCert();
    const mallory = generateUserIdentity();
    const forged = issueDeviceCertificate(mallory, { ...cert, uik: mallory.publicKey });
    expect(codeOf(() => verifyDeviceCertificate({ ...forged, uik: cert.uik }))).toBe(
      'BAD_CERTIFICATE',
    );
  });

  it('rejects every single-bit flip of the encoding with a CryptoError', () => {
    const { cert } = makeCert();
    const bytes = encodeDeviceCertificate(cert);
    for (let i = 0; i < bytes.length; i++) {
      const t = bytes.slice();
      t[i]! ^= 0x01;
      const code = codeOf(() =>
        verifyDeviceCertificate(decodeDeviceCertificate(t), { uik: cert.uik }),
      );
      expect(['MALFORMED', 'UNSUPPORTED_VERSION', 'BAD_CERTIFICATE']).toContain(code);
    }
  });

  it('rejects truncated, extended and wrong-version encodings as malformed', () => {
    const { cert } = makeCert();
    const bytes = encodeDeviceCertificate(cert);
    expect(codeOf(() => decodeDeviceCertificate(bytes.subarray(0, bytes.length - 1)))).toBe(
      'MALFORMED',
    );
    expect(codeOf(() => decodeDeviceCertificate(new Uint8Array([...bytes, 0])))).toBe('MALFORMED');
    expect(codeOf(() => decodeDeviceCertificate(new Uint8Array(0)))).toBe('MALFORMED');
    const v2 = bytes.slice();
    v2[0] = 2;
    expect(codeOf(() => decodeDeviceCertificate(v2))).toBe('UNSUPPORTED_VERSION');
  });

  it('refuses to issue a certificate for an invalid username or device id', () => {
    expect(() => makeCert({ username: 'Alice!' })).toThrow(TypeError);
    expect(() => makeCert({ deviceId: 'a/b' })).toThrow(TypeError);
  });

  it('derives the same keys from the same seeds', () => {
    const seed = new Uint8Array(32).fill(7);
    expect(generateUserIdentity(seed)).toEqual(generateUserIdentity(seed));
    expect(generateDeviceKeys({ signing: seed, identity: seed })).toEqual(
      generateDeviceKeys({ signing: seed, identity: seed }),
    );
  });
});
