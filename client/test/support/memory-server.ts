/**
 * Test support: the whole server side in memory — the real key server app (`buildApp`, SQLite
 * `:memory:`, cheap Argon2) reached through `app.inject` instead of a socket, and the in-memory
 * MQTT broker (memory-mqtt.ts) carrying both the engines' traffic and the key server's control
 * notices. No ports, no processes: for engine logic tests (issue 16). Broker behaviour that
 * lives in the real broker (ACLs, presence on connect, token checks) is not here; the e2e
 * tests keep covering it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type KeyServerApp } from '../../../keyserver/src/app.ts';
import { createMemoryAclEvents, createSqliteStore } from '@sotto/server-core/store';
import { generateSigningKey } from '@sotto/server-core/tokens';
import { createClient, type SottoClient } from '../../src/engine.ts';
import type { ClientOptionsResolved } from '../../src/internal/context.ts';
import type { ClientStore } from '../../src/store/types.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { createMemoryBroker, type MemoryBroker } from './memory-mqtt.ts';

/** The key server and broker of one test file. */
export interface MemoryServer {
  app: KeyServerApp;
  broker: MemoryBroker;
  /** `fetch` that answers from the key server app in this process. */
  fetch: typeof fetch;
  /** An engine on this server (memory store unless one is given); closed by {@link close}. */
  client(options?: Partial<ClientOptionsResolved>, store?: ClientStore): SottoClient;
  close(): Promise<void>;
}

const BASE_URL = 'http://keyserver.memory';

/** Start the in-memory key server and broker. */
export async function startMemoryServer(): Promise<MemoryServer> {
  const broker = createMemoryBroker();
  const store = createSqliteStore({ filename: ':memory:' });
  const aclEvents = createMemoryAclEvents();
  const blobDir = mkdtempSync(join(tmpdir(), 'sotto-memory-blobs-'));
  const app = await buildApp({
    store,
    aclEvents,
    signingKey: generateSigningKey(),
    blobDir,
    publisher: { publish: (topic, payload) => broker.publish(topic, payload) },
    config: {
      argon2: { memoryCost: 256, timeCost: 1, parallelism: 1 },
      rateLimit: { enabled: false },
    },
  });
  await app.ready();

  const fetchViaInject: typeof fetch = async (input, init) => {
    const url = new URL(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
    );
    const body = init?.body;
    const res = await app.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: url.pathname + url.search,
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      ...(body === undefined || body === null
        ? {}
        : { payload: typeof body === 'string' ? body : Buffer.from(body as Uint8Array) }),
    });
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : String(v));
    }
    const empty = res.statusCode === 204 || res.statusCode === 304;
    return new Response(empty ? null : new Uint8Array(res.rawPayload), {
      status: res.statusCode,
      headers,
    });
  };

  const clients: SottoClient[] = [];
  return {
    app,
    broker,
    fetch: fetchViaInject,
    client(options = {}, clientStore = createMemoryStore()) {
      const c = createClient({
        store: clientStore,
        http: { baseUrl: BASE_URL, fetch: fetchViaInject },
        mqttConnect: (o) => broker.connect({ ...o, reconnectPeriod: 50 }),
        options: { resendAfterMs: 3000, ...options },
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients.splice(0)) await c.close().catch(() => undefined);
      await app.close();
      await store.close();
      await aclEvents.close();
      rmSync(blobDir, { recursive: true, force: true });
    },
  };
}
