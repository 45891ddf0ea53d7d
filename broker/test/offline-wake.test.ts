/**
 * Wake-ups for offline devices (internal/offline-wake.ts, docs/PROTOCOL.md §7 "Wake-up pushes"),
 * on the real in-memory persistence: a message stored for a device session with no connection
 * on this broker wakes it; connected sessions, non-message topics and non-device clients do not.
 */
import memoryPersistence from 'aedes-persistence';
import { describe, expect, it } from 'vitest';
import type { WakeEvent } from '@sotto/crypto/wire';
import { wakeOfflineSessions } from '../src/internal/offline-wake.ts';
import type { CountedPersistence } from '../src/internal/queue-cap.ts';

const GROUP = 'g0123456789abcdefghijk';

function setup(connected: string[]) {
  const p = memoryPersistence() as unknown as CountedPersistence & {
    outgoingStream(client: { id: string }): AsyncIterable<unknown>;
  };
  const woken: WakeEvent[] = [];
  const stored: number[] = [];
  wakeOfflineSessions(p, {
    connected: (id) => connected.includes(id),
    wake: (e) => woken.push(e),
  });
  const send = (topic: string, clientIds: string[]) =>
    p.outgoingEnqueueCombi(
      clientIds.map((clientId) => ({ clientId, topic, qos: 1 })),
      {
        cmd: 'publish',
        topic,
        payload: Buffer.from('x'),
        qos: 1,
        retain: false,
        brokerId: 'b',
        brokerCounter: stored.push(1),
      },
    );
  const queued = async (clientId: string) => {
    let n = 0;
    for await (const _ of p.outgoingStream({ id: clientId })) n++;
    return n;
  };
  return { woken, send, queued };
}

describe('wake-ups for devices with no connection here', () => {
  it('wakes the offline members of a group once the message is stored, not the connected ones', async () => {
    const { woken, send, queued } = setup(['alice:a1']);
    await send(`sotto/v1/group/${GROUP}`, ['alice:a1', 'bob:b1', 'bob:b2']);
    expect(woken).toEqual([
      { username: 'bob', deviceId: 'b1', groupId: GROUP },
      { username: 'bob', deviceId: 'b2', groupId: GROUP },
    ]);
    expect(await queued('bob:b1')).toBe(1);
  });

  it('wakes an offline device for its own inbox, without naming a group', async () => {
    const { woken, send } = setup([]);
    await send('sotto/v1/inbox/bob/b1', ['bob:b1']);
    expect(woken).toEqual([{ username: 'bob', deviceId: 'b1', groupId: null }]);
  });

  it('wakes nobody for control notices, presence, IoT topics, things or another device on an inbox', async () => {
    const { woken, send } = setup([]);
    await send('sotto/v1/control/bob/b1', ['bob:b1']);
    await send('sotto/v1/presence/bob', ['carol:c1']);
    await send('iot/bob/lamp/state', ['bob:b1', 'thing:bob:lamp']);
    await send(`sotto/v1/group/${GROUP}`, ['thing:bob:lamp', 'ops-dashboard']);
    await send('sotto/v1/inbox/bob/b1', ['bob:b2']);
    expect(woken).toEqual([]);
  });
});
