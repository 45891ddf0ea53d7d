/**
 * Strict MQTT 3.1.1 (issue 20, internal/strict.ts), with raw packets over TCP: an unsupported
 * protocol level gets CONNACK 0x01 and the close; a will with QoS 3, packet identifier 0 on
 * SUBSCRIBE, UNSUBSCRIBE and QoS 1/2 PUBLISH, an UNSUBSCRIBE or SUBSCRIBE without filters, and a
 * filter that is not well-formed UTF-8 close the connection without an answer. Afterwards, and
 * after a seeded burst of random bytes, the broker still serves an honest client.
 */
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocolLevelAcceptable, violationOf } from '../src/internal/strict.ts';
import {
  connect,
  counter,
  received,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker({ presence: false });
  t.store.addUser('alice', 'a1').addUser('bob', 'b1');
});
afterAll(async () => {
  await t?.close();
});

// ---- raw packet building (MQTT 3.1.1 §2, §3) ----

const str = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const packet = (first: number, body: Buffer) =>
  Buffer.concat([Buffer.from([first]), varint(body.length), body]);

interface ConnectOptions {
  name?: string;
  level?: number;
  will?: { topic: string; qos: number };
  clientId?: string;
  password?: string;
}
function connectPacket(o: ConnectOptions = {}): Buffer {
  const clientId = o.clientId ?? 'alice:a1';
  const password = o.password ?? t.tokens.token('alice', 'a1');
  let flags = 0x80 | 0x40 | 0x02; // user name, password, clean session
  if (o.will) flags |= 0x04 | (o.will.qos << 3);
  const parts = [
    str(o.name ?? 'MQTT'),
    Buffer.from([o.level ?? 4, flags]),
    u16(30),
    str(clientId),
    ...(o.will ? [str(o.will.topic), str('gone')] : []),
    str(clientId),
    str(password),
  ];
  return packet(0x10, Buffer.concat(parts));
}
const subscribePacket = (id: number, filters: (string | Buffer)[]) =>
  packet(
    0x82,
    Buffer.concat([u16(id), ...filters.map((f) => Buffer.concat([str(f), Buffer.from([1])]))]),
  );
const unsubscribePacket = (id: number, filters: (string | Buffer)[]) =>
  packet(0xa2, Buffer.concat([u16(id), ...filters.map((f) => str(f))]));
const publishPacket = (qos: number, id: number, topic: string) =>
  packet(
    0x30 | (qos << 1),
    Buffer.concat([str(topic), ...(qos ? [u16(id)] : []), Buffer.from('x')]),
  );

/** A raw TCP connection that records what the broker sends and when it closes. */
interface Raw {
  socket: Socket;
  data: () => Buffer;
  closed: Promise<void>;
}
function raw(): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ host: '127.0.0.1', port: t.tcpPort }, () =>
      resolve({ socket, data: () => Buffer.concat(chunks), closed }),
    );
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

/** Resolves once the broker closed `r` (bounded). */
function closedWithin(r: Raw, ms = 5_000): Promise<boolean> {
  return Promise.race([
    r.closed.then(() => true),
    new Promise<boolean>((res) => setTimeout(() => res(false), ms)),
  ]);
}

const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

/** A raw connection that is connected (CONNACK 0 received). */
async function connected(): Promise<Raw> {
  const r = await raw();
  r.socket.write(connectPacket());
  await waitFor(() => r.data().length >= 4, { what: 'CONNACK' });
  expect(r.data().subarray(0, 4)).toEqual(CONNACK_OK);
  return r;
}

/** After `bad`, the broker closes the connection without another byte. */
async function closesSilently(bad: Buffer): Promise<void> {
  const r = await connected();
  const before = r.data().length;
  r.socket.write(bad);
  expect(await closedWithin(r)).toBe(true);
  expect(r.data().length).toBe(before);
}

async function violations(): Promise<number> {
  return counter(t.broker.metrics.disconnects, { reason: 'protocol-violation' });
}

