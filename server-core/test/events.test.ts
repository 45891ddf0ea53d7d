import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { createMemoryAclEvents, createRedisAclEvents } from '../src/store/events.ts';
import type { AclEvent } from '../src/store/types.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import { waitFor } from '../../test/support/ports.ts';

const events: AclEvent[] = [
  { type: 'group-changed', groupId: 'g1', removed: ['bob'], added: ['carol'] },
  { type: 'token-revoked', jti: 'j', username: 'alice', deviceId: 'd1' },
  { type: 'device-revoked', username: 'alice', deviceId: 'd1' },
  { type: 'thing-revoked', owner: 'alice', thing: 'lamp' },
  { type: 'user-revoked', username: 'alice' },
  { type: 'presence-visibility', username: 'alice', visible: false },
  { type: 'presence-visibility', username: 'alice', visible: true },
];

describe('in-process ACL events', () => {
  it('delivers every event to every subscriber until it unsubscribes', async () => {
    const bus = createMemoryAclEvents();
    const a: AclEvent[] = [];
    const b: AclEvent[] = [];
    const offA = bus.subscribe((e) => a.push(e));
    bus.subscribe((e) => b.push(e));
    for (const e of events) await bus.publish(e);
    offA();
    await bus.publish(events[0]!);
    expect(a).toEqual(events);
    expect(b).toEqual([...events, events[0]]);
    await bus.close();
  });

  it('keeps delivering to others when one subscriber throws', async () => {
    const errors: unknown[] = [];
    const bus = createMemoryAclEvents({ onError: (e) => errors.push(e) });
    const got: AclEvent[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.subscribe((e) => got.push(e));
    await bus.publish(events[4]!);
    expect(got).toEqual([events[4]]);
    expect(errors).toHaveLength(1);
  });
});

describe('Redis ACL events', () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('delivers an event published by one process to a subscriber on another connection', async () => {
    const pubClient = createClient({ url: redis.url });
    const subClient = createClient({ url: redis.url });
    await Promise.all([pubClient.connect(), subClient.connect()]);
    const publisher = createRedisAclEvents({ client: pubClient, prefix: 'x:' });
    const subscriber = createRedisAclEvents({ client: subClient, prefix: 'x:' });
    const other = createRedisAclEvents({ client: subClient, prefix: 'y:' });
    const got: AclEvent[] = [];
    const otherGot: AclEvent[] = [];
    subscriber.subscribe((e) => got.push(e));
    other.subscribe((e) => otherGot.push(e));
    await Promise.all([subscriber.ready(), other.ready()]);
    for (const e of events) await publisher.publish(e);
    await waitFor(() => got.length === events.length, { timeoutMs: 1000, what: 'events' });
    expect(got).toEqual(events);
    expect(otherGot).toEqual([]);
    await Promise.all([publisher.close(), subscriber.close(), other.close()]);
    await Promise.all([pubClient.close(), subClient.close()]);
  });
});
