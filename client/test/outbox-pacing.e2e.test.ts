/**
 * The outbox against the broker's publish rate (issue 17): entries no device ever acknowledges
 * are re-sent one round at a time, and at most `PUBLISH_WINDOW` publishes await their PUBACK, so
 * re-sends larger than what the broker admits (200 a second, a publish waiting over 5 s closes
 * the connection) neither pile up in the MQTT client nor cost the connection.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import { PUBLISH_WINDOW } from '../src/internal/publish-window.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { passiveMembers } from './support/members.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

const PW = 'correct horse battery';
/** Silent member devices: each re-send round is this many pairwise publishes. */
const SILENT = 120;

let srv: TestServer;
const clients: SottoClient[] = [];

beforeAll(async () => {
  srv = await startServer();
}, 60_000);
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

it('re-sends to devices that never answer stay within the broker rate: no publish pile-up, no lost connection, live messages get through', async () => {
  const silent = await passiveMembers(srv.httpUrl, SILENT, PW);
  let published = 0;
  let maxInFlight = 0;
  const watch = (c: MqttClient): MqttClient => {
    c.on('packetsend', (p) => {
      if (p.cmd !== 'publish') return;
      published++;
      const outgoing = (c as unknown as { outgoing: Record<number, unknown> }).outgoing;
      maxInFlight = Math.max(maxInFlight, Object.keys(outgoing).length);
    });
    return c;
  };
  // A re-send every 100 ms: each round of SILENT publishes outlasts the interval at 200/s.
  const alice = makeClient(srv, createMemoryStore(), watch, { resendAfterMs: 100 });
  const bob = makeClient(srv);
  clients.push(alice, bob);
  const a = uname('alice');
  const b = uname('bob');
  await alice.register(a, PW, { kind: 'bot' });
  await bob.register(b, PW, { kind: 'bot' });
  await alice.start();
  await bob.start();
  const states: string[] = [];
  alice.on('connection', (e) => states.push(e.state));

  // The group's announcement to every member device waits in the outbox for receipts that
  // never come (the silent members have no connection).
  await alice.groups.create('silent room', silent);
  expect((await alice.store.listOutbox()).length).toBeGreaterThanOrEqual(SILENT);
  // Well past the broker's burst (400) and past the 5 s it lets a publish wait.
  await until(() => published >= 2_000, '2,000 publishes of re-sends', 90_000);

  const got: string[] = [];
  bob.on('message', (m) => got.push(String(m.body.text)));
  await alice.sendText(b, 'still here');
  await until(() => got.includes('still here'), 'the live message', 15_000);

  expect(maxInFlight).toBeLessThanOrEqual(PUBLISH_WINDOW);
  expect(states.filter((s) => s !== 'online')).toEqual([]);
}, 180_000);
