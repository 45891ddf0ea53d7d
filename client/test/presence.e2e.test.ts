/** Presence over a real key server and broker: shown by default, hidden and shown again by the user. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvents, SottoClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];

function client(store = createMemoryStore()): SottoClient {
  const c = makeClient(srv, store);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

describe('presence visibility', () => {
  it('a watcher sees nothing while the user hides presence and online again once shown', async () => {
    const a = uname('alice');
    const b = uname('bob');
    const aliceStore = createMemoryStore();
    let alice = client(aliceStore);
    const bob = client();
    await alice.register(a, 'correct horse battery', { kind: 'bot' });
    await bob.register(b, 'correct horse battery', { kind: 'bot' });
    expect(await alice.presenceVisible()).toBe(true);
    await alice.start();
    await bob.start();

    const seen: ClientEvents['presence'][] = [];
    bob.on('presence', (p) => seen.push(p));
    bob.watchPresence(a);
    await until(() => seen.length === 1, 'online');
    expect(seen[0]).toMatchObject({ user: a, status: 'online' });

    await alice.setPresenceVisible(false);
    expect(await alice.presenceVisible()).toBe(false);
    await until(() => seen.length === 2, 'hidden');
    expect(seen[1]).toMatchObject({ user: a, status: 'hidden' });

    // Going offline and coming back while hidden publishes nothing.
    await alice.close();
    alice = client(aliceStore);
    await alice.start();

    // The setting lives on the server: another engine of the account reads it back.
    expect(await alice.presenceVisible()).toBe(false);

    // The marker: showing presence again publishes 'online' on the same retained topic, so a
    // status published while hidden (by the restart) would have reached bob before it.
    await alice.setPresenceVisible(true);
    await until(() => seen.some((p, i) => i >= 2 && p.status === 'online'), 'online again');
    expect(seen.map((p) => p.status)).toEqual(['online', 'hidden', 'online']);
    expect(seen[2]).toMatchObject({ user: a, status: 'online' });
    await alice.close();
    await until(() => seen.length === 4, 'offline');
    expect(seen[3]).toMatchObject({ user: a, status: 'offline' });
  });
});
