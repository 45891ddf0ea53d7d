/** The wake-up bus (broker → key servers): in-process and over Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { createMemoryWakeBus, createRedisWakeBus, type WakeEvent } from '../src/store/wakes.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import { waitFor } from '../../test/support/ports.ts';

const dm: WakeEvent = { username: 'alice', deviceId: 'd1', groupId: null };
const group: WakeEvent = { username: 'bob', deviceId: 'b-2', groupId: 'g0123456789abcdefghijk' };

describe('in-process wake-ups', () => {
  it('reaches every subscriber after the publisher returned, until it unsubscribes', async () => {
    const bus = createMemoryWakeBus();
    const got: WakeEvent[] = [];
    const off = bus.subscribe((e) => got.push(e));
    bus.publish(dm);
    // Off the publisher's stack: the broker's enqueue never waits for the key server.
    expect(got).toEqual([]);
    await waitFor(() => got.length === 1, { what: 'delivery' });
    off();
    bus.publish(group);
    await new Promise((r) => setImmediate(r));
    bus.subscribe((e) => got.push(e));
    bus.publish(dm);
    await waitFor(() => got.length === 2, { what: 'second delivery' });
    expect(got).toEqual([dm, dm]);
    await bus.close();
  });
});

describe('wake-ups over Redis', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('carries events from a broker to every key server, and ignores what is not a wake-up', async () => {
    const clients = await Promise.all(
      [0, 1, 2].map(async () => {
        const c = createClient({ url: redis.url });
        await c.connect();
        return c;
      }),
    );
    const [brokerClient, ks1, ks2] = clients as [
      (typeof clients)[0],
      (typeof clients)[0],
      (typeof clients)[0],
    ];
    const errors: unknown[] = [];
    const broker = createRedisWakeBus({ client: brokerClient, prefix: 'w:' });
    const a = createRedisWakeBus({ client: ks1, prefix: 'w:', onError: (e) => errors.push(e) });
    const b = createRedisWakeBus({ client: ks2, prefix: 'w:' });
    const gotA: WakeEvent[] = [];
    const gotB: WakeEvent[] = [];
    a.subscribe((e) => gotA.push(e));
    b.subscribe((e) => gotB.push(e));
    await Promise.all([a.ready(), b.ready()]);
    await brokerClient.publish('w:wake', '{"username":"x/../y","deviceId":"d","groupId":null}');
    broker.publish(dm);
    broker.publish(group);
    await waitFor(() => gotA.length === 2 && gotB.length === 2, { what: 'both key servers' });
    expect(gotA).toEqual([dm, group]);
    expect(gotB).toEqual([dm, group]);
    expect(errors).toHaveLength(1);
    for (const bus of [broker, a, b]) await bus.close();
    for (const c of clients) await c.close();
  });
});
