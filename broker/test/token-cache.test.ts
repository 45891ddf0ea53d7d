/**
 * The verified-token cache (issue 20, item 3): the key server's verifier remembers a token whose
 * Ed25519 signature checked out (fast-jwt's cache, keyed by the token, until it expires), so a
 * device reconnecting with the same token skips the signature check. What must stay immediate
 * does: a revoked token is refused at the next connect though its signature check is cached, and
 * a cached token is refused once it has expired. The production verifier (no injected clock,
 * the cache on) against a real broker.
 */
import { describe, expect, it } from 'vitest';
import {
  createTokenIssuer,
  createTokenVerifier,
  generateSigningKey,
} from '@sotto/server-core/tokens';
import { connect, FakeStore, refusedCode, startTestBroker } from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

const key = generateSigningKey();
const issuer = createTokenIssuer({ privateKey: key, issuer: 'sotto', audience: 'sotto' });
const verifier = createTokenVerifier({
  publicKey: key,
  issuer: 'sotto',
  audience: 'sotto',
  clockToleranceSeconds: 0,
});
const store = new FakeStore().addUser('alice', 'a1');

describe('verified-token cache', () => {
  it('accepts the same token again, refuses it at once when revoked', async () => {
    const b = await startTestBroker({
      store,
      presence: false,
      verifyToken: (x) => verifier.verify(x),
    });
    try {
      const { token, jti } = issuer.issue({ sub: 'alice', dev: 'a1', kind: 'user' });
      for (let i = 0; i < 3; i++) {
        const c = await connect(b.tcpUrl, 'alice:a1', token);
        c.end(true);
      }
      store.revoked.add(jti);
      expect(await refusedCode(b.tcpUrl, 'alice:a1', token)).toBe(5);
      // And a fresh token of the same device still works.
      const fresh = issuer.issue({ sub: 'alice', dev: 'a1', kind: 'user' }).token;
      (await connect(b.tcpUrl, 'alice:a1', fresh)).end(true);
    } finally {
      await b.close();
    }
  });

  it('refuses a cached token once it has expired', async () => {
    const b = await startTestBroker({
      store,
      presence: false,
      verifyToken: (x) => verifier.verify(x),
    });
    try {
      const short = createTokenIssuer({
        privateKey: key,
        issuer: 'sotto',
        audience: 'sotto',
        ttlSeconds: 2,
      });
      const { token } = short.issue({ sub: 'alice', dev: 'a1', kind: 'user' });
      (await connect(b.tcpUrl, 'alice:a1', token)).end(true);
      (await connect(b.tcpUrl, 'alice:a1', token)).end(true); // from the cache
      await waitFor(async () => (await refusedCode(b.tcpUrl, 'alice:a1', token)) === 4, {
        what: 'the expired token refused',
        timeoutMs: 10_000,
        intervalMs: 250,
      });
    } finally {
      await b.close();
    }
  });
});
