/**
 * Test fixtures for pairwise sessions: devices with certificates, prekeys and
 * an in-memory prekey secret store (crypto-core tests).
 */
import { isCryptoError } from '../../src/errors.ts';
import {
  generateDeviceKeys,
  generateUserIdentity,
  issueDeviceCertificate,
} from '../../src/identity.ts';
import type { DeviceKind } from '../../src/identity.ts';
import type { KeyPair } from '../../src/keys.ts';
import {
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
  type PrekeyBundle,
} from '../../src/prekeys.ts';
import type { LocalDevice, PrekeySecrets } from '../../src/session.ts';

export interface TestDevice extends LocalDevice {
  uik: KeyPair;
  bundle(withOneTime?: boolean): PrekeyBundle;
  secrets: PrekeySecrets;
  /** Secrets still held, by kind and id. */
  held: {
    signed: Map<number, Uint8Array>;
    kem: Map<number, { secretKey: Uint8Array; lastResort: boolean }>;
    oneTime: Map<number, Uint8Array>;
  };
}

export function makeDevice(
  username: string,
  deviceId: string,
  kind: DeviceKind = 'user',
): TestDevice {
  const uik = generateUserIdentity();
  const keys = generateDeviceKeys();
  const certificate = issueDeviceCertificate(uik, {
    username,
    deviceId,
    kind,
    signingKey: keys.signing.publicKey,
    identityKey: keys.identity.publicKey,
    issuedAt: 1_700_000_000_000,
  });
  const spk = generateSignedPrekey(keys.signing, 1, 1_700_000_000_000);
  const lastResort = generateKemPrekey(keys.signing, 1000, true);
  const held: TestDevice['held'] = {
    signed: new Map([[1, spk.secretKey]]),
    kem: new Map([[1000, { secretKey: lastResort.secretKey, lastResort: true }]]),
    oneTime: new Map(),
  };
  let nextOtk = 1;
  let nextKem = 1;
  return {
    uik,
    keys,
    certificate,
    held,
    secrets: {
      signedPrekey: (id) => held.signed.get(id),
      kemPrekey: (id) => held.kem.get(id),
      oneTimePrekey: (id) => held.oneTime.get(id),
    },
    bundle(withOneTime = true) {
      let oneTimePrekey;
      let kemPrekey = lastResort.prekey;
      if (withOneTime) {
        const [otk] = generateOneTimePrekeys(nextOtk++, 1);
        held.oneTime.set(otk!.prekey.id, otk!.secretKey);
        oneTimePrekey = otk!.prekey;
        const kem = generateKemPrekey(keys.signing, nextKem++, false);
        held.kem.set(kem.prekey.id, { secretKey: kem.secretKey, lastResort: false });
        kemPrekey = kem.prekey;
      }
      return { certificate, signedPrekey: spk.prekey, kemPrekey, oneTimePrekey };
    },
  };
}

/** The CryptoError code `fn` throws, `undefined` if it returns, or a marker for any other throw. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isCryptoError(err) ? err.code : `non-CryptoError: ${String(err)}`;
  }
  return undefined;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const untext = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Deterministic shuffle (mulberry32) so a failing order can be reproduced. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Seeded pseudo-random numbers for reproducible fuzzing (not for keys). */
export function makeRng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, bytes };
}
