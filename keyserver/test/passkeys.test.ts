/**
 * Issue 19: passkeys against a software authenticator written here (ES256, attestation `none`,
 * user present and verified), so the key server's WebAuthn checks run on real signatures:
 * register (step-up), sign in without a password, replayed and foreign assertions refused,
 * step-up with another user's passkey refused, a passkey as the second factor after the password
 * (another account's refused), rename and remove.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { bearer, makeServer, signupAndLogin, type TestServer } from './fixtures.ts';

const ORIGIN = 'https://chat.example';
const RP_ID = 'chat.example';

let s: TestServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

// ---- a minimal CBOR encoder: unsigned/negative ints, byte and text strings, maps ----
function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.of((major << 5) | n);
  if (n < 256) return Buffer.of((major << 5) | 24, n);
  return Buffer.of((major << 5) | 25, n >> 8, n & 0xff);
}
function cbor(v: unknown): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
  return Buffer.concat([
    head(5, entries.length),
    ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)]),
  ]);
}

const b64u = (b: Buffer) => b.toString('base64url');
const rpHash = () => createHash('sha256').update(RP_ID).digest();

/** A passkey on a software authenticator. */
class SoftKey {
  readonly id = randomBytes(16);
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private counter = 0;
  private get priv(): KeyObject {
    return this.keys.privateKey;
  }

  register(challenge: string) {
    const jwk = this.keys.publicKey.export({ format: 'jwk' });
    const cose = cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x ?? '', 'base64url')],
        [-3, Buffer.from(jwk.y ?? '', 'base64url')],
      ]),
    );
    const authData = Buffer.concat([
      rpHash(),
      Buffer.of(0x45), // UP | UV | AT
      Buffer.alloc(4),
      Buffer.alloc(16),
      Buffer.of(0, this.id.length),
      this.id,
      cose,
    ]);
    const clientData = Buffer.from(
      JSON.stringify({ type: 'webauthn.create', challenge, origin: ORIGIN }),
    );
    return {
      id: b64u(this.id),
      rawId: b64u(this.id),
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientData),
        attestationObject: b64u(cbor({ fmt: 'none', attStmt: {}, authData })),
        transports: ['internal'],
      },
    };
  }

  assert(challenge: string) {
    this.counter += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const authData = Buffer.concat([rpHash(), Buffer.of(0x05), counter]); // UP | UV
    const clientData = Buffer.from(
      JSON.stringify({ type: 'webauthn.get', challenge, origin: ORIGIN }),
    );
    const signed = Buffer.concat([authData, createHash('sha256').update(clientData).digest()]);
    return {
      id: b64u(this.id),
      rawId: b64u(this.id),
      type: 'public-key',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientData),
        authenticatorData: b64u(authData),
        signature: b64u(sign('sha256', signed, this.priv)),
      },
    };
  }
}

async function server(): Promise<TestServer> {
  s = await makeServer({ config: { publicUrl: ORIGIN } });
  return s;
}

const post = (srv: TestServer, url: string, payload: object, token?: string) =>
  srv.app.inject({ method: 'POST', url, payload, ...(token ? { headers: bearer(token) } : {}) });

async function registerPasskey(srv: TestServer, token: string, key: SoftKey, name?: string) {
  const start = await post(srv, '/v1/me/passkeys/options', {}, token);
  expect(start.statusCode).toBe(200);
  const { options, challengeToken } = start.json<{
    options: { challenge: string; rp: { id: string } };
    challengeToken: string;
  }>();
  expect(options.rp.id).toBe(RP_ID);
  return post(
    srv,
    '/v1/me/passkeys',
    { challengeToken, response: key.register(options.challenge), ...(name ? { name } : {}) },
    token,
  );
}

async function signInWith(srv: TestServer, key: SoftKey) {
  const start = await post(srv, '/v1/passkeys/login/options', {});
  const { options, challengeToken } = start.json<{
    options: { challenge: string };
    challengeToken: string;
  }>();
  const response = key.assert(options.challenge);
  return {
    res: await post(srv, '/v1/sessions/passkey', { challengeToken, response, deviceId: 'pk1' }),
    challengeToken,
    response,
  };
}

/** The account an access token is for (its `sub` claim). */
const subOf = (token: string): string =>
  (
    JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sub: string;
    }
  ).sub;

