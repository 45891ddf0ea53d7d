/**
 * The service worker's fetch on a wake-up (`web-client/src/sw/wake.ts` `fetchQueued`), run in
 * Node against a real server over the same WebSocket `/mqtt` the worker uses: it listens until
 * the broker's queue is through, and "through" waits for a batch still being decrypted and
 * stored — on a slow machine (here: a store whose commits take 600 ms) a quiet spell of no
 * packets while the engine is still working on the last ones is not the end of the queue.
 * Before that rule the fetch stopped after `quietMs` without a message event and closed the
 * engine under the batch: the wake-up announced nothing (the flaky CI failures of
 * test/web/app-worker.test.ts). The whole worker runs in Chromium in app-worker.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import { createMemoryStore, type ClientStore } from '@sotto/client';
import {
  makeClient,
  startServer,
  until,
  type TestServer,
} from '../../client/test/support/server.ts';
import { fetchQueued } from '../../web-client/src/sw/wake.ts';

const PW = 'correct horse battery';
let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
});

/** A memory store whose commits take `delayMs` once `slow` is set (a loaded machine's disk). */
function slowStore(delayMs: number): { store: ClientStore; slow: () => void } {
  const inner = createMemoryStore();
  let slow = false;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'batch')
        return async (...args: Parameters<ClientStore['batch']>) => {
          if (slow) await new Promise((r) => setTimeout(r, delayMs));
          return target.batch(...args);
        };
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { store, slow: () => void (slow = true) };
}

describe('a wake-up fetch', () => {
  it('waits for a batch still being stored, on a slow store, and returns what it decrypted', async () => {
    const { store, slow } = slowStore(600);
    const alice = makeClient(server, store);
    await alice.register('sw_alice', PW);
    await alice.start();
    // Bob has a session with Alice; then Alice's app is closed.
    let mq: MqttClient | null = null;
    const bob = makeClient(server, createMemoryStore(), (c) => (mq = c));
    await bob.register('sw_bob', PW);
    await bob.start();
    await bob.sendText('sw_alice', 'first');
    await until(async () => (await store.listMessages('dm:sw_bob', { limit: 5 })).length > 0);
    await alice.close();

    for (const text of ['lunch at noon?', 'or one?']) await bob.sendText('sw_alice', text);
    await until(() => Object.keys(mq?.outgoing ?? { x: 1 }).length === 0, 'PUBACKs of the broker');
    slow();
    const received = await fetchQueued(store, server.httpUrl, {
      quietMs: 100,
      maxMs: 20_000,
      lockWaitMs: 0,
    });
    expect(received?.map((m) => (m.body as { text: string }).text).sort()).toEqual([
      'lunch at noon?',
      'or one?',
    ]);
    // Stored too, so the page shows them once and the broker does not hand them over again.
    const stored = await store.listMessages('dm:sw_bob', { limit: 10 });
    expect(stored.map((m) => (m.body as { text: string }).text)).toEqual(
      expect.arrayContaining(['first', 'lunch at noon?', 'or one?']),
    );
    await bob.close();
  });

  it('gives up with null within maxMs when the server accepts the connection and never answers', async () => {
    const { store } = slowStore(0);
    const carol = makeClient(server, store);
    await carol.register('sw_carol', PW);
    await carol.close();
    // A server that takes the TCP connection and says nothing: the WebSocket upgrade never
    // completes, and mqtt.js alone would wait its 10 s connect timeout, then try again.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => void sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as AddressInfo;
    try {
      const began = Date.now();
      const received = await fetchQueued(store, `http://127.0.0.1:${port}`, {
        quietMs: 100,
        maxMs: 1500,
        lockWaitMs: 0,
      });
      expect(received).toBeNull();
      expect(Date.now() - began).toBeLessThan(8000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
