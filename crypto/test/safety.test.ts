import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/sodium.ts';
import { isCryptoError } from '../src/errors.ts';
import { ed25519KeyPair } from '../src/internal/groups-ed25519.ts';
import {
  encodeSafetyQr,
  formatSafetyNumber,
  safetyFingerprint,
  safetyNumber,
  verifySafetyQr,
  type SafetyIdentity,
} from '../src/safety.ts';

let alice: SafetyIdentity, bob: SafetyIdentity, bobNewKey: SafetyIdentity;

beforeAll(async () => {
  await ready();
  alice = { username: 'alice', uik: ed25519KeyPair(new Uint8Array(32).fill(1)).publicKey };
  bob = { username: 'bob', uik: ed25519KeyPair(new Uint8Array(32).fill(2)).publicKey };
  bobNewKey = { username: 'bob', uik: ed25519KeyPair(new Uint8Array(32).fill(3)).publicKey };
});

describe('safety numbers', () => {
  it('are 60 digits and the same on both sides', () => {
    const fromAlice = safetyNumber(alice, bob);
    const fromBob = safetyNumber(bob, alice);
    expect(fromAlice).toMatch(/^\d{60}$/);
    expect(fromBob).toBe(fromAlice);
    const fa = safetyFingerprint(alice).digits;
    const fb = safetyFingerprint(bob).digits;
    expect(fromAlice).toBe(fa < fb ? fa + fb : fb + fa);
  });

  it('change when either key changes, and when the username changes', () => {
    const before = safetyNumber(alice, bob);
    expect(safetyNumber(alice, bobNewKey)).not.toBe(before);
    expect(safetyNumber(alice, { username: 'bobby', uik: bob.uik })).not.toBe(before);
    // The unchanged half (alice's) is still there.
    expect(safetyNumber(alice, bobNewKey)).toContain(safetyFingerprint(alice).digits);
  });

  it('format as twelve groups of five digits', () => {
    const formatted = formatSafetyNumber(safetyNumber(alice, bob));
    expect(formatted).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(() => formatSafetyNumber('123')).toThrow(RangeError);
  });

  it('QR payload verifies only as the peer view of the same two keys', () => {
    const shownByBob = encodeSafetyQr(bob, alice);
    expect(shownByBob.length).toBe(1 + 32 + 32);
    expect(verifySafetyQr(shownByBob, alice, bob)).toBe(true);
    // Alice scanning her own screen (or a payload with the roles swapped) does not verify.
    expect(verifySafetyQr(encodeSafetyQr(alice, bob), alice, bob)).toBe(false);
    // Bob's real key differs from the one Alice holds: mismatch.
    expect(verifySafetyQr(encodeSafetyQr(bobNewKey, alice), alice, bob)).toBe(false);
    // Bob holds a substituted key for Alice: mismatch too.
    const fakeAlice = { username: 'alice', uik: bobNewKey.uik };
    expect(verifySafetyQr(encodeSafetyQr(bob, fakeAlice), alice, bob)).toBe(false);
  });

  it('rejects a QR payload that is not a safety payload with a CryptoError', () => {
    const good = encodeSafetyQr(bob, alice);
    for (const bad of [
      good.subarray(0, 64),
      new Uint8Array([...good, 0]),
      Uint8Array.of(9, ...good.subarray(1)),
    ]) {
      let thrown: unknown;
      try {
        verifySafetyQr(bad, alice, bob);
      } catch (err) {
        thrown = err;
      }
      expect(isCryptoError(thrown)).toBe(true);
    }
  });

  it('computes a fingerprint in well under a second', () => {
    const t0 = performance.now();
    safetyFingerprint({ username: 'carol', uik: alice.uik });
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