describe('passkeys', () => {
  it('registers a passkey and signs in with it alone; a replayed assertion is refused', async () => {
    const srv = await server();
    const alice = await signupAndLogin(srv.app, 'alice', 'd1');
    const key = new SoftKey();
    const reg = await registerPasskey(srv, alice.accessToken, key, 'Laptop');
    expect(reg.statusCode, reg.body).toBe(201);
    expect(reg.json()).toMatchObject({ name: 'Laptop', lastUsedAt: null });

    const { res, challengeToken, response } = await signInWith(srv, key);
    expect(res.statusCode, res.body).toBe(200);
    const session = res.json<{ accessToken: string; deviceId: string }>();
    expect(session.deviceId).toBe('pk1');
    expect(subOf(session.accessToken)).toBe('alice');

    const replay = await post(srv, '/v1/sessions/passkey', { challengeToken, response });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error).toBe('INVALID_MFA_TOKEN');
  });

  it('refuses an unregistered passkey, a step-up with another user’s passkey, and a stale registration', async () => {
    const srv = await server();
    const alice = await signupAndLogin(srv.app, 'alice', 'd1');
    const bob = await signupAndLogin(srv.app, 'bob', 'b1');
    const aliceKey = new SoftKey();
    expect((await registerPasskey(srv, alice.accessToken, aliceKey)).statusCode).toBe(201);

    const stranger = (await signInWith(srv, new SoftKey())).res;
    expect(stranger.statusCode).toBe(401);
    expect(stranger.json().error).toBe('PASSKEY_INVALID');

    // Bob's session steps up with Alice's passkey: refused.
    const start = await post(srv, '/v1/sessions/step-up/passkey/options', {}, bob.accessToken);
    const { options, challengeToken } = start.json<{
      options: { challenge: string };
      challengeToken: string;
    }>();
    const foreign = await post(
      srv,
      '/v1/sessions/step-up/passkey',
      { challengeToken, response: aliceKey.assert(options.challenge) },
      bob.accessToken,
    );
    expect(foreign.statusCode).toBe(401);
    expect(foreign.json().error).toBe('PASSKEY_INVALID');

    // Alice's registration challenge cannot be finished by Bob.
    const aliceStart = await post(srv, '/v1/me/passkeys/options', {}, alice.accessToken);
    const a = aliceStart.json<{ options: { challenge: string }; challengeToken: string }>();
    const hijack = await post(
      srv,
      '/v1/me/passkeys',
      { challengeToken: a.challengeToken, response: new SoftKey().register(a.options.challenge) },
      bob.accessToken,
    );
    expect(hijack.statusCode).toBe(401);
    expect(await srv.store.listPasskeys('bob')).toEqual([]);
  });

  it('takes a passkey of the same account as the second factor after the password, not another account’s', async () => {
    const srv = await server();
    const alice = await signupAndLogin(srv.app, 'alice', 'd1');
    const bob = await signupAndLogin(srv.app, 'bob', 'b1');
    const aliceKey = new SoftKey();
    const bobKey = new SoftKey();
    expect((await registerPasskey(srv, alice.accessToken, aliceKey)).statusCode).toBe(201);
    expect((await registerPasskey(srv, bob.accessToken, bobKey)).statusCode).toBe(201);
    const { secret } = (await post(srv, '/v1/me/totp', {}, alice.accessToken)).json<{
      secret: string;
    }>();
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    expect((await post(srv, '/v1/me/totp/confirm', { code }, alice.accessToken)).statusCode).toBe(
      200,
    );

    const first = await post(srv, '/v1/sessions', {
      username: 'alice',
      password: 'correct horse battery',
      deviceId: 'd2',
    });
    const { mfaToken, methods } = first.json<{ mfaToken: string; methods: string[] }>();
    expect(methods).toEqual(['totp', 'recovery', 'passkey']);
    const second = async (key: SoftKey, token = mfaToken) => {
      const start = await post(srv, '/v1/passkeys/login/options', {});
      const { options, challengeToken } = start.json<{
        options: { challenge: string };
        challengeToken: string;
      }>();
      return post(srv, '/v1/sessions/mfa/passkey', {
        mfaToken: token,
        challengeToken,
        response: key.assert(options.challenge),
      });
    };
    // Bob's passkey (a real one, verified) cannot finish Alice's login.
    const foreign = await second(bobKey);
    expect(foreign.statusCode).toBe(401);
    expect(foreign.json().error).toBe('PASSKEY_INVALID');
    expect((await second(aliceKey, 'not-a-token')).json().error).toBe('INVALID_MFA_TOKEN');

    const ok = await second(aliceKey);
    expect(ok.statusCode, ok.body).toBe(200);
    const session = ok.json<{ accessToken: string; deviceId: string }>();
    expect(session.deviceId).toBe('d2');
    expect(subOf(session.accessToken)).toBe('alice');
  });

  it('lists, renames and removes passkeys; a removed passkey no longer signs in', async () => {
    const srv = await server();
    const alice = await signupAndLogin(srv.app, 'alice', 'd1');
    const key = new SoftKey();
    const id = (await registerPasskey(srv, alice.accessToken, key)).json<{ id: string }>().id;
    const rename = await srv.app.inject({
      method: 'PATCH',
      url: `/v1/me/passkeys/${id}`,
      headers: bearer(alice.accessToken),
      payload: { name: 'Phone' },
    });
    expect(rename.json()).toMatchObject({ id, name: 'Phone' });
    const del = await srv.app.inject({
      method: 'DELETE',
      url: `/v1/me/passkeys/${id}`,
      headers: bearer(alice.accessToken),
    });
    expect(del.statusCode).toBe(204);
    expect((await signInWith(srv, key)).res.statusCode).toBe(401);
  });
});
