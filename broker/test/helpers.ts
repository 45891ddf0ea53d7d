/**
 * Test fixtures for the broker: an in-memory implementation of the key
 * server's ACL queries (so each test sets exactly the state it needs), a real
 * EdDSA token issuer/verifier from @sotto/server-core/tokens, a broker on random
 * ports (TCP and WebSocket), and small mqtt.js helpers with bounded waits.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createClient } from 'redis';
import {
  createMemoryAclEvents,
  createRedisAclEvents,
  type AclEvents,
  type DeviceRecord,
} from '@sotto/server-core/store';
import {
  createTokenIssuer,
  createTokenVerifier,
  generateSigningKey,
  type TokenKind,
} from '@sotto/server-core/tokens';
import {
  createBroker,
  createRedisBackends,
  type Broker,
  type BrokerOptions,
} from '../src/index.ts';
import type { AclStoreQueries } from '../src/types.ts';
import { waitFor } from '../../test/support/ports.ts';

/** Mutable ACL state behind {@link AclStoreQueries}. */
export class FakeStore implements AclStoreQueries {
  users = new Set<string>();
  activeDevices = new Set<string>();
  revoked = new Set<string>();
  groups = new Map<string, Set<string>>();
  /** Announcement-only groups: who may post (their admins). */
  posters = new Map<string, Set<string>>();
  things = new Map<string, { secret: string; active: boolean }>();
  /** Users whose presence is hidden (the `presenceVisible` setting is false). */
  presenceHidden = new Set<string>();
  /** blocker → users they block ([ACL-12]). */
  blocked = new Map<string, Set<string>>();
  failing = false;

  addUser(username: string, ...devices: string[]): this {
    this.users.add(username);
    for (const d of devices) this.activeDevices.add(`${username}:${d}`);
    return this;
  }
  setGroup(groupId: string, members: string[]): this {
    this.groups.set(groupId, new Set(members));
    return this;
  }
  addThing(owner: string, thing: string, secret: string): this {
    this.things.set(`${owner}:${thing}`, { secret, active: true });
    return this;
  }
  private check(): void {
    if (this.failing) throw new Error('store down');
  }
  async isTokenRevoked(jti: string) {
    this.check();
    return this.revoked.has(jti);
  }
  async isDeviceActive(username: string, deviceId: string) {
    this.check();
    return this.activeDevices.has(`${username}:${deviceId}`);
  }
  async groupMembers(groupId: string) {
    this.check();
    const g = this.groups.get(groupId);
    return g ? [...g] : null;
  }
  async groupPosters(groupId: string) {
    this.check();
    const g = this.groups.get(groupId);
    if (!g) return null;
    const only = this.posters.get(groupId);
    return [...g].filter((u) => !only || only.has(u));
  }
  async isGroupMember(groupId: string, username: string) {
    this.check();
    return this.groups.get(groupId)?.has(username) ?? false;
  }
  async sharesGroup(a: string, b: string) {
    this.check();
    for (const m of this.groups.values()) if (m.has(a) && m.has(b)) return true;
    return false;
  }
  async verifyThingCredential(owner: string, thing: string, secret: string) {
    this.check();
    const t = this.things.get(`${owner}:${thing}`);
    return !!t && t.active && t.secret === secret;
  }
  async isThingActive(owner: string, thing: string) {
    this.check();
    return this.things.get(`${owner}:${thing}`)?.active ?? false;
  }
  async userExists(username: string) {
    this.check();
    return this.users.has(username);
  }
  async getUserSettings(username: string) {
    this.check();
    return this.users.has(username)
      ? { presenceVisible: !this.presenceHidden.has(username) }
      : null;
  }
  async listBlocked(blocker: string) {
    this.check();
    return [...(this.blocked.get(blocker) ?? [])].sort();
  }
  async listDevices(username: string): Promise<DeviceRecord[]> {
    this.check();
    return [...this.activeDevices]
      .filter((d) => d.startsWith(`${username}:`))
      .map((d) => ({
        username,
        deviceId: d.slice(username.length + 1),
        kind: 'user' as const,
        active: true,
        certificate: null,
        signedPrekey: null,
        kemPrekey: null,
        logIndex: null,
        updatedAt: 0,
        name: null,
        platform: null,
        createdAt: 0,
        lastActiveAt: 0,
      }));
  }
}

/** A token issuer and the matching verifier (same key, issuer `sotto`, audience `sotto`). */
export function createTokens(now?: () => number) {
  const privateKey = generateSigningKey();
  const issuer = createTokenIssuer({
    privateKey,
    issuer: 'sotto',
    audience: 'sotto',
    ...(now ? { now } : {}),
  });
  const verifier = createTokenVerifier({
    publicKey: privateKey,
    issuer: 'sotto',
    audience: 'sotto',
    clockToleranceSeconds: 0,
  });
  return {
    issuer,
    verifier,
    privateKey,
    token(sub: string, dev: string, kind: TokenKind = 'user') {
      return issuer.issue({ sub, dev, kind }).token;
    },
    issue(sub: string, dev: string, kind: TokenKind = 'user') {
      return issuer.issue({ sub, dev, kind });
    },
  };
}

