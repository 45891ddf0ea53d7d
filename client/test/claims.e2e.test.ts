/**
 * Bundle claims for a message to many devices with no sessions yet: one
 * batched claim (`POST /v1/bundles/claim`) instead of one request per device,
 * and single claims against a key server without the batched route. Creating a
 * group takes the same path: its announcement sets up the sessions with every
 * member device in batched claims, counted at the key server's own metrics.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SottoClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import {
  makeClient,
  startServer,
  TEST_METRICS_TOKEN,
  uname,
  until,
  type TestServer,
} from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

/** A sender whose key-server requests are counted; `batched: false` plays an older server. */
function sender(batched: boolean): { client: SottoClient; claims: string[] } {
  const claims: string[] = [];
  const counting: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const path = new URL(url).pathname;
    if (path === '/v1/bundles/claim' || path.endsWith('/bundle')) claims.push(path);
    if (!batched && path === '/v1/bundles/claim')
      return new Response(JSON.stringify({ error: 'NOT_FOUND', message: 'no such route' }), {
        status: 404,
        headers: { 'content-type': 'application/json' },
      });
    return fetch(input, init);
  };
  const client = createClient({
    store: createMemoryStore(),
    http: { baseUrl: srv.httpUrl, fetch: counting },
    mqttConnect: (o) => mqtt.connect(srv.mqttUrl, o),
  });
  clients.push(client);
  return { client, claims };
}

async function receivers(
  n: number,
): Promise<{ names: string[]; got: string[]; engines: SottoClient[] }> {
  const names: string[] = [];
  const got: string[] = [];
  const engines: SottoClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = makeClient(srv);
    clients.push(c);
    engines.push(c);
    const u = uname('r');
    await c.register(u, 'correct horse battery');
    await c.start();
    c.on('message', (m) => got.push(`${u}:${String(m.body.text)}`));
    names.push(u);
  }
  return { names, got, engines };
}

/** Bundle-claim requests the key server has answered so far, from its `/metrics` page. */
async function claimRequests(): Promise<{ batched: number; single: number }> {
  const text = await (
    await fetch(`${srv.httpUrl}/metrics`, {
      headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` },
    })
  ).text();
  const count = (route: string): number =>
    text
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('sotto_keyserver_http_requests_total{') &&
          l.includes('method="POST"') &&
          l.includes(`route="${route}"`),
      )
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    batched: count('/v1/bundles/claim'),
    single: count('/v1/users/:username/devices/:deviceId/bundle'),
  };
}

/** Create a group, then forget every session and our sender key: the next message needs new sessions. */
async function coldGroup(client: SottoClient, names: string[], claims: string[]): Promise<string> {
  const groupId = await client.groups.create('cold', names);
  const ops = [];
  for (const u of names) {
    const { devices } = await client.http.getUser(u);
    for (const d of devices)
      ops.push({ op: 'deleteSession' as const, user: u, device: d.deviceId });
  }
  await client.store.batch([...ops, { op: 'deleteOwnSenderKey', groupId }]);
  claims.length = 0;
  return groupId;
}

describe('bundle claims for many devices', () => {
  it('claims every member device in one batched request', async () => {
    const { names, got } = await receivers(6);
    const { client, claims } = sender(true);
    await client.register(uname('s'), 'correct horse battery');
    await client.start();
    const groupId = await coldGroup(client, names, claims);
    await client.sendText(`group:${groupId}`, 'hello all');
    await until(() => names.every((u) => got.includes(`${u}:hello all`)), 'everyone reads');
    expect(claims).toEqual(['/v1/bundles/claim']);
  });

  it('falls back to one claim per device when the key server has no batched route', async () => {
    const { names, got } = await receivers(3);
    const { client, claims } = sender(false);
    await client.register(uname('s'), 'correct horse battery');
    await client.start();
    const groupId = await coldGroup(client, names, claims);
    await client.sendText(`group:${groupId}`, 'hello all');
    await until(() => names.every((u) => got.includes(`${u}:hello all`)), 'everyone reads');
    expect(claims[0]).toBe('/v1/bundles/claim');
    expect(claims.length).toBe(1 + names.length);
    for (const u of names)
      expect(claims.filter((c) => c.startsWith(`/v1/users/${u}/`)).length).toBe(1);
  });

  it('creating a group sets up the sessions with every member device in one batched claim, and everyone reads', async () => {
    const { names, got, engines } = await receivers(12);
    const creator = makeClient(srv);
    clients.push(creator);
    await creator.register(uname('c'), 'correct horse battery');
    await creator.start();
    const before = await claimRequests();
    const groupId = await creator.groups.create('many', names);
    const afterCreate = await claimRequests();
    // 12 member devices without sessions: one batched request, no single claims.
    expect(afterCreate).toEqual({ batched: before.batched + 1, single: before.single });
    await until(async () => {
      for (const e of engines) if (!(await e.store.getGroup(groupId))) return false;
      return true;
    }, 'every member knows the group');
    await creator.sendText(`group:${groupId}`, 'welcome');
    await until(() => names.every((u) => got.includes(`${u}:welcome`)), 'everyone reads');
    // The announcement's sessions carried the sender keys: no claim for the first message.
    expect(await claimRequests()).toEqual(afterCreate);
  });
});
