/**
 * Authentication over real TCP and WebSocket connections: client id and
 * token rules, return codes, the session takeover attack, token expiry and
 * revocation events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  refusedCode,
  startTestBroker,
  subscribe,
  collect,
  closed,
  marker,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;

beforeAll(async () => {
  t = await startTestBroker({ presence: false });
  t.store.addUser('alice', 'phone', 'laptop').addUser('mallory', 'm1').addUser('bob', 'b1');
  t.store.addThing('alice', 'lamp', 'lamp-secret-123');
});
afterAll(async () => {
  await t.close();
});

describe('authentication', () => {
  it('accepts a device whose token names exactly its client id, over TCP and WebSocket', async () => {
    const a = await connect(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'phone'));
    const b = await connect(t.wsUrl, 'alice:laptop', t.tokens.token('alice', 'laptop'));
    expect(a.connected && b.connected).toBe(true);
    a.end(true);
    b.end(true);
  });

  it('accepts a bot token for a device id', async () => {
    t.store.addUser('botty', 'b1');
    const c = await connect(t.tcpUrl, 'botty:b1', t.tokens.token('botty', 'b1', 'bot'));
    expect(c.connected).toBe(true);
    c.end(true);
  });

  it('refuses an empty client id with identifier rejected (2)', async () => {
    expect(
      await refusedCode(t.tcpUrl, '', t.tokens.token('alice', 'phone'), {
        clean: true,
        username: 'alice:phone',
      }),
    ).toBe(2);
  });

  it('refuses malformed client ids with identifier rejected (2)', async () => {
    for (const id of [
      'alice',
      'alice:phone:x',
      'Alice:phone',
      'a/b:phone',
      '#:phone',
      '+:x',
      'thing:alice',
      'service:x:1',
      'al:phone',
    ]) {
      expect(await refusedCode(t.tcpUrl, id, t.tokens.token('alice', 'phone')), id).toBe(2);
    }
  });

  it('refuses a username that differs from the client id (4)', async () => {
    expect(
      await refusedCode(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'phone'), {
        username: 'alice',
      }),
    ).toBe(4);
  });

  it('refuses a missing, garbage, foreign-key or HS256 token (4)', async () => {
    expect(await refusedCode(t.tcpUrl, 'alice:phone', '')).toBe(4);
    expect(await refusedCode(t.tcpUrl, 'alice:phone', 'not-a-jwt')).toBe(4);
    const { createTokens } = await import('./helpers.ts');
    const other = createTokens();
    expect(await refusedCode(t.tcpUrl, 'alice:phone', other.token('alice', 'phone'))).toBe(4);
    const { createHmac } = await import('node:crypto');
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'alice', dev: 'phone', kind: 'user', jti: 'x', iat: now, exp: now + 600, iss: 'sotto', aud: 'sotto' })}`;
    const hs = `${unsigned}.${createHmac('sha256', t.tokens.issuer.publicKeyPem).update(unsigned).digest('base64url')}`;
    expect(await refusedCode(t.tcpUrl, 'alice:phone', hs)).toBe(4);
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${unsigned.split('.')[1]}.`;
    expect(await refusedCode(t.tcpUrl, 'alice:phone', none)).toBe(4);
  });

  it('refuses a valid token of another user or device (5)', async () => {
    expect(await refusedCode(t.tcpUrl, 'alice:phone', t.tokens.token('mallory', 'm1'))).toBe(5);
    expect(await refusedCode(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'laptop'))).toBe(5);
  });

  it('refuses thing and service tokens for a device id (5)', async () => {
    expect(
      await refusedCode(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'phone', 'thing')),
    ).toBe(5);
    expect(
      await refusedCode(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'phone', 'service')),
    ).toBe(5);
  });

  it('refuses a revoked token and an inactive device (5)', async () => {
    const issued = t.tokens.issue('alice', 'phone');
    t.store.revoked.add(issued.jti);
    expect(await refusedCode(t.tcpUrl, 'alice:phone', issued.token)).toBe(5);
    t.store.activeDevices.delete('alice:laptop');
    expect(await refusedCode(t.tcpUrl, 'alice:laptop', t.tokens.token('alice', 'laptop'))).toBe(5);
    t.store.activeDevices.add('alice:laptop');
  });

  it('answers server unavailable (3) when the store cannot be asked', async () => {
    t.store.failing = true;
    try {
      expect(await refusedCode(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'))).toBe(3);
    } finally {
      t.store.failing = false;
    }
  });

  it('authenticates things by their credential only', async () => {
    const c = await connect(t.tcpUrl, 'thing:alice:lamp', 'lamp-secret-123');
    c.end(true);
    expect(await refusedCode(t.tcpUrl, 'thing:alice:lamp', 'wrong')).toBe(4);
    expect(await refusedCode(t.tcpUrl, 'thing:alice:lamp', t.tokens.token('alice', 'phone'))).toBe(
      4,
    );
    expect(await refusedCode(t.tcpUrl, 'thing:alice:nosuch', 'lamp-secret-123')).toBe(4);
  });

  it('accepts the key server service identity only with a service token', async () => {
    const c = await connect(
      t.tcpUrl,
      'service:keyserver:1',
      t.tokens.token('keyserver', '1', 'service'),
    );
    c.end(true);
    expect(
      await refusedCode(
        t.tcpUrl,
        'service:keyserver:1',
        t.tokens.token('keyserver', '2', 'service'),
      ),
    ).toBe(5);
    expect(
      await refusedCode(t.tcpUrl, 'service:keyserver:1', t.tokens.token('keyserver', '1', 'user')),
    ).toBe(5);
  });
});

describe('session takeover', () => {
  it("refuses Mallory connecting with Alice's client id and clean=0, and Alice still gets her queued messages", async () => {
    const aliceToken = () => t.tokens.token('alice', 'phone');
    const alice = await connect(t.tcpUrl, 'alice:phone', aliceToken(), { clean: false });
    expect(await subscribe(alice, 'sotto/v1/inbox/alice/phone')).toEqual([1]);
    alice.end();
    await closed(alice);

    const bob = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    await bob.publishAsync('sotto/v1/inbox/alice/phone', 'queued-1', { qos: 1 });
    await bob.publishAsync('sotto/v1/inbox/alice/phone', 'queued-2', { qos: 1 });
    bob.end(true);

    // The attack: a valid user, a valid token of her own, Alice's client id, persistent session.
    expect(
      await refusedCode(t.tcpUrl, 'alice:phone', t.tokens.token('mallory', 'm1'), { clean: false }),
    ).toBe(5);
    expect(
      await refusedCode(t.tcpUrl, 'alice:phone', t.tokens.token('mallory', 'm1'), {
        clean: false,
        username: 'mallory:m1',
      }),
    ).toBe(4);

    const back = await connect(t.tcpUrl, 'alice:phone', aliceToken(), { clean: false });
    const got = collect(back);
    await waitFor(() => got.length >= 2, { what: 'queued messages' });
    expect(got.map((m) => m.payload).sort()).toEqual(['queued-1', 'queued-2']);
    back.end(true);
  });

  it('a second connection of the same device replaces the first (MQTT takeover by the owner)', async () => {
    const first = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    const second = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    await closed(first);
    expect(second.connected).toBe(true);
    second.end(true);
  });
});

describe('token lifetime and revocation', () => {
  it('closes a connection when its token expires', async () => {
    const { createTokenIssuer } = await import('@sotto/server-core/tokens');
    // A token issued "14 minutes 58 seconds ago" has two seconds left.
    const issuer = createTokenIssuer({
      privateKey: t.tokens.privateKey,
      issuer: 'sotto',
      audience: 'sotto',
      now: () => Date.now() - (900 - 2) * 1000,
    });
    const c = await connect(
      t.tcpUrl,
      'bob:b1',
      issuer.issue({ sub: 'bob', dev: 'b1', kind: 'user' }).token,
    );
    const started = Date.now();
    await closed(c, 6_000);
    expect(Date.now() - started).toBeGreaterThan(500);
  });

  it('disconnects at once on token-revoked, device-revoked, user-revoked and thing-revoked events', async () => {
    const issued = t.tokens.issue('alice', 'phone');
    const a = await connect(t.tcpUrl, 'alice:phone', issued.token);
    await t.events.publish({
      type: 'token-revoked',
      jti: issued.jti,
      username: 'alice',
      deviceId: 'phone',
    });
    await closed(a, 1_000);

    const b = await connect(t.tcpUrl, 'alice:laptop', t.tokens.token('alice', 'laptop'));
    const other = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    await t.events.publish({ type: 'device-revoked', username: 'alice', deviceId: 'laptop' });
    await closed(b, 1_000);

    const p = await connect(t.tcpUrl, 'alice:phone', t.tokens.token('alice', 'phone'));
    const l = await connect(t.tcpUrl, 'alice:laptop', t.tokens.token('alice', 'laptop'));
    await t.events.publish({ type: 'user-revoked', username: 'alice' });
    await Promise.all([closed(p, 1_000), closed(l, 1_000)]);

    const thing = await connect(t.tcpUrl, 'thing:alice:lamp', 'lamp-secret-123');
    await t.events.publish({ type: 'thing-revoked', owner: 'alice', thing: 'lamp' });
    await closed(thing, 1_000);

    // Still served after every revocation was handled: a round trip through the broker.
    expect(await subscribe(other, 'sotto/v1/inbox/bob/b1')).toEqual([1]);
    const otherGot = collect(other);
    await marker(other, 'sotto/v1/inbox/bob/b1', otherGot);
    expect(other.connected).toBe(true);
    other.end(true);
  });
});
