/**
 * Project Wycheproof vectors (../shared/vectors/wycheproof, Apache-2.0) run
 * through the wrappers the protocol actually uses: `x25519` (every DH of the
 * handshake and ratchet), `verifyRaw` (every Ed25519 check) and
 * `aeadSeal`/`aeadOpen` (every message). Valid cases must pass; invalid cases
 * — and X25519's "acceptable" ones (twist, non-canonical, low-order points) —
 * must be refused with a CryptoError.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/sodium.ts';
import { fromHex, toHex } from '../src/bytes.ts';
import { isCryptoError } from '../src/errors.ts';
import { x25519 } from '../src/internal/x25519.ts';
import { verifyRaw } from '../src/internal/ed25519.ts';
import { aeadOpen, aeadSeal } from '../src/internal/aead.ts';

interface Suite<T> {
  numberOfTests: number;
  testGroups: (Record<string, unknown> & {
    tests: (T & { tcId: number; result: string; flags: string[] })[];
  })[];
}

function load<T>(name: string): Suite<T> {
  const url = new URL(`../../../shared/vectors/wycheproof/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Suite<T>;
}

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return isCryptoError(err) ? 'CryptoError' : `other: ${String(err)}`;
  }
  return 'accepted';
}

beforeAll(async () => {
  await ready();
});

describe('Wycheproof X25519 through our x25519 wrapper', () => {
  const suite = load<{ public: string; private: string; shared: string }>('x25519_test.json');
  const cases = suite.testGroups.flatMap((g) => g.tests);

  it('runs every case of the file', () => {
    expect(cases.length).toBe(suite.numberOfTests);
    expect(cases.length).toBe(518);
  });

  it('computes the expected shared secret for every valid case', () => {
    const valid = cases.filter((c) => c.result === 'valid');
    expect(valid.length).toBe(264);
    for (const c of valid) {
      expect(toHex(x25519(fromHex(c.private), fromHex(c.public))), `tcId ${c.tcId}`).toBe(c.shared);
    }
  });

  it('refuses every acceptable case (twist, non-canonical, low-order, zero output) with a CryptoError', () => {
    const acceptable = cases.filter((c) => c.result !== 'valid');
    expect(acceptable.length).toBe(254);
    for (const c of acceptable) {
      expect(
        rejection(() => x25519(fromHex(c.private), fromHex(c.public))),
        `tcId ${c.tcId} ${c.flags.join(',')}`,
      ).toBe('CryptoError');
    }
  });
});

describe('Wycheproof Ed25519 through our signature verifier', () => {
  const suite = load<{ msg: string; sig: string }>('ed25519_test.json');
  const cases = suite.testGroups.flatMap((g) =>
    g.tests.map((t) => ({ ...t, pk: (g.publicKey as { pk: string }).pk })),
  );

  it('runs every case of the file', () => {
    expect(cases.length).toBe(suite.numberOfTests);
  });

  it('accepts every valid signature', () => {
    const valid = cases.filter((c) => c.result === 'valid');
    expect(valid.length).toBeGreaterThan(0);
    for (const c of valid) {
      expect(
        rejection(() => verifyRaw(fromHex(c.pk), fromHex(c.msg), fromHex(c.sig))),
        `tcId ${c.tcId}`,
      ).toBe('accepted');
    }
  });

  it('refuses every invalid signature with a CryptoError', () => {
    const invalid = cases.filter((c) => c.result !== 'valid');
    expect(invalid.length).toBe(63);
    for (const c of invalid) {
      expect(
        rejection(() => verifyRaw(fromHex(c.pk), fromHex(c.msg), fromHex(c.sig))),
        `tcId ${c.tcId} ${c.flags.join(',')}`,
      ).toBe('CryptoError');
    }
  });
});

describe('Wycheproof XChaCha20-Poly1305 through our AEAD wrapper', () => {
  const suite = load<{
    key: string;
    iv: string;
    aad: string;
    msg: string;
    ct: string;
    tag: string;
  }>('xchacha20_poly1305_test.json');
  const cases = suite.testGroups.flatMap((g) => g.tests);

  it('runs every case of the file', () => {
    expect(cases.length).toBe(suite.numberOfTests);
  });

  it('seals to the expected ciphertext and tag and opens it again for every valid case', () => {
    const valid = cases.filter((c) => c.result === 'valid');
    expect(valid.length).toBe(246);
    for (const c of valid) {
      const key = fromHex(c.key);
      const nonce = fromHex(c.iv);
      const aad = fromHex(c.aad);
      expect(toHex(aeadSeal(key, nonce, fromHex(c.msg), aad)), `tcId ${c.tcId}`).toBe(c.ct + c.tag);
      expect(toHex(aeadOpen(key, nonce, fromHex(c.ct + c.tag), aad)), `tcId ${c.tcId}`).toBe(c.msg);
    }
  });

  it('refuses every invalid case (modified tag, wrong nonce size) with a CryptoError', () => {
    const invalid = cases.filter((c) => c.result !== 'valid');
    expect(invalid.length).toBe(69);
    for (const c of invalid) {
      const open = () =>
        aeadOpen(fromHex(c.key), fromHex(c.iv), fromHex(c.ct + c.tag), fromHex(c.aad));
      expect(rejection(open), `tcId ${c.tcId} ${c.flags.join(',')}`).toBe('CryptoError');
      if (c.flags.includes('InvalidNonceSize')) {
        const seal = () => aeadSeal(fromHex(c.key), fromHex(c.iv), fromHex(c.msg), fromHex(c.aad));
        expect(rejection(seal), `tcId ${c.tcId} seal`).toBe('CryptoError');
      }
    }
  });
});