describe('strict MQTT 3.1.1 over TCP', () => {
  it('answers an unsupported protocol level with CONNACK 0x01 and closes [MQTT-3.1.2-2]', async () => {
    for (const level of [5, 6, 0, 2]) {
      const r = await raw();
      r.socket.write(connectPacket({ level }));
      expect(await closedWithin(r)).toBe(true);
      expect(r.data()).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x01]));
    }
    // 3.1 ("MQIsdp", level 3) is still spoken; "MQIsdp" with level 4 is not.
    const old = await raw();
    old.socket.write(connectPacket({ name: 'MQIsdp', level: 3 }));
    await waitFor(() => old.data().length >= 4, { what: '3.1 CONNACK' });
    expect(old.data()).toEqual(CONNACK_OK);
    old.socket.destroy();
    const mixed = await raw();
    mixed.socket.write(connectPacket({ name: 'MQIsdp', level: 4 }));
    expect(await closedWithin(mixed)).toBe(true);
    expect(mixed.data()).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x01]));
  });

  it('reads the protocol level even when the CONNECT arrives a byte at a time', async () => {
    const r = await raw();
    const bytes = connectPacket({ level: 6 });
    for (let i = 0; i < 12; i++) {
      r.socket.write(bytes.subarray(i, i + 1));
      await new Promise((res) => setImmediate(res));
    }
    r.socket.write(bytes.subarray(12));
    expect(await closedWithin(r)).toBe(true);
    expect(r.data()).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x01]));
    const ok = await raw();
    const good = connectPacket();
    for (const b of good) ok.socket.write(Buffer.from([b]));
    await waitFor(() => ok.data().length >= 4, { what: 'CONNACK after byte-wise CONNECT' });
    expect(ok.data()).toEqual(CONNACK_OK);
    ok.socket.destroy();
  });

  it('refuses a will with QoS 3 without a CONNACK [MQTT-3.1.2-14]', async () => {
    const before = await violations();
    const r = await raw();
    r.socket.write(connectPacket({ will: { topic: 'sotto/v1/presence/alice', qos: 3 } }));
    expect(await closedWithin(r)).toBe(true);
    expect(r.data().length).toBe(0);
    expect(await violations()).toBe(before + 1);
  });

  it('closes on packet identifier 0 in SUBSCRIBE, UNSUBSCRIBE and QoS 1/2 PUBLISH [MQTT-2.3.1-1]', async () => {
    await closesSilently(subscribePacket(0, ['sotto/v1/inbox/alice/a1']));
    await closesSilently(unsubscribePacket(0, ['sotto/v1/inbox/alice/a1']));
    await closesSilently(publishPacket(1, 0, 'sotto/v1/inbox/bob/b1'));
    await closesSilently(publishPacket(2, 0, 'sotto/v1/inbox/bob/b1'));
  });

  it('closes on UNSUBSCRIBE and SUBSCRIBE without filters [MQTT-3.10.3-2] [MQTT-3.8.3-3]', async () => {
    await closesSilently(unsubscribePacket(7, []));
    await closesSilently(subscribePacket(7, []));
  });

  it('closes on a filter that is not well-formed UTF-8 or holds U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2]', async () => {
    const bad = Buffer.concat([Buffer.from('sotto/v1/inbox/alice/'), Buffer.from([0xc3, 0x28])]);
    await closesSilently(subscribePacket(3, [bad]));
    await closesSilently(unsubscribePacket(3, [bad]));
    await closesSilently(subscribePacket(3, ['lab/\0/x']));
    // A lone surrogate encoded as UTF-8 (CESU) is not well-formed either.
    await closesSilently(subscribePacket(3, [Buffer.from([0x6c, 0x2f, 0xed, 0xa0, 0x80])]));
  });

  it('keeps a well-formed filter with U+FFFD in it, and answers good packets as before', async () => {
    const r = await connected();
    r.socket.write(subscribePacket(9, ['lab/\uFFFD']));
    // SUBACK for id 9 with 0x80 (refused by the ACL, not a protocol violation).
    await waitFor(() => r.data().length >= 9, { what: 'SUBACK' });
    expect(r.data().subarray(4)).toEqual(Buffer.from([0x90, 0x03, 0x00, 0x09, 0x80]));
    r.socket.write(subscribePacket(10, ['sotto/v1/inbox/alice/a1']));
    await waitFor(() => r.data().length >= 14, { what: 'second SUBACK' });
    expect(r.data().subarray(9)).toEqual(Buffer.from([0x90, 0x03, 0x00, 0x0a, 0x01]));
    r.socket.destroy();
  });

  it('stays healthy through the cases above and a seeded burst of random bytes', async () => {
    let seed = 20;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const closes: Promise<boolean>[] = [];
    for (let i = 0; i < 40; i++) {
      const r = i % 2 ? await connected() : await raw();
      const junk = Buffer.from(
        Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)),
      );
      r.socket.write(junk);
      r.socket.end();
      closes.push(closedWithin(r, 10_000));
    }
    expect((await Promise.all(closes)).every(Boolean)).toBe(true);
    const bob = await connect(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'));
    expect(await subscribe(bob, 'sotto/v1/inbox/bob/b1')).toEqual([1]);
    const alice = await connect(t.tcpUrl, 'alice:a1', t.tokens.token('alice', 'a1'));
    expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', 'still here')).toBe(true);
    await waitFor(() => received(bob).some((m) => m.payload === 'still here'), {
      what: 'delivery',
    });
    alice.end(true);
    bob.end(true);
  });
});

describe('the checks on their own', () => {
  it('protocolLevelAcceptable waits for the level, then judges it', () => {
    const p = connectPacket({ level: 4 });
    expect(protocolLevelAcceptable(p.subarray(0, 5))).toBeUndefined();
    expect(protocolLevelAcceptable(p)).toBe(true);
    expect(protocolLevelAcceptable(connectPacket({ level: 5 }))).toBe(false);
    expect(protocolLevelAcceptable(connectPacket({ level: 0x84 }))).toBe(true); // bridge bit
    expect(protocolLevelAcceptable(Buffer.from([0x30, 0x00]))).toBe(true); // not a CONNECT: the size guard's job
  });
  it('violationOf names each malformed packet and passes good ones', () => {
    expect(violationOf({ cmd: 'publish', qos: 0, messageId: 0 })).toBeNull();
    expect(violationOf({ cmd: 'publish', qos: 1, messageId: 0 })).toBe('PACKET_ID_ZERO');
    expect(violationOf({ cmd: 'subscribe', messageId: 1, subscriptions: [] })).toBe('NO_FILTERS');
    expect(violationOf({ cmd: 'subscribe', messageId: 1, subscriptions: [{}] })).toBeNull();
    expect(violationOf({ cmd: 'connect', will: { qos: 3 } })).toBe('WILL_QOS');
  });
});
