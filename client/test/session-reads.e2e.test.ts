/**
 * The session reads of a decryption go out together (issue 23): an envelope is tried on the
 * device's current session, its previous one and a held one, and on a page each store read
 * answers on a turn of the busy main thread — reads one after another were a turn each before
 * the commit could start (a PREKEY envelope's also waited for the directory's check). Bob's store
 * answers every session read after a delay and counts how many are open at once.
 *
 * The sender's contact is not read ahead of the directory's check: the check's first sight of a
 * user pins the contact, and a contact read before it found none and refused the sender (tried,
 * and `send-path.e2e.test.ts` failed on it).
 */
import { describe, expect, it } from 'vitest';
import type { ClientStore } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { serverFixture } from './support/fixture.ts';
import { interceptStore, makeClient, uname, until } from './support/server.ts';

const { server, pool } = serverFixture();

/** A memory store whose session reads answer after `delayMs`; `open.max`: most open at once. */
function slowSessionReads(delayMs: number): {
  store: ClientStore;
  open: { now: number; max: number };
} {
  const open = { now: 0, max: 0 };
  const store = interceptStore(
    createMemoryStore(),
    'getSession',
    (read) => async (user, device) => {
      open.now++;
      open.max = Math.max(open.max, open.now);
      try {
        await new Promise((r) => setTimeout(r, delayMs));
        return await read(user, device);
      } finally {
        open.now--;
      }
    },
  );
  return { store, open };
}

describe('session reads of a decryption', () => {
  it("reads the sending device's current, previous and held session together", async () => {
    const { store, open } = slowSessionReads(30);
    const alice = pool.client();
    const bob = pool.track(makeClient(server(), store));
    const [a, b] = [uname('alice'), uname('bob')];
    await alice.register(a, 'correct horse battery', { kind: 'bot' });
    await bob.register(b, 'correct horse battery', { kind: 'bot' });
    await alice.start();
    await bob.start();
    const texts: string[] = [];
    bob.on('message', (m) => texts.push((m.body as { text: string }).text));
    // A PREKEY envelope (Alice's first): read while the directory checks its certificate.
    open.max = 0;
    await alice.sendText(b, 'one');
    await until(() => texts.length === 1, 'bob receives the first message');
    expect(open.max).toBeGreaterThanOrEqual(3);
    // A RATCHET envelope (Alice has Bob's answer).
    let aliceGot = 0;
    alice.on('message', () => aliceGot++);
    await bob.sendText(a, 'hi alice');
    await until(() => aliceGot === 1, 'alice receives the answer');
    open.max = 0;
    await alice.sendText(b, 'two');
    await until(() => texts.length === 2, 'bob receives the second message');
    expect(texts).toEqual(['one', 'two']);
    // Read one after another (before), never more than one was open.
    expect(open.max).toBeGreaterThanOrEqual(3);
  });
});
