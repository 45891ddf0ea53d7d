/**
 * Moderation across a real cluster (issue 17): two key servers and two brokers on one Redis, the
 * first operator made by the key servers' own `CREATE_OPERATOR` start-up option (what
 * docker-compose sets). A ban made on key server 2 disconnects the user's devices on both
 * brokers within one second and refuses their login and reconnection; a room closed by an
 * operator is refused by both brokers.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../scripts/cluster-lib.ts';
import { waitFor } from '../support/ports.ts';
import {
  connectDevice,
  endClient,
  FAST_KEYSERVER_ENV,
  login,
  signupAndLogin,
  type Login,
} from '../embedded/helpers.ts';
import { createGroup, createPerson, tagged, within } from './helpers.ts';

async function api(
  method: string,
  url: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Resolves with the time the client's connection closed. */
const closedAt = (c: MqttClient) =>
  new Promise<number>((resolve) => c.once('close', () => resolve(Date.now())));

describe('moderation in a cluster: 2 key servers, 2 brokers, Redis', () => {
  let cluster: Cluster;
  let ks1: string;
  let ks2: string;
  let b1: string;
  let b2: string;
  let op: Login;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      keyserverEnv: { ...FAST_KEYSERVER_ENV, CREATE_OPERATOR: 'olga_op' },
      readyTimeoutMs: 150_000,
    });
    [ks1, ks2] = cluster.keyserverUrls as [string, string];
    [b1, b2] = cluster.brokerMqttUrls as [string, string];
    // Both key servers ran the start-up command; exactly one created the account and printed
    // its password, the other found it and granted the role.
    const lines = [...cluster.output('keyserver1'), ...cluster.output('keyserver2')];
    const created = lines
      .map((l) => /operator: created olga_op with password (\S+)/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    expect(created).toHaveLength(1);
    op = await login(ks1, 'olga_op', 'op1', created[0]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all(clients.splice(0).map(endClient));
    await cluster?.stop();
  });

  it('makes the start-up operator an operator and nobody else', async () => {
    const bob = await signupAndLogin(ks2, 'bob_mod', 'b1');
    expect((await api('GET', `${ks2}/v1/admin/operators`, op.accessToken)).json).toEqual({
      operators: ['olga_op'],
    });
    const r = await api('GET', `${ks1}/v1/admin/bans`, bob.accessToken);
    expect(r.status).toBe(403);
    expect(r.json.error).toBe('OPERATOR_REQUIRED');
  });

  it('disconnects every device of a banned user on both brokers within one second and refuses them after', async () => {
    const m1 = await signupAndLogin(ks1, 'mallory_mod', 'm1');
    const m2 = await login(ks2, 'mallory_mod', 'm2');
    const onB1 = await connectDevice(b1, m1);
    const onB2 = await connectDevice(b2, m2);
    clients.push(onB1, onB2);
    const closed1 = closedAt(onB1);
    const closed2 = closedAt(onB2);

    const t0 = Date.now();
    const ban = await api('PUT', `${ks2}/v1/admin/bans/mallory_mod`, op.accessToken, {
      reason: 'spam',
    });
    const tAnswered = Date.now();
    expect(ban.status).toBe(200);
    const [c1, c2] = await within(Promise.all([closed1, closed2]), 5_000, [NaN, NaN]);
    // Both brokers closed the connections within a second of the ban being accepted.
    expect(c1 - tAnswered).toBeLessThan(1_000);
    expect(c2 - tAnswered).toBeLessThan(1_000);
    expect(tAnswered - t0).toBeLessThan(5_000);

    // The old tokens no longer open a connection on either broker.
    for (const [url, who] of [
      [b1, m1],
      [b2, m2],
    ] as const) {
      await expect(connectDevice(url, who, { connectTimeout: 3_000 })).rejects.toThrow();
    }
    // Login on either key server is refused with the reason.
    const res = await fetch(`${ks1}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'mallory_mod',
        password: 'correct horse battery staple',
        deviceId: 'm3',
      }),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: 'ACCOUNT_BANNED',
      message: 'this account is banned by the server operators: spam',
    });

    // Unban on key server 1: login works again.
    expect((await api('DELETE', `${ks1}/v1/admin/bans/mallory_mod`, op.accessToken)).status).toBe(
      204,
    );
    const again = await login(ks2, 'mallory_mod', 'm3');
    const c = await connectDevice(b1, again);
    clients.push(c);
    expect(c.connected).toBe(true);
    const log = (await api('GET', `${ks2}/v1/admin/log?limit=2`, op.accessToken)).json.entries as {
      actor: string;
      action: string;
      target: string;
    }[];
    expect(log.map((e) => [e.actor, e.action, e.target])).toEqual([
      ['olga_op', 'unban', 'mallory_mod'],
      ['olga_op', 'ban', 'mallory_mod'],
    ]);
  });

  it('closes a room: both brokers drop its members and refuse its topic, until reopened', async () => {
    const admin = await createPerson(ks1, 'admin_room');
    const carol = await createPerson(ks2, 'carol_room');
    const group = await createGroup(ks1, 'room_closed', admin, [carol]);
    const topic = `sotto/v1/group/${group.groupId}`;
    const a = await connectDevice(b1, admin);
    const c = await connectDevice(b2, carol);
    clients.push(a, c);
    await a.subscribeAsync(topic, { qos: 1 });
    await c.subscribeAsync(topic, { qos: 1 });
    await c.subscribeAsync('sotto/v1/inbox/carol_room/d1', { qos: 1 });
    const got: string[] = [];
    c.on('message', (_t, payload) => got.push(Buffer.from(payload).toString('utf8')));
    await a.publishAsync(topic, tagged('before'), { qos: 1 });
    await waitFor(() => got.some((g) => g.includes('before')), { what: 'message before closing' });

    const closed = await api('PUT', `${ks2}/v1/admin/rooms/room_closed/closed`, op.accessToken, {
      reason: 'abuse',
    });
    expect(closed.status).toBe(204);
    // carol's subscription on broker 2 is gone: a publish on broker 1 is refused (the
    // connection closed) and nothing reaches her; a fresh subscribe is refused.
    const refused = await within(
      a.publishAsync(topic, tagged('after'), { qos: 1 }).then(
        () => false,
        () => true,
      ),
      3_000,
      true,
    );
    expect(refused).toBe(true);
    // mqtt.js rejects a SUBACK with 0x80; either way the filter is not granted.
    const grants = await within(
      c.subscribeAsync(topic, { qos: 1 }).catch(() => [{ topic, qos: 128 as const }]),
      3_000,
      [{ topic, qos: 0 as const }],
    );
    expect(grants[0]?.qos).toBe(128);
    // A marker on carol's inbox from broker 1 arrives after anything sent before it would have.
    const a2 = await connectDevice(b1, admin);
    clients.push(a2);
    await a2.publishAsync('sotto/v1/inbox/carol_room/d1', tagged('marker'), { qos: 1 });
    await waitFor(() => got.some((g) => g.includes('marker')), { what: 'marker' });
    expect(got.some((g) => g.includes('after'))).toBe(false);

    expect(
      (await api('DELETE', `${ks1}/v1/admin/rooms/room_closed/closed`, op.accessToken)).status,
    ).toBe(204);
    const c2 = await connectDevice(b2, carol);
    clients.push(c2);
    const grantsAfter = await c2.subscribeAsync(topic, { qos: 1 });
    expect(grantsAfter[0]?.qos).toBe(1);
  });
});
