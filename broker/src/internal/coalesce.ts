/**
 * One socket write per connection and turn of the event loop.
 *
 * mqtt-packet writes every packet corked and uncorks it on the next tick, so a packet leaves
 * in one system call, but two packets for the same connection written from two callbacks of
 * one loop turn leave in two. With the PUBACK sent only after the message is stored and
 * routed (internal/persistence.ts `persistBeforeAck`), every PUBACK of a publisher's window left in a system
 * call of its own, where Aedes's ack-first order wrote a whole read's PUBACKs in one (2.2
 * `writev` per message against plain Aedes's 1.3), and a subscriber that fell behind got its
 * backlog one write per message (docs/PERFORMANCE.md "Write coalescing").
 *
 * {@link coalesceWrites} makes a connection's first cork of a turn also hold the stream until
 * the turn's `setImmediate` (one for all connections, in the order they were first held), so
 * whatever is written to it meanwhile — PUBACKs, deliveries, a PINGRESP — goes out together.
 * A packet waits at most until the end of the loop turn it was written in. Once the held bytes
 * reach the stream's high-water mark, the next packet's cork lets them go at once: holding is
 * for batching small packets, and must not grow a backlog (the slow-consumer check reads the
 * stream's buffered length, and a healthy subscriber of large messages was closed for it).
 */
import { Writable } from 'node:stream';

const HELD = Symbol('sotto.coalesce.held');

type Coalesced = Writable & { [HELD]?: boolean };

const held: Coalesced[] = [];
let scheduled = false;

function release(stream: Coalesced): void {
  stream[HELD] = false;
  stream.uncork();
}

function flush(): void {
  scheduled = false;
  // Released in the order first held; a stream held again by these writes waits for the next
  // turn. One released early (and maybe held again) can be listed twice: only a hold is released.
  const streams = held.splice(0, held.length);
  for (const stream of streams) if (stream[HELD]) release(stream);
}

function coalescingCork(this: Coalesced): void {
  if (this[HELD] && this.writableLength >= this.writableHighWaterMark) release(this);
  if (!this[HELD] && !this.destroyed) {
    this[HELD] = true;
    Writable.prototype.cork.call(this);
    held.push(this);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }
  Writable.prototype.cork.call(this);
}

/** Hold `stream`'s writes of each event-loop turn and write them together (see the module). */
export function coalesceWrites(stream: Writable): void {
  stream.cork = coalescingCork;
}
