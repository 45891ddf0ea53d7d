/**
 * The cache of verified tokens (auth-cache.ts) must never outlive a
 * revocation: a token that was just accepted (and so cached) is refused on
 * its very next request after logout, password change or identity reset, and
 * without an in-process bus every request still reads the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthCache } from '../src/auth-cache.ts';
import { createMemoryAclEvents, type AclEvents } from '@sotto/server-core/store';
import type { AccessClaims } from '@sotto/server-core/tokens';
import {
  bearer,
  login,
  makeDeviceUpload,
  makeServer,
  signupAndLogin,
  type TestServer,
} from './fixtures.ts';

let s: TestServer;
afterEach(async () => {
  await s.close();
});

const count = (token: string, dev = 'd1') =>
  s.app.inject({ method: 'GET', url: `/v1/devices/${dev}/keys/count`, headers: bearer(token) });

describe('cached tokens and revocation', () => {
  it('refuses a cached token at once after logout', async () => {
    s = await makeServer();
    const { accessToken } = await signupAndLogin(s.app, 'alice');
    // Accepted twice: the second answer comes from the cache.
    expect((await count(accessToken)).statusCode).toBe(200);
    expect((await count(accessToken)).statusCode).toBe(200);
    const out = await s.app.inject({
      method: 'DELETE',
      url: '/v1/sessions/current',
      headers: bearer(accessToken),
    });
    expect(out.statusCode).toBe(204);
    expect((await count(accessToken)).statusCode).toBe(401);
  });

  it('refuses every cached token of the user after a password change, the new one works', async () => {
    s = await makeServer();
    const d1 = await signupAndLogin(s.app, 'alice', 'd1');
    const d2 = await login(s.app, 'alice', 'd2');
    expect((await count(d2.accessToken, 'd2')).statusCode).toBe(200);
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/accounts/password',
      headers: bearer(d1.accessToken),
      payload: { currentPassword: 'correct horse battery', newPassword: 'a new password here' },
    });
    expect(r.statusCode).toBe(200);
    expect((await count(d2.accessToken, 'd2')).statusCode).toBe(401);
    expect((await count(r.json<{ accessToken: string }>().accessToken)).statusCode).toBe(200);
  });

  it("refuses a cached token of a device removed by another device's identity reset", async () => {
    s = await makeServer();
    const d1 = await signupAndLogin(s.app, 'alice', 'd1');
    const d2 = await login(s.app, 'alice', 'd2');
    const first = makeDeviceUpload('alice', 'd1');
    const up = (token: string, body: object) =>
      s.app.inject({
        method: 'PUT',
        url: '/v1/devices/d1/keys',
        headers: bearer(token),
        payload: body,
      });
    expect((await up(d1.accessToken, first.body)).statusCode).toBe(200);
    expect((await count(d2.accessToken, 'd2')).statusCode).toBe(200);
    const reset = makeDeviceUpload('alice', 'd1');
    expect((await up(d1.accessToken, { ...reset.body, resetIdentity: true })).statusCode).toBe(200);
    expect((await count(d2.accessToken, 'd2')).statusCode).toBe(401);
  });

  it('reads the store on every request when the bus can neither deliver synchronously nor say whether it hears', async () => {
    // A network bus can lose events (pub/sub while reconnecting): unless it reports when it
    // stops hearing, another key server's revocation must be seen through the store.
    const memory = createMemoryAclEvents();
    const networkBus: AclEvents = {
      publish: (e) => memory.publish(e),
      subscribe: () => () => {},
      close: () => memory.close(),
    };
    s = await makeServer({ aclEvents: networkBus });
    const { app, store } = s;
    const { accessToken } = await signupAndLogin(app, 'alice');
    expect((await count(accessToken)).statusCode).toBe(200);
    expect((await count(accessToken)).statusCode).toBe(200);
    const jti = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString())
      .jti as string;
    await store.revokeToken(jti, Date.now() + 600_000);
    expect((await count(accessToken)).statusCode).toBe(401);
  });
});

describe('createAuthCache', () => {
  const claims = (jti: string, exp = Math.floor(Date.now() / 1000) + 600): AccessClaims => ({
    sub: 'alice',
    dev: 'd1',
    kind: 'user',
    jti,
    iat: exp - 900,
    exp,
    iss: 'i',
    aud: 'a',
  });

  it('does not cache a lookup that a revocation overtook', async () => {
    const events = createMemoryAclEvents();
    const cache = createAuthCache({ events })!;
    const epoch = cache.epoch(); // store lookups start …
    await events.publish({ type: 'token-revoked', jti: 'j1', username: 'alice', deviceId: 'd1' });
    cache.put('t1', claims('j1'), epoch, Date.now()); // … and finish after the revocation
    expect(cache.get('t1', Date.now())).toBeNull();
    cache.put('t1', claims('j1'), cache.epoch(), Date.now());
    expect(cache.get('t1', Date.now())).not.toBeNull();
    cache.close();
    await events.close();
  });

  it('forgets expired tokens and stays within its bound', () => {
    const events = createMemoryAclEvents();
    const cache = createAuthCache({ events, maxEntries: 2 })!;
    const now = Date.now();
    cache.put('old', claims('j0', Math.floor(now / 1000) - 1), cache.epoch(), now);
    expect(cache.get('old', now)).toBeNull();
    cache.put('a', claims('ja'), cache.epoch(), now);
    cache.put('b', claims('jb'), cache.epoch(), now);
    cache.put('c', claims('jc'), cache.epoch(), now);
    expect(cache.get('a', now)).toBeNull();
    expect(cache.get('b', now)?.jti).toBe('jb');
    expect(cache.get('c', now)?.jti).toBe('jc');
    cache.close();
  });

  /** A network bus that never delivers anything and says whether it hears (set by the test). */
  function silentNetworkBus() {
    let hearing = true;
    const listeners = new Set<(h: boolean) => void>();
    const bus: AclEvents = {
      publish: async () => {},
      subscribe: () => () => {},
      close: async () => {},
      hearing: () => hearing,
      onHearingChange(l) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
    const set = (h: boolean) => {
      hearing = h;
      for (const l of listeners) l(h);
    };
    return { bus, set };
  }

  it('on a network bus: no cache without a way to know it hears, entries re-checked after maxAge', () => {
    const { bus } = silentNetworkBus();
    expect(
      createAuthCache({
        events: { publish: bus.publish, subscribe: bus.subscribe, close: bus.close },
      }),
    ).toBeNull();
    const cache = createAuthCache({ events: bus, maxAgeMs: 5000 })!;
    const now = Date.now();
    cache.put('t', claims('j'), cache.epoch(), now);
    expect(cache.get('t', now + 4999)?.jti).toBe('j');
    expect(cache.get('t', now + 5000)).toBeNull();
    cache.close();
  });

  it('on a network bus: forgets everything when the bus stops hearing and caches nothing until it hears again', () => {
    const { bus, set } = silentNetworkBus();
    const cache = createAuthCache({ events: bus })!;
    const now = Date.now();
    const epoch = cache.epoch();
    cache.put('t', claims('j'), epoch, now);
    set(false);
    expect(cache.get('t', now)).toBeNull();
    cache.put('t', claims('j'), cache.epoch(), now); // a lookup finishing while deaf
    expect(cache.get('t', now)).toBeNull();
    set(true);
    cache.put('t', claims('j'), epoch, now); // a lookup that started before the gap
    expect(cache.get('t', now)).toBeNull();
    cache.put('t', claims('j'), cache.epoch(), now);
    expect(cache.get('t', now)?.jti).toBe('j');
    cache.close();
  });

  it("drops what this process revokes at once, whatever the bus's delay", async () => {
    // The bus here never delivers (the slowest possible network): the key server that
    // handles the logout must still refuse the token on its very next request.
    const { bus } = silentNetworkBus();
    s = await makeServer({ aclEvents: bus });
    const { app } = s;
    const { accessToken } = await signupAndLogin(app, 'alice');
    expect((await count(accessToken)).statusCode).toBe(200);
    expect((await count(accessToken)).statusCode).toBe(200); // cached
    const out = await app.inject({
      method: 'DELETE',
      url: '/v1/sessions/current',
      headers: bearer(accessToken),
    });
    expect(out.statusCode).toBe(204);
    expect((await count(accessToken)).statusCode).toBe(401);
  });
});