/** A broker on random ports with its fixtures. */
export interface TestBroker {
  broker: Broker;
  store: FakeStore;
  events: AclEvents;
  tokens: ReturnType<typeof createTokens>;
  tcpUrl: string;
  wsUrl: string;
  tcpPort: number;
  http: Server;
  close(): Promise<void>;
}

/** Start a broker on 127.0.0.1 (TCP + WebSocket at /mqtt). */
export async function startTestBroker(
  opts: Partial<BrokerOptions> & {
    store?: FakeStore;
    tokens?: ReturnType<typeof createTokens>;
    events?: AclEvents;
  } = {},
): Promise<TestBroker> {
  const store = opts.store ?? new FakeStore();
  const tokens = opts.tokens ?? createTokens();
  const events = opts.events ?? createMemoryAclEvents();
  const broker = await createBroker({
    ...opts,
    store,
    aclEvents: events,
    verifyToken: opts.verifyToken ?? ((t) => tokens.verifier.verify(t)),
  });
  const tcp = await broker.listenTcp(0, '127.0.0.1');
  const http = createServer((_req, res) => res.writeHead(404).end());
  broker.attachWebSocket(http, '/mqtt');
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const addr = http.address();
  const wsPort = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    broker,
    store,
    events,
    tokens,
    tcpPort: tcp.port,
    tcpUrl: `mqtt://127.0.0.1:${tcp.port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}/mqtt`,
    http,
    async close() {
      await broker.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/**
 * A broker in cluster mode on the Redis at `redisUrl`: Redis mqemitter and persistence
 * (`createRedisBackends`) and a Redis ACL bus of its own, closed with the broker.
 */
/** Every key of `RedisBackends` is a broker option of that name (spread below); a compile error if not. */
type BackendKeysNotOptions = Exclude<
  keyof ReturnType<typeof createRedisBackends>,
  keyof BrokerOptions
>;
const backendKeysAreOptions: [BackendKeysNotOptions] extends [never]
  ? true
  : BackendKeysNotOptions = true;
void backendKeysAreOptions;

export async function startClusterBroker(
  redisUrl: string,
  opts: Partial<BrokerOptions> & { store: FakeStore; tokens: ReturnType<typeof createTokens> },
): Promise<TestBroker> {
  const client = createClient({ url: redisUrl });
  client.on('error', () => undefined);
  await client.connect();
  const events = createRedisAclEvents({ client });
  await events.ready();
  const t = await startTestBroker({ ...opts, events, ...createRedisBackends(redisUrl) });
  return {
    ...t,
    async close() {
      await t.close();
      await client.close().catch(() => undefined);
    },
  };
}

const fromFirstPacket = new WeakMap<MqttClient, ReturnType<typeof collect>>();

/** Every message a client made by {@link connect} received, from the first packet on. */
export function received(client: MqttClient): ReturnType<typeof collect> {
  const got = fromFirstPacket.get(client);
  if (!got) throw new Error('not a client made by connect()');
  return got;
}

/** Connect with mqtt.js; resolves once CONNACK 0 arrives, rejects with the return code otherwise. */
export async function connect(
  url: string,
  clientId: string,
  password: string,
  opts: Partial<IClientOptions> = {},
): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    clientId,
    username: clientId,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    clean: true,
    ...opts,
  });
  // Collect from the first packet: queued messages can arrive in the same read as the CONNACK.
  fromFirstPacket.set(client, collect(client));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timeout')), 6_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      client.once('error', (err: Error & { code?: number }) => {
        clearTimeout(timer);
        reject(err);
      });
      client.once('close', () => {
        clearTimeout(timer);
        reject(Object.assign(new Error('closed before CONNACK'), { code: -1 }));
      });
    });
  } catch (err) {
    client.end(true);
    throw err;
  }
  client.on('error', () => undefined);
  return client;
}

/** The CONNACK return code of a refused connect (or -1 when the broker just closed). */
export async function refusedCode(
  url: string,
  clientId: string,
  password: string,
  opts: Partial<IClientOptions> = {},
) {
  try {
    const c = await connect(url, clientId, password, opts);
    c.end(true);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

/** Subscribe and return the granted QoS list (128 = refused). */
export async function subscribe(
  client: MqttClient,
  topic: string | string[],
  qos: 0 | 1 | 2 = 1,
): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(topic, { qos });
    return granted.map((g) => g.qos);
  } catch (err) {
    // mqtt.js rejects when any filter got 0x80; the SUBACK is attached.
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted) return packet.granted;
    throw err;
  }
}

