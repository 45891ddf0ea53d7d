/**
 * Resource limits: packet size enforced on the raw byte stream before Aedes
 * buffers anything, connect timeout, keepalive bounds, per-IP caps,
 * per-client publish rate, and slow-consumer isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';
import { PacketSizeGuard, PublishLine, TokenBucket } from '../src/limits.ts';
import {
  closed,
  collect,
  connect,
  refusedCode,
  sleep,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

describe('PacketSizeGuard', () => {
  const limits = { maxConnectBytes: 100, maxPacketBytes: 1000 };
  it('refuses a CONNECT header announcing 250 MB after its length bytes', () => {
    const g = new PacketSizeGuard(limits);
    // 250 MB remaining length: 0x80 0xE5 0x9A 0x77 (varint)
    expect(g.feed(Uint8Array.from([0x10, 0x80]))).toBeNull();
    expect(g.feed(Uint8Array.from([0xe5]))).toBe('CONNECT_TOO_LARGE');
  });
  it('tracks packet boundaries across chunks and applies the later limit', () => {
    const g = new PacketSizeGuard(limits);
    expect(g.feed(Uint8Array.from([0x10, 3, 1, 2]))).toBeNull();
    expect(g.feed(Uint8Array.from([3, 0x30, 0xe8]))).toBeNull(); // PUBLISH, length 1000 (0xe8 0x07)
    expect(
      g.feed(Uint8Array.from([0x07, ...new Array<number>(1000).fill(0), 0x30, 0xe9, 0x07])),
    ).toBe('PACKET_TOO_LARGE');
  });
  it('refuses a first packet that is not CONNECT and a length longer than four bytes', () => {
    expect(new PacketSizeGuard(limits).feed(Uint8Array.from([0x30, 0]))).toBe(
      'FIRST_PACKET_NOT_CONNECT',
    );
    const g = new PacketSizeGuard({ maxConnectBytes: 2 ** 30, maxPacketBytes: 2 ** 30 });
    expect(g.feed(Uint8Array.from([0x10, 0x80, 0x80, 0x80, 0x80]))).toBe('BAD_LENGTH');
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then spaces tokens at the rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 2, () => now);
    expect([b.take(), b.take()]).toEqual([0, 0]);
    expect(b.take()).toBe(100);
    now = 1_000;
    expect(b.take()).toBe(0);
  });
});

describe('PublishLine', () => {
  it('runs verdicts in arrival order, whichever is known first', () => {
    const line = new PublishLine(new TokenBucket(1000, 100), 5_000);
    const ran: string[] = [];
    const a = line.enter();
    const b = line.enter();
    const c = line.enter();
    // b (no wait) and c (a refusal) are decided while a still waits for its member check.
    line.settle(b, { rated: true, run: () => ran.push('b'), tooFast: () => ran.push('b fast') });
    line.settle(c, { rated: false, run: () => ran.push('c refused') });
    expect(ran).toEqual([]);
    line.settle(a, { rated: true, run: () => ran.push('a'), tooFast: () => ran.push('a fast') });
    expect(ran).toEqual(['a', 'b', 'c refused']);
    expect(line.length).toBe(0);
  });

  it('holds publishes past the burst for their tokens, in order, and does not let a later one jump the wait', async () => {
    const line = new PublishLine(new TokenBucket(100, 1), 5_000); // one token per 10 ms
    const ran: [string, number][] = [];
    const start = Date.now();
    const go = (name: string) => {
      const t = line.enter();
      line.settle(t, {
        rated: true,
        run: () => ran.push([name, Date.now() - start]),
        tooFast: () => ran.push([`${name} fast`, 0]),
      });
    };
    go('1');
    go('2');
    go('3');
    expect(ran.map(([n]) => n)).toEqual(['1']);
    // A refusal arriving now waits behind the rated ones instead of overtaking them.
    const refusal = line.enter();
    line.settle(refusal, { rated: false, run: () => ran.push(['refused', Date.now() - start]) });
    expect(ran.map(([n]) => n)).toEqual(['1']);
    await waitFor(() => ran.length === 4, { timeoutMs: 2_000 });
    expect(ran.map(([n]) => n)).toEqual(['1', '2', '3', 'refused']);
    // Spaced by the rate (timers may fire late, never early).
    expect(ran[1]![1]).toBeGreaterThanOrEqual(9);
    expect(ran[2]![1]).toBeGreaterThanOrEqual(19);
  });

  it('answers tooFast instead of queueing beyond the longest wait', () => {
    const line = new PublishLine(new TokenBucket(10, 1), 50); // the second token is 100 ms away
    const ran: string[] = [];
    for (const name of ['1', '2']) {
      const t = line.enter();
      line.settle(t, {
        rated: true,
        run: () => ran.push(name),
        tooFast: () => ran.push(`${name} too fast`),
      });
    }
    expect(ran).toEqual(['1', '2 too fast']);
  });
});

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker({
    presence: false,
    limits: {
      maxPacketBytes: 64 * 1024,
      maxConnectBytes: 4 * 1024,
      connectTimeoutMs: 400,
      keepaliveMaxSec: 1,
      keepaliveMinSec: 1,
      maxConnectionsPerIp: 30,
      publishRatePerSec: 50,
      publishBurst: 10,
      maxPublishDelayMs: 400,
      maxQueuedBytesPerClient: 512 * 1024,
      drainTimeoutMs: 2_000,
    },
  });
  t.store.addUser('alice', 'a1', 'a2').addUser('bob', 'b1').addUser('frozen', 'f1');
});
afterAll(async () => {
  await t.close();
});

function rawSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port: t.tcpPort }, () => resolve(s));
    s.on('error', reject);
  });
}
function whenClosed(s: Socket | WebSocket, timeoutMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}
/** The first bytes from the broker (its CONNACK); rejects if it closes the socket instead. */
function firstData(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('data', () => resolve());
    s.once('close', () => reject(new Error('closed before CONNACK')));
  });
}
const connectBytes = (clientId: string, password: string, keepalive = 30) =>
  mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    username: clientId,
    password: Buffer.from(password),
    keepalive,
  });

