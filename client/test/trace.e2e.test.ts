/**
 * The engine's per-step trace (internal/trace.ts, issue 23): a sender and a receiver engine with
 * a tracer each, over a real key server and broker — every step of one message is told once,
 * with its id, in the order the message passes them.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/engine.ts';
import type { TraceStep } from '../src/internal/trace.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
  await srv?.close();
});

/** An engine whose trace lands in `log`. */
function traced(log: [TraceStep, string, number][]) {
  const c = createClient({
    store: createMemoryStore(),
    http: { baseUrl: srv.httpUrl },
    mqttConnect: (o) => mqtt.connect(srv.mqttUrl, { ...o, reconnectPeriod: 200 }),
    trace: (step, id, at) => log.push([step, id, at ?? performance.now()]),
  });
  closers.push(() => c.close());
  return c;
}

describe('the live path trace', () => {
  it('tells each step of a message once, with its id, in order', async () => {
    const sent: [TraceStep, string, number][] = [];
    const got: [TraceStep, string, number][] = [];
    const alice = traced(sent);
    const bob = traced(got);
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery', { kind: 'bot' });
    await bob.register(b, 'correct horse battery', { kind: 'bot' });
    await alice.start();
    await bob.start();
    const messages: MessageRecord[] = [];
    bob.on('message', (m) => messages.push(m));
    const m = await alice.sendText(b, 'traced');
    await until(() => messages.length === 1, 'bob receives');

    const steps = (log: [TraceStep, string, number][], id = m.id) =>
      log.filter(([, x]) => x === id);
    const mine = steps(sent);
    // The first message to a device sets its session up: stored before the claim, as before.
    expect(mine.map(([s]) => s)).toEqual(['asked', 'checked', 'sendLocked', 'stored', 'published']);
    const theirs = steps(got);
    expect(theirs.map(([s]) => s)).toEqual([
      'received',
      'batched',
      'locked',
      'decrypted',
      'committed',
      'event',
    ]);
    // On the session it made: encrypted, then one commit of message and state, then published.
    const m2 = await alice.sendText(b, 'traced again');
    await until(() => messages.length === 2, 'bob receives the second');
    const again = steps(sent, m2.id);
    expect(again.map(([s]) => s)).toEqual([
      'asked',
      'checked',
      'sendLocked',
      'encrypted',
      'stored',
      'published',
    ]);
    for (const log of [mine, theirs, again])
      for (let i = 1; i < log.length; i++)
        expect(log[i]![2]).toBeGreaterThanOrEqual(log[i - 1]![2]);
  });
});
