import { beforeAll, describe, expect, it } from 'vitest';
import { ready, sodium } from '../src/sodium.ts';
import { isCryptoError } from '../src/errors.ts';
import { fromHex } from '../src/bytes.ts';
import {
  generateDeviceKeys,
  generateUserIdentity,
  issueDeviceCertificate,
} from '../src/identity.ts';
import {
  type PrekeyBundle,
  decodeKemPrekey,
  decodeOneTimePrekey,
  decodeSignedPrekey,
  encodeKemPrekey,
  encodeOneTimePrekey,
  encodeSignedPrekey,
  generateKemPrekey,
  generateKemPrekeys,
  generateOneTimePrekeys,
  generateSignedPrekey,
  verifyKemPrekey,
  verifyOneTimePrekey,
  verifyPrekeyBundle,
  verifySignedPrekey,
} from '../src/prekeys.ts';
import { assertValidX25519PublicKey } from '../src/internal/x25519.ts';

beforeAll(async () => {
  await ready();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isCryptoError(err) ? err.code : `non-CryptoError: ${String(err)}`;
  }
  return undefined;
}

/** u-coordinates of small-order points, canonical and non-canonical (libsodium's blocklist). */
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

function device() {
  const uik = generateUserIdentity();
  const keys = generateDeviceKeys();
  const certificate = issueDeviceCertificate(uik, {
    username: 'bob',
    deviceId: 'phone',
    kind: 'user',
    signingKey: keys.signing.publicKey,
    identityKey: keys.identity.publicKey,
    issuedAt: 1_700_000_000_000,
  });
  return { uik, keys, certificate };
}

function bundleFor(d: ReturnType<typeof device>): PrekeyBundle {
  return {
    certificate: d.certificate,
    signedPrekey: generateSignedPrekey(d.keys.signing, 1, 1_700_000_000_000).prekey,
    kemPrekey: generateKemPrekey(d.keys.signing, 7, true).prekey,
    oneTimePrekey: generateOneTimePrekeys(100, 1)[0]!.prekey,
  };
}

describe('signed X25519 prekeys', () => {
  it('verify against the device signing key and round-trip through their encoding', () => {
    const d = device();
    const { prekey } = generateSignedPrekey(d.keys.signing, 42, 1_700_000_000_123);
    const bytes = encodeSignedPrekey(prekey);
    expect(bytes[0]).toBe(1);
    const back = decodeSignedPrekey(bytes);
    expect(back).toEqual(prekey);
    expect(() => verifySignedPrekey(d.keys.signing.publicKey, back)).not.toThrow();
  });

  it('rejects a prekey whose signature does not verify', () => {
    const d = device();
    const other = device();
    const { prekey } = generateSignedPrekey(d.keys.signing, 1, 0);
    expect(codeOf(() => verifySignedPrekey(other.keys.signing.publicKey, prekey))).toBe(
      'BAD_SIGNATURE',
    );
    expect(codeOf(() => verifySignedPrekey(d.keys.signing.publicKey, { ...prekey, id: 2 }))).toBe(
      'BAD_SIGNATURE',
    );
    expect(
      codeOf(() => verifySignedPrekey(d.keys.signing.publicKey, { ...prekey, createdAt: 1 })),
    ).toBe('BAD_SIGNATURE');
    const swapped = generateSignedPrekey(d.keys.signing, 1, 0).prekey.publicKey;
    expect(
      codeOf(() => verifySignedPrekey(d.keys.signing.publicKey, { ...prekey, publicKey: swapped })),
    ).toBe('BAD_SIGNATURE');
    expect(
      codeOf(() =>
        verifySignedPrekey(d.keys.signing.publicKey, { ...prekey, signature: new Uint8Array(64) }),
      ),
    ).toBe('BAD_SIGNATURE');
  });

  it('rejects every single-byte change of its encoding with a CryptoError', () => {
    const d = device();
    const bytes = encodeSignedPrekey(generateSignedPrekey(d.keys.signing, 1, 0).prekey);
    for (let i = 0; i < bytes.length; i++) {
      const t = bytes.slice();
      t[i]! ^= 0x80;
      const code = codeOf(() =>
        verifySignedPrekey(d.keys.signing.publicKey, decodeSignedPrekey(t)),
      );
      expect(['MALFORMED', 'UNSUPPORTED_VERSION', 'INVALID_KEY', 'BAD_SIGNATURE']).toContain(code);
    }
  });
});