describe('packet size on the wire', () => {
  it('closes a TCP connection whose CONNECT announces 250 MB, without buffering what follows', async () => {
    global.gc?.();
    const before = process.memoryUsage();
    const s = await rawSocket();
    s.on('error', () => undefined);
    const closing = whenClosed(s, 2_000);
    s.write(Buffer.from([0x10, 0x80, 0xe5, 0x9a, 0x77]));
    // Keep pushing body bytes: none of it may accumulate in the broker.
    const junk = Buffer.alloc(1024 * 1024, 0x41);
    const gone = new Promise((r) => s.once('close', r));
    for (let i = 0; i < 50 && !s.destroyed; i++) {
      // The broker stops reading and closes: a 'drain' may never come, the 'close' will.
      if (!s.write(junk)) await Promise.race([new Promise((r) => s.once('drain', r)), gone]);
    }
    expect(await closing).toBeLessThan(2_000);
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(32 * 1024 * 1024);
    expect(
      t.broker.metrics.registry.getSingleMetric('sotto_broker_forced_disconnects_total'),
    ).toBeDefined();
    const m = await t.broker.metrics.disconnects.get();
    expect(
      m.values.find((v) => v.labels.reason === 'CONNECT_TOO_LARGE')?.value,
    ).toBeGreaterThanOrEqual(1);
  });

  it('closes an authenticated connection that announces a PUBLISH above the limit', async () => {
    const s = await rawSocket();
    s.on('error', () => undefined);
    s.write(connectBytes('alice:a1', t.tokens.token('alice', 'a1')));
    await firstData(s);
    const closing = whenClosed(s, 2_000);
    s.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01])); // 2 MB PUBLISH header
    await closing;
  });

  it('closes a WebSocket connection sending an oversized packet', async () => {
    const ws = new WebSocket(t.wsUrl, 'mqtt');
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.on('error', () => undefined);
    const closing = whenClosed(ws, 2_000);
    ws.send(Buffer.concat([Buffer.from([0x10, 0x80, 0xe5, 0x9a, 0x77]), Buffer.alloc(1000)]));
    await closing;
  });

  it('refuses a first packet that is not CONNECT', async () => {
    const s = await rawSocket();
    s.on('error', () => undefined);
    const closing = whenClosed(s, 2_000);
    s.write(mqttPacket.generate({ cmd: 'pingreq' }));
    await closing;
  });
});

describe('connection limits', () => {
  it('closes a connection that sends no CONNECT within the connect timeout', async () => {
    const s = await rawSocket();
    expect(await whenClosed(s, 3_000)).toBeGreaterThanOrEqual(300);
  });

  it('raises keepalive 0 to the maximum, so a silent client is dropped', async () => {
    const s = await rawSocket();
    s.on('error', () => undefined);
    s.write(connectBytes('alice:a2', t.tokens.token('alice', 'a2'), 0));
    await firstData(s);
    // keepalive max 1 s → the broker gives up after 1.5 s of silence.
    const ms = await whenClosed(s, 4_000);
    expect(ms).toBeGreaterThan(1_000);
  });

  it('caps connections per IP address', async () => {
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 30; i++) sockets.push(await rawSocket());
      const extra = await rawSocket();
      await whenClosed(extra, 2_000);
    } finally {
      for (const s of sockets) s.destroy();
    }
    // The broker frees an address's slots as it sees each socket close: room again soon after.
    await waitFor(
      async () => (await refusedCode(t.tcpUrl, 'bob:b1', t.tokens.token('bob', 'b1'))) === 0,
      {
        what: 'a connection admitted again',
      },
    );
  });
});

