/**
 * Child process of the key-server benchmark: starts one server (`hello`,
 * `sqlite` or `redis <url>`), prepares the data the load needs, prints one
 * JSON line `{ port, token, … }` on stdout and serves until killed. Running
 * the server apart from autocannon keeps the load generator off its CPU.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { encodeOneTimePrekey, generateOneTimePrekey, ready } from '@sotto/crypto';
import { buildApp } from '../src/app.ts';
import { createClient } from 'redis';
import {
  createMemoryAclEvents,
  createRedisAclEvents,
  createRedisStore,
  createSqliteStore,
  type AclEvents,
  type Store,
} from '@sotto/server-core/store';
import { generateSigningKey } from '@sotto/server-core/tokens';
import { makeDeviceUpload } from '../test/fixtures.ts';

const [mode = 'hello', redisUrl] = process.argv.slice(2);
/** One-time prekeys preloaded for the claim load (more than a run consumes; the bench checks). */
const PRELOAD = Number(process.env.BENCH_PRELOAD ?? 800_000);

async function main(): Promise<void> {
  if (mode === 'hello') {
    const app = Fastify({ logger: false });
    app.get('/hello', async () => ({ hello: 'world' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    console.log(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }));
    return;
  }
  await ready();
  const dir = mkdtempSync(join(tmpdir(), 'sotto-bench-'));
  let store: Store;
  let aclEvents: AclEvents;
  if (mode === 'redis') {
    // Cluster mode as `server.ts` sets it up with REDIS_URL: Redis store and Redis ACL bus.
    if (!redisUrl) throw new Error('redis mode needs a URL');
    const client = createClient({ url: redisUrl });
    await client.connect();
    store = await createRedisStore({ client, prefix: 'bench:' });
    aclEvents = createRedisAclEvents({ client, prefix: 'bench:' });
  } else {
    // Embedded mode: SQLite and the in-process bus.
    store = createSqliteStore({ filename: join(dir, 'keyserver.db') });
    aclEvents = createMemoryAclEvents();
  }
  const app = await buildApp({
    store,
    aclEvents,
    signingKey: generateSigningKey(),
    blobDir: join(dir, 'blobs'),
    // Production Argon2 parameters (the default); rate limits off so the load is not refused,
    // and the per-claimant cap out of the way so every claim takes one-time prekeys (one
    // account claims all of them here: capped, claims would measure the cheaper over-cap path).
    config: { rateLimit: { enabled: false }, prekeyClaims: { perClaimant: 1_000_000_000 } },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const inject = async (method: 'POST' | 'PUT', url: string, payload: object, token?: string) => {
    const r = await app.inject({
      method,
      url,
      payload,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (r.statusCode >= 300) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    return r.json<{ accessToken: string }>();
  };
  const password = 'benchmark password';
  for (const username of ['alice', 'bob']) {
    await inject('POST', '/v1/accounts', { username, password });
  }
  const bob = await inject('POST', '/v1/sessions', { username: 'bob', password, deviceId: 'd1' });
  await inject(
    'PUT',
    '/v1/devices/d1/keys',
    makeDeviceUpload('bob', 'd1', { otks: 0, kemOtks: 0 }).body,
    bob.accessToken,
  );
  // Preload one-time prekeys straight into the store (the upload route caps batches).
  const one = encodeOneTimePrekey(generateOneTimePrekey(1).prekey);
  for (let i = 0; i < PRELOAD; i += 1000) {
    const batch = Array.from({ length: 1000 }, (_, j) => ({ id: i + j + 1, data: one }));
    await store.addOneTimePrekeys('bob', 'd1', { x25519: batch, kem: [] }, PRELOAD + 1);
  }
  const alice = await inject('POST', '/v1/sessions', {
    username: 'alice',
    password,
    deviceId: 'd1',
  });
  const addr = app.server.address();
  console.log(
    JSON.stringify({
      port: typeof addr === 'object' && addr ? addr.port : 0,
      token: alice.accessToken,
      bobToken: bob.accessToken,
      password,
    }),
  );
}

process.once('SIGTERM', () => process.exit(0));

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