describe('X-Wing KEM prekeys', () => {
  it('verify, keep their last-resort flag and round-trip through their encoding', () => {
    const d = device();
    for (const lastResort of [true, false]) {
      const { prekey, secretKey } = generateKemPrekey(d.keys.signing, 9, lastResort);
      expect(secretKey.length).toBe(sodium().crypto_kem_xwing_SECRETKEYBYTES);
      const back = decodeKemPrekey(encodeKemPrekey(prekey));
      expect(back).toEqual(prekey);
      expect(() => verifyKemPrekey(d.keys.signing.publicKey, back)).not.toThrow();
    }
  });

  it('rejects a KEM prekey whose last-resort flag or key was changed after signing', () => {
    const d = device();
    const { prekey } = generateKemPrekey(d.keys.signing, 9, false);
    expect(
      codeOf(() => verifyKemPrekey(d.keys.signing.publicKey, { ...prekey, lastResort: true })),
    ).toBe('BAD_SIGNATURE');
    const pk = prekey.publicKey.slice();
    pk[100]! ^= 1;
    expect(
      codeOf(() => verifyKemPrekey(d.keys.signing.publicKey, { ...prekey, publicKey: pk })),
    ).toBe('BAD_SIGNATURE');
    expect(
      codeOf(() =>
        verifyKemPrekey(d.keys.signing.publicKey, { ...prekey, publicKey: pk.subarray(1) }),
      ),
    ).toBe('INVALID_KEY');
  });

  it('rejects a flag byte other than 0 or 1 and trailing bytes as malformed', () => {
    const d = device();
    const bytes = encodeKemPrekey(generateKemPrekey(d.keys.signing, 9, false).prekey);
    const t = bytes.slice();
    t[5] = 2;
    expect(codeOf(() => decodeKemPrekey(t))).toBe('MALFORMED');
    expect(codeOf(() => decodeKemPrekey(new Uint8Array([...bytes, 0])))).toBe('MALFORMED');
  });
  it('are generated in signed one-time batches with consecutive ids', () => {
    const d = device();
    const batch = generateKemPrekeys(d.keys.signing, 50, 3);
    expect(batch.map((p) => [p.prekey.id, p.prekey.lastResort])).toEqual([
      [50, false],
      [51, false],
      [52, false],
    ]);
    for (const { prekey } of batch) {
      expect(() => verifyKemPrekey(d.keys.signing.publicKey, prekey)).not.toThrow();
    }
    expect(() => generateKemPrekeys(d.keys.signing, 0xffffffff, 2)).toThrow(RangeError);
  });
});

describe('one-time prekeys', () => {
  it('are generated with consecutive ids and round-trip through their encoding', () => {
    const batch = generateOneTimePrekeys(10, 5);
    expect(batch.map((p) => p.prekey.id)).toEqual([10, 11, 12, 13, 14]);
    for (const { prekey } of batch)
      expect(decodeOneTimePrekey(encodeOneTimePrekey(prekey))).toEqual(prekey);
  });
});

