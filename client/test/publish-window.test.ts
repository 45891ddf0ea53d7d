/** The publish window (`internal/publish-window.ts`): bound, order, settling and reset. */
import { expect, it } from 'vitest';
import { createPublishWindow } from '../src/internal/publish-window.ts';

/** A fake MQTT client's publish: records what was handed over and keeps the PUBACK callbacks. */
function recorder() {
  const sent: string[] = [];
  const acks: (() => void)[] = [];
  const send = (topic: string, _bytes: Uint8Array, done: () => void) => {
    sent.push(topic);
    acks.push(done);
  };
  return { sent, acks, send };
}

it('keeps at most `limit` publishes unacknowledged and sends the rest in order as PUBACKs come', () => {
  const r = recorder();
  const w = createPublishWindow(r.send, 3);
  for (let i = 0; i < 7; i++) w.publish(`t${i}`, new Uint8Array(1));
  expect(r.sent).toEqual(['t0', 't1', 't2']);
  expect(w.pending).toBe(7);
  r.acks[1]!();
  r.acks[0]!();
  expect(r.sent).toEqual(['t0', 't1', 't2', 't3', 't4']);
  r.acks[1]!(); // a second callback for the same publish counts once
  expect(r.sent).toHaveLength(5);
  expect(w.pending).toBe(5);
});

it('settles once every publish made before the call is acknowledged, not later ones', async () => {
  const r = recorder();
  const w = createPublishWindow(r.send, 2);
  await w.settled(); // nothing pending
  w.publish('a', new Uint8Array(1));
  w.publish('b', new Uint8Array(1));
  let settled = false;
  const p = w.settled().then(() => (settled = true));
  w.publish('c', new Uint8Array(1));
  r.acks[0]!();
  await Promise.resolve();
  expect(settled).toBe(false);
  r.acks[1]!();
  await p;
  expect(w.pending).toBe(1); // 'c' is still out
});

it('forgets everything on reset: waiting publishes are dropped, late PUBACKs of the old connection ignored', async () => {
  const r = recorder();
  const w = createPublishWindow(r.send, 1);
  w.publish('old1', new Uint8Array(1));
  w.publish('old2', new Uint8Array(1));
  const p = w.settled();
  w.reset();
  await p;
  expect(w.pending).toBe(0);
  w.publish('new', new Uint8Array(1));
  r.acks[0]!(); // the old connection's late PUBACK frees nothing
  w.publish('next', new Uint8Array(1));
  expect(r.sent).toEqual(['old1', 'new']);
  r.acks[1]!();
  expect(r.sent).toEqual(['old1', 'new', 'next']);
});

it('refuses a limit that is not a positive integer', () => {
  expect(() => createPublishWindow(() => undefined, 0)).toThrow(RangeError);
  expect(() => createPublishWindow(() => undefined, 1.5)).toThrow(RangeError);
});
