/**
 * Broker SIGKILL mid-conversation (DESIGN.md §5.1, §6): the server runs as a
 * separate process (`scripts/start.ts`, embedded key server + broker), is
 * killed with SIGKILL while two bots talk and restarted on the same ports and
 * data dir. Every message sent before, during and after the outage arrives
 * exactly once and every outbox empties.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.ts';
import type { SottoClient } from '../src/engine.ts';
import { makeClient, spawnServer, uname, until } from './support/server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'sotto-restart-'));
let child: ChildProcess | null = null;
const clients: SottoClient[] = [];

const startProcess = (httpPort: number, mqttPort: number): Promise<ChildProcess> =>
  spawnServer({ dataDir, httpPort, mqttPort });

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('broker restart', () => {
  it('loses nothing and duplicates nothing when the server is SIGKILLed mid-conversation', async () => {
    const httpPort = await freePort();
    const mqttPort = await freePort();
    child = await startProcess(httpPort, mqttPort);
    const srv = {
      httpUrl: `http://127.0.0.1:${httpPort}`,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    };
    // Device lists are refetched before every send (no cache age), so the sends while the
    // server is down meet a dead key server and must fall back to the devices last verified.
    const alice = makeClient(srv, undefined, undefined, { directoryTtlMs: 0 });
    const bob = makeClient(srv, undefined, undefined, { directoryTtlMs: 0 });
    clients.push(alice, bob);
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery', { kind: 'bot' });
    await bob.register(b, 'correct horse battery', { kind: 'bot' });
    await alice.start();
    await bob.start();
    const got: string[] = [];
    bob.on('message', (m) => got.push(m.body.text as string));
    const aliceGot: string[] = [];
    alice.on('message', (m) => aliceGot.push(m.body.text as string));

    for (let i = 0; i < 10; i++) await alice.sendText(b, `before ${i}`);
    await bob.sendText(a, 'bob before');
    // Kill without warning while messages are still in flight.
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    for (let i = 0; i < 10; i++) await alice.sendText(b, `during ${i}`);
    await bob.sendText(a, 'bob during');
    child = await startProcess(httpPort, mqttPort);
    for (let i = 0; i < 10; i++) await alice.sendText(b, `after ${i}`);

    await until(() => got.length >= 30, 'all 30 at bob', 60_000);
    await until(() => aliceGot.length >= 2, 'both at alice', 60_000);
    await until(
      async () => (await alice.store.listOutbox()).length === 0,
      'alice outbox empty',
      60_000,
    );
    await until(
      async () => (await bob.store.listOutbox()).length === 0,
      'bob outbox empty',
      60_000,
    );
    // Still no duplicates: a late copy (a broker redelivery, a re-send) travels the path of its
    // original, so one more message each way, sent now, arrives only after any of them.
    await alice.sendText(b, 'end marker');
    await bob.sendText(a, 'bob end marker');
    await until(() => got.includes('end marker'), 'the marker at bob', 60_000);
    await until(() => aliceGot.includes('bob end marker'), 'the marker at alice', 60_000);
    got.splice(got.indexOf('end marker'), 1);
    aliceGot.splice(aliceGot.indexOf('bob end marker'), 1);
    const expected = ['before', 'during', 'after'].flatMap((p) =>
      Array.from({ length: 10 }, (_, i) => `${p} ${i}`),
    );
    expect(got.slice().sort()).toEqual(expected.sort());
    expect(got.length).toBe(30);
    expect(aliceGot.sort()).toEqual(['bob before', 'bob during']);
  });
});