describe('X25519 public key validation', () => {
  it('rejects every low-order point with INVALID_KEY', () => {
    for (const hex of LOW_ORDER) {
      const publicKey = fromHex(hex);
      expect(codeOf(() => assertValidX25519PublicKey(publicKey))).toBe('INVALID_KEY');
      expect(codeOf(() => verifyOneTimePrekey({ id: 1, publicKey }))).toBe('INVALID_KEY');
      expect(codeOf(() => decodeOneTimePrekey(encodeOneTimePrekey({ id: 1, publicKey })))).toBe(
        'INVALID_KEY',
      );
    }
  });

  it('lists only points that really have small order', () => {
    const s = sodium();
    const scalar = s.randombytes_buf(32);
    for (const hex of LOW_ORDER) expect(() => s.crypto_scalarmult(scalar, fromHex(hex))).toThrow();
  });

  it('rejects a signed prekey carrying a low-order point even when the signature is valid', () => {
    const d = device();
    const { prekey } = generateSignedPrekey(d.keys.signing, 1, 0);
    const bad = { ...prekey, publicKey: fromHex(LOW_ORDER[2]!) };
    expect(codeOf(() => verifySignedPrekey(d.keys.signing.publicKey, bad))).toBe('INVALID_KEY');
  });

  it('rejects keys of the wrong length, with the top bit set, or on the twist', () => {
    expect(codeOf(() => assertValidX25519PublicKey(new Uint8Array(31).fill(9)))).toBe(
      'INVALID_KEY',
    );
    const top = new Uint8Array(32);
    top[0] = 9;
    top[31] = 0x80;
    expect(codeOf(() => assertValidX25519PublicKey(top))).toBe('INVALID_KEY');
    // u = 2 is not on Curve25519 (2^3 + A·4 + 2 is a non-residue mod p).
    const twist = new Uint8Array(32);
    twist[0] = 2;
    expect(codeOf(() => assertValidX25519PublicKey(twist))).toBe('INVALID_KEY');
    const base = new Uint8Array(32);
    base[0] = 9;
    expect(() => assertValidX25519PublicKey(base)).not.toThrow();
  });
});

describe('prekey bundles', () => {
  it('verify against the expected user identity key, username and device id', () => {
    const d = device();
    const bundle = bundleFor(d);
    expect(() =>
      verifyPrekeyBundle(bundle, { uik: d.uik.publicKey, username: 'bob', deviceId: 'phone' }),
    ).not.toThrow();
  });

  it('rejects a bundle whose certificate chains to another user identity key', () => {
    const d = device();
    const mallory = device();
    expect(codeOf(() => verifyPrekeyBundle(bundleFor(mallory), { uik: d.uik.publicKey }))).toBe(
      'BAD_CERTIFICATE',
    );
  });

  it('rejects a bundle for another username or device', () => {
    const d = device();
    expect(codeOf(() => verifyPrekeyBundle(bundleFor(d), { username: 'carol' }))).toBe(
      'BAD_CERTIFICATE',
    );
    expect(codeOf(() => verifyPrekeyBundle(bundleFor(d), { deviceId: 'tablet' }))).toBe(
      'BAD_CERTIFICATE',
    );
  });

  it('rejects a bundle whose prekeys are signed by another device (forged)', () => {
    const d = device();
    const mallory = device();
    const forged = bundleFor(d);
    forged.signedPrekey = generateSignedPrekey(mallory.keys.signing, 1, 0).prekey;
    expect(codeOf(() => verifyPrekeyBundle(forged, { uik: d.uik.publicKey }))).toBe(
      'BAD_SIGNATURE',
    );
    const forgedKem = bundleFor(d);
    forgedKem.kemPrekey = generateKemPrekey(mallory.keys.signing, 7, true).prekey;
    expect(codeOf(() => verifyPrekeyBundle(forgedKem, { uik: d.uik.publicKey }))).toBe(
      'BAD_SIGNATURE',
    );
  });

  it('rejects a bundle whose prekeys carry no signature', () => {
    const d = device();
    const unsigned = bundleFor(d);
    unsigned.signedPrekey = { ...unsigned.signedPrekey, signature: new Uint8Array(0) };
    expect(codeOf(() => verifyPrekeyBundle(unsigned))).toBe('BAD_SIGNATURE');
    const unsignedKem = bundleFor(d);
    unsignedKem.kemPrekey = { ...unsignedKem.kemPrekey, signature: new Uint8Array(64) };
    expect(codeOf(() => verifyPrekeyBundle(unsignedKem))).toBe('BAD_SIGNATURE');
  });

  it('rejects a bundle whose one-time prekey is a low-order point', () => {
    const d = device();
    const bundle = bundleFor(d);
    bundle.oneTimePrekey = { id: 1, publicKey: new Uint8Array(32) };
    expect(codeOf(() => verifyPrekeyBundle(bundle))).toBe('INVALID_KEY');
  });
});
