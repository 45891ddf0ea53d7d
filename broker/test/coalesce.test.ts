/**
 * coalesceWrites: the packets a connection is sent during one event-loop turn leave in one
 * write, and none waits past that turn. Packets are written as Aedes writes them
 * (mqtt-packet `writeToStream`: corked, uncorked on the next tick).
 */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { coalesceWrites } from '../src/internal/coalesce.ts';

/** A stream that records each write that reaches it (one entry per `_write`/`_writev`). */
function recorder() {
  const writes: Buffer[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push([chunk]);
      cb();
    },
    writev(chunks, cb) {
      writes.push(chunks.map((c) => c.chunk as Buffer));
      cb();
    },
  });
  return { stream, writes };
}

const puback = (messageId: number) => ({ cmd: 'puback' as const, messageId });
const turn = () => new Promise<void>((r) => setImmediate(r));
/** Packets decoded from everything written, in order. */
function decode(writes: Buffer[][]) {
  const out: { cmd: string; messageId?: number }[] = [];
  const parser = mqttPacket.parser();
  parser.on('packet', (p) => out.push(p));
  for (const w of writes) parser.parse(Buffer.concat(w));
  return out;
}

describe('coalesceWrites', () => {
  it('writes packets from several callbacks of one turn together, in order', async () => {
    const { stream, writes } = recorder();
    coalesceWrites(stream);
    // Three callbacks of the same turn, as Aedes's per-delivery setImmediate and PUBACKs are.
    for (const id of [1, 2, 3]) setImmediate(() => mqttPacket.writeToStream(puback(id), stream));
    await turn();
    await turn();
    expect(writes).toHaveLength(1);
    expect(decode(writes).map((p) => p.messageId)).toEqual([1, 2, 3]);
  });

  it('is what makes the difference: the same writes without it leave one by one', async () => {
    const { stream, writes } = recorder();
    for (const id of [1, 2, 3]) setImmediate(() => mqttPacket.writeToStream(puback(id), stream));
    await turn();
    await turn();
    expect(writes).toHaveLength(3);
  });

  it('holds nothing past the turn it was written in', async () => {
    const { stream, writes } = recorder();
    coalesceWrites(stream);
    mqttPacket.writeToStream(puback(7), stream);
    expect(writes).toHaveLength(0);
    await turn();
    expect(decode(writes).map((p) => p.messageId)).toEqual([7]);
    // A later turn's packet is held and released again.
    mqttPacket.writeToStream(puback(8), stream);
    await turn();
    expect(decode(writes).map((p) => p.messageId)).toEqual([7, 8]);
    expect(stream.writableCorked).toBe(0);
  });

  it('lets held packets go once they reach the high-water mark, instead of growing a backlog', async () => {
    const { stream, writes } = recorder();
    coalesceWrites(stream);
    const big = (id: number) => ({
      cmd: 'publish' as const,
      topic: 't',
      qos: 1 as const,
      messageId: id,
      dup: false,
      retain: false,
      payload: Buffer.alloc(stream.writableHighWaterMark, 0x61),
    });
    let most = 0;
    // Four callbacks of one turn, each writing a packet as large as the high-water mark.
    for (const id of [1, 2, 3, 4])
      setImmediate(() => {
        mqttPacket.writeToStream(big(id), stream);
        most = Math.max(most, stream.writableLength);
      });
    await turn();
    // At most the packets since the last release: never all four.
    expect(most).toBeLessThan(3 * stream.writableHighWaterMark);
    await turn();
    expect(decode(writes).map((p) => p.messageId)).toEqual([1, 2, 3, 4]);
    expect(writes.length).toBeGreaterThan(1);
    expect(stream.writableCorked).toBe(0);
  });

  it('keeps connections apart and releases each', async () => {
    const a = recorder();
    const b = recorder();
    coalesceWrites(a.stream);
    coalesceWrites(b.stream);
    for (const id of [1, 2]) {
      setImmediate(() => mqttPacket.writeToStream(puback(id), a.stream));
      setImmediate(() => mqttPacket.writeToStream(puback(id + 10), b.stream));
    }
    await turn();
    await turn();
    expect(decode(a.writes).map((p) => p.messageId)).toEqual([1, 2]);
    expect(decode(b.writes).map((p) => p.messageId)).toEqual([11, 12]);
    expect([a.writes.length, b.writes.length]).toEqual([1, 1]);
  });

  it('lets end() flush at once and ignores a stream destroyed while held', async () => {
    const { stream, writes } = recorder();
    coalesceWrites(stream);
    mqttPacket.writeToStream(puback(1), stream);
    stream.end();
    await new Promise<void>((r) => stream.once('finish', () => r()));
    expect(decode(writes).map((p) => p.messageId)).toEqual([1]);

    const gone = recorder();
    coalesceWrites(gone.stream);
    mqttPacket.writeToStream(puback(2), gone.stream);
    gone.stream.destroy();
    await turn();
    expect(gone.writes).toHaveLength(0);
    // Corking a destroyed stream does not hold it for a flush that never matters.
    expect(() => gone.stream.cork()).not.toThrow();
  });
});