/** Collects messages per client. */
export function collect(client: MqttClient): { topic: string; payload: string; retain: boolean }[] {
  const out: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) =>
    out.push({ topic, payload: payload.toString(), retain: packet.retain }),
  );
  return out;
}

/** Resolves when the client's connection closes (bounded). */
export function closed(client: MqttClient, timeoutMs = 5_000): Promise<void> {
  if (!client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('still connected')), timeoutMs);
    client.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Try to publish; resolves `true` when acknowledged (QoS 1), `false` when the broker closed the connection. */
export async function tryPublish(
  client: MqttClient,
  topic: string,
  payload: string,
  opts: { retain?: boolean } = {},
) {
  return new Promise<boolean>((resolve) => {
    const onClose = () => resolve(false);
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (err) => {
      client.off('close', onClose);
      resolve(!err);
    });
  });
}

/** Sleep: only for a wait that is genuinely about time (a rate, a keepalive); never to synchronise. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run a command to completion (bounded), returning exit code and output. */
export function run(
  cmd: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

type Got = { topic: string; payload: string }[];
let markers = 0;

/**
 * A negative check without a sleep: `publisher` sends a unique marker on `topic` (one that every
 * list in `gots` hears) after whatever must not arrive, and this resolves once each list holds it
 * — the broker handles one connection's publishes in order, so anything the publisher sent before
 * the marker that was going to arrive has arrived. The markers are removed from the lists.
 */
export async function marker(publisher: MqttClient, topic: string, ...gots: Got[]): Promise<void> {
  const m = `marker-${++markers}`;
  if (!(await tryPublish(publisher, topic, m))) throw new Error(`marker refused on ${topic}`);
  await waitFor(() => gots.every((g) => g.some((x) => x.payload === m)), {
    what: `marker on ${topic}`,
  });
  for (const g of gots)
    g.splice(
      g.findIndex((x) => x.payload === m),
      1,
    );
}

/**
 * A negative check for persistent sessions, whose QoS 1 messages go through their queue (and a
 * queue at its cap turns a marker away): `publisher` sends a unique QoS 0 marker on `topic`, which
 * Aedes never queues, so no cap applies to it. It is delivered live after everything `publisher`
 * sent before it, and after a resuming session's stored queue (the broker holds live deliveries
 * until the queue is handed over, internal/resume.ts). Resolves with the marker once `heard`
 * reports it.
 */
export async function liveMarker(
  publisher: MqttClient,
  topic: string,
  heard: (payload: string) => boolean,
): Promise<string> {
  const m = `live-marker-${++markers}`;
  await publisher.publishAsync(topic, m, { qos: 0 });
  await waitFor(() => heard(m), { what: `live marker on ${topic}` });
  return m;
}

/**
 * Wait until subscribers hear what `publisher` sends on `topic` (a subscription made on another
 * broker has reached the publisher's, a session moved): publishes probes until one reaches every
 * list in `gots`; the probes are removed from the lists.
 */
export async function untilHeard(
  publisher: MqttClient,
  topic: string,
  ...gots: Got[]
): Promise<void> {
  const sent = new Set<string>();
  await waitFor(
    async () => {
      const m = `probe-${++markers}`;
      sent.add(m);
      await tryPublish(publisher, topic, m);
      return gots.every((g) => g.some((x) => sent.has(x.payload)));
    },
    // One probe per poll: the interval paces the probes.
    { what: `subscribers hearing ${topic}`, intervalMs: 50 },
  );
  await marker(publisher, topic, ...gots); // later probes, in flight now, have arrived too
  for (const g of gots) {
    for (let i = g.length - 1; i >= 0; i--) if (sent.has(g[i]!.payload)) g.splice(i, 1);
  }
}

/** Resolves once `broker` no longer counts `clientId` as connected (its side of a close). */
export function brokerDropped(broker: Broker, clientId: string): Promise<void> {
  return waitFor(() => !broker.connectedIdentities().some((i) => i.clientId === clientId), {
    what: `${clientId} gone from the broker`,
  });
}

/** The current value of a broker counter with these labels (0 when never counted). */
export async function counter(
  c: { get(): Promise<{ values: { labels: object; value: number }[] }> },
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await c.get();
  const hit = values.find((v) =>
    Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  );
  return hit?.value ?? 0;
}

/** Client ids with a stored (persistent-session) subscription to `topic` on `t`'s broker. */
export async function storedSubscribers(t: { broker: Broker }, topic: string): Promise<string[]> {
  const persistence = (
    t.broker.aedes as unknown as {
      persistence: { subscriptionsByTopic(topic: string): Promise<{ clientId: string }[]> };
    }
  ).persistence;
  return (await persistence.subscriptionsByTopic(topic)).map((s) => s.clientId);
}
