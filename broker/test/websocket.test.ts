/**
 * MQTT over WebSocket framing: Aedes writes a packet in several pieces, and the broker sends
 * the pieces of one tick as one WebSocket frame (not one frame, and one socket write, per piece).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';
import { connect, startTestBroker, tryPublish, type TestBroker } from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker({ presence: false });
  t.store.addUser('alice', 'a1').addUser('bob', 'b1');
});
afterAll(async () => {
  await t.close();
});

describe('WebSocket transport', () => {
  it('delivers each packet in a single WebSocket frame', async () => {
    const ws = new WebSocket(t.wsUrl, 'mqtt');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const frames: Buffer[] = [];
    ws.on('message', (data: Buffer) => frames.push(data));
    ws.send(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: 'bob:b1',
        username: 'bob:b1',
        password: Buffer.from(t.tokens.token('bob', 'b1')),
        clean: true,
        keepalive: 60,
      }),
    );
    await waitFor(() => frames.length >= 1, { what: 'CONNACK' });
    ws.send(
      mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: 'sotto/v1/inbox/bob/b1', qos: 1 }],
      }),
    );
    await waitFor(() => frames.length >= 2, { what: 'SUBACK' });
    const alice = await connect(t.tcpUrl, 'alice:a1', t.tokens.token('alice', 'a1'));
    const before = frames.length;
    expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', 'x'.repeat(1024))).toBe(true);
    await waitFor(() => Buffer.concat(frames.slice(before)).length >= 2 + 2 + 21 + 2 + 1024, {
      what: 'the PUBLISH',
    });
    // One frame, and it is the whole PUBLISH.
    expect(frames.length - before).toBe(1);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => packets.push(p));
    parser.parse(frames[before]!);
    expect(packets).toHaveLength(1);
    expect(packets[0]).toMatchObject({ cmd: 'publish', topic: 'sotto/v1/inbox/bob/b1', qos: 1 });
    alice.end(true);
    ws.close();
  });
});
