/**
 * Device lists in use are fetched again ahead of their expiry (client/src/internal/trust.ts
 * `Directory.devices`): an active sender to a large group does not wait for a lookup of every
 * member when the lists expire together (the 1,000-device join benchmark stalled on exactly
 * that), and a list older than `directoryTtlMs` is still never used for a send — a device the
 * key server no longer lists stops getting our keys as promptly as before.
 *
 * Alice's key-server lookups (`GET /v1/users/{name}`) pass through a gate the test opens and
 * closes: with it closed, a send that must not wait completes, and one that must wait does not.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import type { SottoClient } from '../src/engine.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

/** Short, so the test waits seconds rather than the default minute. */
const TTL_MS = 6_000;
const PW = 'correct horse battery';

let srv: TestServer;
const clients: SottoClient[] = [];

/** A gate for Alice's user lookups: `close()` holds them until `open()`. */
function lookupGate() {
  let release: (() => void) | null = null;
  let held: Promise<void> | null = null;
  const seen: string[] = [];
  const gatedFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    if (method === 'GET' && /^\/v1\/users\/[^/]+$/.test(url.pathname)) {
      seen.push(decodeURIComponent(url.pathname.slice('/v1/users/'.length)));
      if (held) await held;
    }
    return fetch(input, init);
  };
  return {
    fetch: gatedFetch,
    seen,
    close() {
      held = new Promise((r) => (release = r));
    },
    open() {
      release?.();
      held = null;
    },
  };
}

async function user(c: SottoClient, name: string): Promise<SottoClient> {
  clients.push(c);
  await c.register(name, PW, { kind: 'bot' });
  await c.start();
  return c;
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('device lists fetched ahead of expiry', () => {
  it('a group send past half a list’s life does not wait for the lookups; past its life it does', async () => {
    const gate = lookupGate();
    const aliceName = uname('alice');
    const alice = await user(
      createClient({
        store: createMemoryStore(),
        http: { baseUrl: srv.httpUrl, fetch: gate.fetch },
        mqttConnect: (o) => mqtt.connect(srv.mqttUrl, { ...o, reconnectPeriod: 200 }),
        options: { resendAfterMs: 3_000, directoryTtlMs: TTL_MS },
      }),
      aliceName,
    );
    const bobName = uname('bob');
    const bob = await user(makeClient(srv), bobName);
    const got: string[] = [];
    bob.on('message', (m) => {
      if (typeof m.body.text === 'string') got.push(m.body.text);
    });
    const groupId = await alice.groups.create('Refresh ahead', [bobName]);
    await until(async () => !!(await bob.store.getGroup(groupId)), 'bob learns the group');

    await alice.sendText(`group:${groupId}`, 'one');
    const listedAt = Date.now(); // bob's list was fetched at or before this
    await until(() => got.includes('one'), 'one delivered');

    // Past half the list's life (and well inside it): the send uses the list it has and asks
    // the key server again in the background — the lookup is held, the send is not.
    await until(() => Date.now() - listedAt >= TTL_MS / 2 + 200, 'half a TTL', TTL_MS);
    gate.close();
    const before = gate.seen.length;
    await alice.sendText(`group:${groupId}`, 'two');
    await until(() => got.includes('two'), 'two delivered while the lookups are held');
    await until(
      () => gate.seen.slice(before).includes(bobName),
      'a lookup of bob issued ahead of expiry',
    );
    gate.open();
    const refreshedBy = Date.now();

    // Past the list's whole life: the send waits for the key server (held: not done yet when
    // its lookup of bob arrives), then goes out once the answer comes.
    // (The background lookup's answer is verified and cached shortly after the gate opens: margin.)
    await until(() => Date.now() - refreshedBy >= TTL_MS + 2_000, 'a whole TTL', 2 * TTL_MS);
    gate.close();
    const mark = gate.seen.length;
    let sent = false;
    const three = alice.sendText(`group:${groupId}`, 'three').then(() => (sent = true));
    await until(() => gate.seen.slice(mark).includes(bobName), 'the send looks bob up');
    expect(sent).toBe(false);
    gate.open();
    await three;
    await until(() => got.includes('three'), 'three delivered');
  });
});