describe('publish rate', () => {
  it('spaces publishes beyond the burst at the configured rate', async () => {
    const c = await connect(t.tcpUrl, 'alice:a1', t.tokens.token('alice', 'a1'));
    const started = Date.now();
    for (let i = 0; i < 25; i++)
      expect(await tryPublish(c, 'sotto/v1/inbox/bob/b1', `m${i}`)).toBe(true);
    // 10 in the burst, 15 more at 50/s ≈ 300 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    c.end(true);
  });

  it('closes a client that floods far beyond the rate', async () => {
    const c = await connect(t.tcpUrl, 'alice:a1', t.tokens.token('alice', 'a1'));
    for (let i = 0; i < 200; i++) c.publish('sotto/v1/inbox/bob/b1', 'flood', { qos: 0 });
    await closed(c, 3_000); // a bound, not a wait: rejects 'still connected' after 3 s
  });
});

/** Pause after every 50 publishes in the slow-consumer test (see there). */
const PUBLISH_PACE_MS = 300;

describe('slow consumers', () => {
  it('a frozen subscriber is cut off and does not stall delivery to others', async () => {
    // Its own broker: default publish rates, a small per-client backlog cap.
    const b = await startTestBroker({
      presence: false,
      limits: { maxQueuedBytesPerClient: 2 * 1024 * 1024, drainTimeoutMs: 5_000 },
    });
    b.store.addUser('alice', 'a1').addUser('bob', 'b1').addUser('frozen', 'f1');
    try {
      const topic = 'sotto/v1/presence/alice';
      // A raw subscriber that stops reading its socket after SUBACK.
      const frozen = await new Promise<Socket>((resolve, reject) => {
        const s = createConnection({ host: '127.0.0.1', port: b.tcpPort }, () => resolve(s));
        s.on('error', reject);
      });
      frozen.on('error', () => undefined);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let subacked = false;
      parser.on('packet', (p) => (subacked ||= p.cmd === 'suback'));
      frozen.on('data', (d) => parser.parse(d));
      frozen.write(connectBytes('frozen:f1', b.tokens.token('frozen', 'f1')));
      frozen.write(
        mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }),
      );
      await waitFor(() => subacked, { what: 'SUBACK of the frozen subscriber' });
      frozen.pause();

      const healthy = await connect(b.tcpUrl, 'bob:b1', b.tokens.token('bob', 'b1'));
      expect(await subscribe(healthy, topic, 0)).toEqual([0]);
      const got = collect(healthy);
      const pub = await connect(b.tcpUrl, 'alice:a1', b.tokens.token('alice', 'a1'));
      const payload = Buffer.alloc(64 * 1024, 0x61).toString();
      const n = 600; // ~39 MB towards the frozen socket, far more than the kernel's socket buffers hold
      const started = Date.now();
      for (let i = 0; i < n; i++) {
        pub.publish(topic, payload, { qos: 0 });
        // Genuinely about time: 50 publishes per PUBLISH_PACE_MS stays under the default
        // publish rate (200/s), so the publisher itself is never held or closed by it.
        if (i % 50 === 49) await sleep(PUBLISH_PACE_MS);
      }
      await waitFor(() => got.length === n || !healthy.connected, {
        timeoutMs: 15_000,
        what: 'healthy subscriber',
      });
      expect(healthy.connected).toBe(true);
      expect(got.length).toBe(n);
      expect(Date.now() - started).toBeLessThan(15_000);
      // The frozen client never reads, so it would not even see the FIN: check the broker's side.
      await waitFor(() => !b.broker.connectedIdentities().some((i) => i.clientId === 'frozen:f1'), {
        timeoutMs: 10_000,
        what: 'frozen client dropped',
      });
      frozen.destroy();
      const m = await b.broker.metrics.disconnects.get();
      expect(
        m.values.find((v) => v.labels.reason === 'slow-consumer')?.value,
      ).toBeGreaterThanOrEqual(1);
      healthy.end(true);
      pub.end(true);
    } finally {
      await b.close();
    }
  });
});
