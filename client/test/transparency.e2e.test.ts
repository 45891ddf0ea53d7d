/**
 * Key transparency (DESIGN.md §5.3): a device certificate the directory hands
 * out must be proven in the key server's log. Here the directory response is
 * tampered with on the way (as a lying server would) and the device is refused.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SottoClient } from '../src/engine.ts';
import { isClientError } from '../src/errors.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('key transparency', () => {
  it('accepts logged device certificates and refuses one whose log proof does not match', async () => {
    const bob = makeClient(srv);
    const carol = makeClient(srv);
    clients.push(bob, carol);
    const b = uname('bob');
    await bob.register(b, 'correct horse battery');
    await carol.register(uname('carol'), 'correct horse battery');

    let lie = false;
    const lyingFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!lie || !url.includes(`/v1/users/${b}`)) return res;
      // Point bob's certificate at another leaf of the log (carol's).
      const body = (await res.json()) as { devices: { logIndex: number | null }[] };
      for (const d of body.devices) d.logIndex = d.logIndex === 0 ? 1 : 0;
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    const errors: unknown[] = [];
    const alice = createClient({
      store: createMemoryStore(),
      http: { baseUrl: srv.httpUrl, fetch: lyingFetch },
      mqttConnect: (o) => mqtt.connect(srv.mqttUrl, o),
    });
    clients.push(alice);
    alice.on('error', (e) => errors.push(e));
    await alice.register(uname('alice'), 'correct horse battery');
    await alice.start();
    await bob.start();

    // Honest directory: the proof checks out and the message goes through.
    const got: string[] = [];
    bob.on('message', (m) => got.push(m.body.text as string));
    await alice.sendText(b, 'proven');
    await until(() => got.includes('proven'), 'bob reads');

    // Lying directory: the device is refused, so there is nobody to send to.
    lie = true;
    await alice.trust.refresh(b);
    const err = await alice.sendText(b, 'should not go').catch((e: unknown) => e);
    expect(isClientError(err, 'NO_DEVICES')).toBe(true);
    expect(errors.some((e) => isClientError(e, 'KT_FAILURE'))).toBe(true);
  });
});
