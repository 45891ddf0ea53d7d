/**
 * Every row of the DESIGN.md §4.2 ACL table, allowed and refused, against a
 * real broker: mqtt.js over TCP and WebSocket, and the stock Mosquitto
 * command-line clients as an outside implementation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { deviceClientId, thingClientId } from '@sotto/crypto/wire';
import {
  closed,
  collect,
  connect,
  refusedCode,
  brokerDropped,
  marker,
  run,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;
const open: MqttClient[] = [];
const tok = (u: string, d: string) => t.tokens.token(u, d);
async function dev(
  user: string,
  device: string,
  opts: Parameters<typeof connect>[3] = {},
  ws = false,
) {
  const c = await connect(
    ws ? t.wsUrl : t.tcpUrl,
    deviceClientId(user, device),
    tok(user, device),
    opts,
  );
  open.push(c);
  return c;
}
async function thing(owner: string, name: string, secret: string) {
  const c = await connect(t.tcpUrl, thingClientId(owner, name), secret);
  open.push(c);
  return c;
}

beforeAll(async () => {
  t = await startTestBroker({ presence: false });
  t.store.addUser('alice', 'phone', 'laptop').addUser('bob', 'b1').addUser('carol', 'c1');
  t.store.setGroup('g1', ['alice', 'bob']);
  t.store.addThing('alice', 'lamp', 'lamp-secret');
});
afterAll(async () => {
  for (const c of open) c.end(true);
  await t.close();
});

describe('inbox row [ACL-1]', () => {
  it('only the device itself subscribes; any user device publishes (TCP and WebSocket)', async () => {
    const alice = await dev('alice', 'phone', {}, true);
    expect(await subscribe(alice, 'sotto/v1/inbox/alice/phone')).toEqual([1]);
    expect(await subscribe(alice, 'sotto/v1/inbox/alice/laptop')).toEqual([128]);
    const got = collect(alice);
    const bob = await dev('bob', 'b1');
    expect(await subscribe(bob, 'sotto/v1/inbox/alice/phone')).toEqual([128]);
    expect(await tryPublish(bob, 'sotto/v1/inbox/alice/phone', 'hi')).toBe(true);
    await waitFor(() => got.length === 1, { what: 'inbox message' });
    expect(got[0]).toMatchObject({ topic: 'sotto/v1/inbox/alice/phone', payload: 'hi' });
    expect(alice.connected && bob.connected).toBe(true);
  });

  it('a thing cannot publish into an inbox (connection closed)', async () => {
    const lamp = await thing('alice', 'lamp', 'lamp-secret');
    expect(await tryPublish(lamp, 'sotto/v1/inbox/alice/phone', 'x')).toBe(false);
  });
});

describe('group row [ACL-2]', () => {
  it('members subscribe and publish; non-members are refused', async () => {
    const alice = await dev('alice', 'laptop');
    const bob = await dev('bob', 'b1');
    const carol = await dev('carol', 'c1');
    expect(await subscribe(alice, 'sotto/v1/group/g1')).toEqual([1]);
    expect(await subscribe(carol, 'sotto/v1/group/g1')).toEqual([128]);
    expect(await subscribe(carol, 'sotto/v1/group/nosuch')).toEqual([128]);
    const got = collect(alice);
    expect(await tryPublish(bob, 'sotto/v1/group/g1', 'to-group')).toBe(true);
    await waitFor(() => got.length === 1, { what: 'group message' });
    expect(await tryPublish(carol, 'sotto/v1/group/g1', 'intruder')).toBe(false);
    await marker(bob, 'sotto/v1/group/g1', got);
    expect(got.map((m) => m.payload)).toEqual(['to-group']);
  });
});

describe('presence row [ACL-3]', () => {
  it('any user reads a presence topic; only its user writes it, retained', async () => {
    const alice = await dev('alice', 'phone');
    expect(await tryPublish(alice, 'sotto/v1/presence/alice', 'here', { retain: true })).toBe(true);
    const carol = await dev('carol', 'c1');
    const got = collect(carol);
    expect(await subscribe(carol, 'sotto/v1/presence/alice')).toEqual([1]);
    await waitFor(() => got.length === 1, { what: 'retained presence' });
    expect(got[0]).toMatchObject({ payload: 'here', retain: true });
    expect(await subscribe(carol, 'sotto/v1/presence/+')).toEqual([128]);
    expect(await tryPublish(carol, 'sotto/v1/presence/alice', 'fake')).toBe(false);
  });
});

describe('control row [ACL-4, ACL-9]', () => {
  it('the device reads its control topic; only the key server service publishes there', async () => {
    const alice = await dev('alice', 'phone');
    expect(await subscribe(alice, 'sotto/v1/control/alice/phone')).toEqual([1]);
    const bob = await dev('bob', 'b1');
    expect(await subscribe(bob, 'sotto/v1/control/alice/phone')).toEqual([128]);
    const got = collect(alice);
    const svc = await connect(
      t.tcpUrl,
      'service:keyserver:1',
      t.tokens.token('keyserver', '1', 'service'),
    );
    open.push(svc);
    expect(await tryPublish(svc, 'sotto/v1/control/alice/phone', '{"type":"keys-changed"}')).toBe(
      true,
    );
    await waitFor(() => got.length === 1, { what: 'control notice' });
    expect(await tryPublish(bob, 'sotto/v1/control/alice/phone', 'forged')).toBe(false);
  });
});

describe('iot row [ACL-5]', () => {
  it("the thing and its owner's devices share iot/{owner}/{thing}/#; others are refused", async () => {
    const lamp = await thing('alice', 'lamp', 'lamp-secret');
    expect(await subscribe(lamp, 'iot/alice/lamp/cmd')).toEqual([1]);
    expect(await subscribe(lamp, ['iot/alice/+/#', 'iot/alice/#', 'iot/bob/#'])).toEqual([
      128, 128, 128,
    ]);
    const alice = await dev('alice', 'phone');
    expect(await subscribe(alice, ['iot/alice/+/state', 'iot/alice/#'])).toEqual([1, 1]);
    const fromLamp = collect(alice);
    const toLamp = collect(lamp);
    expect(await tryPublish(lamp, 'iot/alice/lamp/state', 'on')).toBe(true);
    expect(await tryPublish(alice, 'iot/alice/lamp/cmd', 'off')).toBe(true);
    await waitFor(() => toLamp.length === 1 && fromLamp.length >= 2, { what: 'iot traffic' });
    const bob = await dev('bob', 'b1');
    expect(await subscribe(bob, ['iot/alice/#', 'iot/+/lamp/#'])).toEqual([128, 128]);
    expect(await tryPublish(bob, 'iot/alice/lamp/cmd', 'evil')).toBe(false);
    expect(await tryPublish(lamp, 'iot/alice/heater/state', 'x')).toBe(false);
  });
});

describe('everything else [ACL-6, ACL-7, deny by default]', () => {
  it('refuses root wildcards, $SYS, wildcards under sotto/ and unknown namespaces with SUBACK 0x80, keeping the connection', async () => {
    const alice = await dev('alice', 'phone');
    const filters = [
      '#',
      '+',
      '+/#',
      '$SYS/#',
      'sotto/#',
      'sotto/v1/inbox/+/+',
      'sotto/v1/+/alice/phone',
      'foo/bar',
      'sotto/v1/inbox/alice/phone/#',
    ];
    expect(await subscribe(alice, filters)).toEqual(filters.map(() => 128));
    expect(alice.connected).toBe(true);
    expect(await subscribe(alice, 'sotto/v1/inbox/alice/phone')).toEqual([1]);
  });

  it('closes a client that publishes to $SYS or an unknown topic', async () => {
    expect(await tryPublish(await dev('alice', 'phone'), '$SYS/broker/x', 'x')).toBe(false);
    expect(await tryPublish(await dev('alice', 'phone'), 'foo/bar', 'x')).toBe(false);
  });

  it('refuses retained publishes except on the own presence topic [ACL-7]', async () => {
    expect(
      await tryPublish(await dev('bob', 'b1'), 'sotto/v1/inbox/alice/phone', 'x', { retain: true }),
    ).toBe(false);
    expect(
      await tryPublish(await thing('alice', 'lamp', 'lamp-secret'), 'iot/alice/lamp/state', 'x', {
        retain: true,
      }),
    ).toBe(false);
  });

  it('a refused filter is not stored for a persistent session, so nothing is queued for it', async () => {
    const carol = await dev('carol', 'c1', { clean: false });
    expect(
      await subscribe(carol, ['sotto/v1/inbox/carol/c1', 'sotto/v1/inbox/alice/phone']),
    ).toEqual([1, 128]);
    carol.end();
    await closed(carol);
    const bob = await dev('bob', 'b1');
    expect(await tryPublish(bob, 'sotto/v1/inbox/alice/phone', 'for-alice-only')).toBe(true);
    expect(await tryPublish(bob, 'sotto/v1/inbox/carol/c1', 'for-carol')).toBe(true);
    const back = await dev('carol', 'c1', { clean: false });
    const got = collect(back);
    await waitFor(() => got.length >= 1, { what: 'carol queue' });
    await marker(bob, 'sotto/v1/inbox/carol/c1', got); // after the queue
    expect(got.map((m) => m.payload)).toEqual(['for-carol']);
  });
});

describe('will messages [ACL-8]', () => {
  it('refuses a CONNECT whose will names a topic the client may not publish', async () => {
    const will = {
      topic: 'sotto/v1/presence/alice',
      payload: Buffer.from('gone'),
      qos: 1 as const,
      retain: true,
    };
    expect(await refusedCode(t.tcpUrl, 'bob:b1', tok('bob', 'b1'), { will })).toBe(5);
    expect(
      await refusedCode(t.tcpUrl, 'bob:b1', tok('bob', 'b1'), {
        will: { ...will, topic: '$SYS/x' },
      }),
    ).toBe(5);
  });

  it('publishes an allowed will on an abrupt close, and drops a group will once the sender left the group', async () => {
    const watcher = await dev('alice', 'laptop');
    expect(await subscribe(watcher, ['sotto/v1/presence/bob', 'sotto/v1/group/g1'])).toEqual([
      1, 1,
    ]);
    const got = collect(watcher);
    const bob = await dev('bob', 'b1', {
      will: {
        topic: 'sotto/v1/presence/bob',
        payload: Buffer.from('offline'),
        qos: 1,
        retain: true,
      },
    });
    (bob as unknown as { stream: { destroy(): void } }).stream.destroy();
    await waitFor(() => got.some((m) => m.payload === 'offline'), { what: 'will' });

    const bob2 = await dev('bob', 'b1', {
      will: { topic: 'sotto/v1/group/g1', payload: Buffer.from('bob-will'), qos: 1, retain: false },
    });
    t.store.setGroup('g1', ['alice']);
    await t.events.publish({ type: 'group-changed', groupId: 'g1', removed: ['bob'], added: [] });
    (bob2 as unknown as { stream: { destroy(): void } }).stream.destroy();
    // Aedes hands the will over before it forgets the client; a marker published after that
    // on the same topic comes after the will would have.
    await brokerDropped(t.broker, 'bob:b1');
    await marker(watcher, 'sotto/v1/group/g1', got);
    expect(got.some((m) => m.payload === 'bob-will')).toBe(false);
    t.store.setGroup('g1', ['alice', 'bob']);
  });
});

describe('stock mosquitto clients', () => {
  const base = () => ['-V', 'mqttv311', '-h', '127.0.0.1', '-p', String(t.tcpPort)];
  const creds = (user: string, device: string) => [
    '-i',
    deviceClientId(user, device),
    '-u',
    deviceClientId(user, device),
    '-P',
    tok(user, device),
  ];

  it('mosquitto_sub receives its inbox and mosquitto_pub delivers into it', async () => {
    const subP = run('mosquitto_sub', [
      ...base(),
      ...creds('alice', 'phone'),
      '-q',
      '1',
      '-t',
      'sotto/v1/inbox/alice/phone',
      '-C',
      '1',
      '-W',
      '8',
    ]);
    // mosquitto_sub has subscribed once the broker holds its subscription.
    await waitFor(
      () =>
        'sotto/v1/inbox/alice/phone' in
        ((
          t.broker.aedes as unknown as {
            clients: Record<string, { subscriptions: object } | undefined>;
          }
        ).clients['alice:phone']?.subscriptions ?? {}),
      { what: 'mosquitto_sub subscribed' },
    );
    const pubR = await run('mosquitto_pub', [
      ...base(),
      ...creds('bob', 'b1'),
      '-q',
      '1',
      '-t',
      'sotto/v1/inbox/alice/phone',
      '-m',
      'from-mosquitto',
    ]);
    expect(pubR.code).toBe(0);
    const subR = await subP;
    expect(subR.code).toBe(0);
    expect(subR.stdout.trim()).toBe('from-mosquitto');
  });

  it("mosquitto_sub is denied another device's inbox, # and $SYS/#", async () => {
    for (const topic of ['sotto/v1/inbox/bob/b1', '#', '$SYS/#']) {
      const r = await run('mosquitto_sub', [
        ...base(),
        ...creds('alice', 'phone'),
        '-t',
        topic,
        '-E',
        '-W',
        '5',
      ]);
      expect(r.stderr, topic).toMatch(/denied/i);
    }
  });

  it('mosquitto_pub with a stolen client id or a bad token is refused at CONNECT', async () => {
    const stolen = await run('mosquitto_pub', [
      ...base(),
      '-i',
      'alice:phone',
      '-u',
      'alice:phone',
      '-P',
      tok('bob', 'b1'),
      '-t',
      'sotto/v1/inbox/alice/phone',
      '-m',
      'x',
    ]);
    expect(stolen.code).not.toBe(0);
    expect(stolen.stderr).toMatch(/not authori[sz]ed/i);
    const bad = await run('mosquitto_pub', [
      ...base(),
      ...creds('bob', 'b1').slice(0, 4),
      '-P',
      'garbage',
      '-t',
      'sotto/v1/inbox/alice/phone',
      '-m',
      'x',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bad user ?name or password/i);
  });

  it('a thing works with plain mosquitto_pub and its credential', async () => {
    const alice = await dev('alice', 'phone');
    expect(await subscribe(alice, 'iot/alice/+/state')).toEqual([1]);
    const got = collect(alice);
    const r = await run('mosquitto_pub', [
      ...base(),
      '-i',
      'thing:alice:lamp',
      '-u',
      'thing:alice:lamp',
      '-P',
      'lamp-secret',
      '-q',
      '1',
      '-t',
      'iot/alice/lamp/state',
      '-m',
      '21.5',
    ]);
    expect(r.code).toBe(0);
    await waitFor(() => got.length === 1, { what: 'thing message' });
    expect(got[0]?.payload).toBe('21.5');
  });
});
