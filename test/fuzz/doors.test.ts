/**
 * Bad input at every door of a running server (`npm start`, one real
 * process), for a fixed time budget (SOTTO_FUZZ_SECONDS, default 20 in CI):
 *
 * - HTTP: random JSON, wrong types, huge strings, invalid UTF-8, wrong
 *   content types, with and without a valid token, against every route →
 *   always a 4xx with the `{ error, message }` shape, never a 5xx;
 * - MQTT over TCP and WebSocket: random bytes, truncated fixed headers, bogus
 *   remaining lengths, invalid CONNECT packets → the connection is closed (or
 *   left waiting for bytes that never come), never a crash;
 * - throughout, an authenticated client keeps its connection and its messages
 *   flowing, and /healthz stays OK.
 *
 * Inputs come from a seeded PRNG (SOTTO_FUZZ_SEED) so a failure can be replayed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.ts';
import {
  connectDevice,
  endClient,
  signupAndLogin,
  spawnStart,
  waitForBanner,
  type Login,
  type StartedProcess,
} from '../embedded/helpers.ts';

const BUDGET_MS = Number(process.env.SOTTO_FUZZ_SECONDS ?? 20) * 1000;
const SEED = Number(process.env.SOTTO_FUZZ_SEED ?? Date.now() % 1_000_000);

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

/** A random JSON value, sometimes deep, sometimes huge, sometimes the right shape with wrong types. */
function randomJson(depth = 0): unknown {
  switch (int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return pick([0, -1, 1e308, -1e-308, 2 ** 53 + 1, 3.5, 65536, -0]);
    case 3:
      return pick([
        '',
        'a',
        'alice',
        '../../etc/passwd',
        '\u0000',
        '😀'.repeat(50),
        'A'.repeat(int(5000)),
      ]);
    case 4:
      return bytes(int(64)).toString('base64url');
    case 5:
      return { username: randomJson(4), password: randomJson(4), deviceId: randomJson(4) };
    case 6:
      return Array.from({ length: int(5) }, () => randomJson(depth + 1));
    case 7: {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < int(6); i++)
        o[
          pick([
            'record',
            'certificate',
            'signedPrekey',
            'kemPrekey',
            'oneTimePrekeys',
            'refreshToken',
            'name',
            '__proto__',
            'x',
          ])
        ] = randomJson(depth + 1);
      return o;
    }
    default: {
      let v: unknown = 1;
      for (let i = 0; i < 200; i++) v = [v];
      return v;
    }
  }
}

/** Every route of DESIGN.md §4.1 with plausible parameters. */
const ROUTES: [string, string][] = [
  ['POST', '/v1/accounts'],
  ['POST', '/v1/accounts/password'],
  ['POST', '/v1/sessions'],
  ['POST', '/v1/sessions/refresh'],
  ['DELETE', '/v1/sessions/current'],
  ['PUT', '/v1/devices/{dev}/keys'],
  ['GET', '/v1/devices/{dev}/keys/count'],
  ['GET', '/v1/users/{user}'],
  ['POST', '/v1/users/{user}/devices/{dev}/bundle'],
  ['POST', '/v1/groups'],
  ['GET', '/v1/groups/{group}'],
  ['POST', '/v1/groups/{group}/changes'],
  ['POST', '/v1/things'],
  ['DELETE', '/v1/things/{thing}'],
  ['POST', '/v1/blobs'],
  ['GET', '/v1/blobs/{blob}'],
  ['GET', '/v1/log/head'],
  ['GET', '/v1/log/proof'],
  ['GET', '/v1/log/consistency'],
  ['GET', '/v1/log/entries'],
  ['GET', '/v1/me/settings'],
  ['PUT', '/v1/me/settings'],
];

const PARAMS = ['fuzz_a', 'x', '', '%00', '..%2F..', 'a'.repeat(300), '%F0%28%8C%BC', 'dev1', '😀'];

describe(`bad input at every door (seed ${SEED}, ${BUDGET_MS / 1000} s)`, () => {
  let dataDir: string;
  let proc: StartedProcess;
  let base: string;
  let port: number;
  let mqttPort: number;
  let me: Login;
  let healthy: MqttClient;
  let healthyDrops = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sotto-fuzz-'));
    port = await freePort();
    mqttPort = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawnStart([
      '--port', String(port),
      '--mqtt-port', String(mqttPort),
      '--data-dir', dataDir,
      '--web', 'off',
    ]); // prettier-ignore
    await waitForBanner(proc);
    me = await signupAndLogin(base, 'fuzz_a', 'dev1');
    healthy = await connectDevice(`mqtt://127.0.0.1:${mqttPort}`, me);
    healthy.on('close', () => healthyDrops++);
    await healthy.subscribeAsync('sotto/v1/inbox/fuzz_a/dev1', { qos: 1 });
  });

  afterAll(async () => {
    if (healthy) await endClient(healthy);
    await proc?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The healthy client still gets its own message back. */
  async function roundTrip(tag: string): Promise<void> {
    const got = new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no round trip (${tag})`)), 5_000);
      healthy.once('message', (_t, p) => {
        clearTimeout(t);
        resolve(p.toString());
      });
    });
    await healthy.publishAsync('sotto/v1/inbox/fuzz_a/dev1', Buffer.from(tag), { qos: 1 });
    expect(await got).toBe(tag);
  }

  it('answers malformed HTTP requests with a 4xx error shape, never a 5xx', async () => {
    const deadline = Date.now() + BUDGET_MS / 2;
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let n = 0;
    while (Date.now() < deadline) {
      const [method, template] = pick(ROUTES);
      const path = template.replace(/\{\w+\}/g, () => pick(PARAMS));
      const query =
        rand() < 0.3 ? `?${pick(['size=-1', 'from=x&to=y', 'index=1e999', 'a[b]=c', '%ZZ'])}` : '';
      const headers: Record<string, string> = {};
      // Logging out would (correctly) end the healthy client's session; that route gets bad tokens only.
      const mayUseToken = !(method === 'DELETE' && path === '/v1/sessions/current');
      if (rand() < 0.6)
        headers.authorization = `Bearer ${rand() < 0.7 && mayUseToken ? me.accessToken : bytes(20).toString('base64')}`;
      let body: Buffer | string | undefined;
      if (method !== 'GET') {
        const kind = int(6);
        if (kind === 0) {
          headers['content-type'] = 'application/json';
          body = JSON.stringify(randomJson());
        } else if (kind === 1) {
          headers['content-type'] = 'application/json';
          body = Buffer.concat([
            Buffer.from('{"username":"'),
            Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
            Buffer.from('"}'),
          ]);
        } else if (kind === 2) {
          headers['content-type'] = 'application/json';
          body = `{"password":"${'x'.repeat(int(3) === 0 ? 2_000_000 : 20_000)}"}`;
        } else if (kind === 3) {
          headers['content-type'] = pick([
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
            'application/octet-stream',
          ]);
          body = bytes(int(2048));
        } else if (kind === 4) {
          headers['content-type'] = 'application/json';
          body = pick(['', '{', '[1,', 'nul', '{"a":1}}', '\u0000']);
        } else {
          headers['content-type'] = 'application/json';
          body = JSON.stringify({ ...(randomJson() as object), extra: 1 });
        }
      }
      let status = 0;
      let text = '';
      try {
        const res = await fetch(`${base}${path}${query}`, {
          method,
          headers,
          ...(body === undefined
            ? {}
            : { body: typeof body === 'string' ? body : new Uint8Array(body) }),
        });
        status = res.status;
        text = await res.text();
      } catch (err) {
        // The server answers 413 to a body over its limit without reading the rest and closes
        // the connection; a client still uploading may then see the reset before the answer.
        // That is a refusal, not a fault; anything else is.
        const code = (err as { cause?: { code?: string } }).cause?.code ?? '';
        const oversized = body !== undefined && body.length > 1024 * 1024;
        if (oversized && /ECONNRESET|EPIPE|UND_ERR_SOCKET/.test(code)) {
          statuses.set(0, (statuses.get(0) ?? 0) + 1);
          continue;
        }
        failures.push(`${method} ${path}: transport error ${(err as Error).message} ${code}`);
        continue;
      }
      n++;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 500)
        failures.push(`${method} ${path}${query} → ${status} ${text.slice(0, 200)}`);
      else if (status >= 400) {
        let shapeOk = false;
        try {
          const j = JSON.parse(text) as Record<string, unknown>;
          shapeOk = typeof j.error === 'string' && typeof j.message === 'string';
        } catch {
          shapeOk = false;
        }
        if (!shapeOk)
          failures.push(
            `${method} ${path} → ${status} without the error shape: ${text.slice(0, 120)}`,
          );
      }
    }
    console.log(`http fuzz: ${n} requests, statuses ${JSON.stringify([...statuses].sort())}`);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(n).toBeGreaterThan(20);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await roundTrip('after-http');
  });

  /** Send `data` on a raw TCP socket; resolve with whether the server closed it within `ms`. */
  function rawTcp(data: Buffer[], ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const s: Socket = tcpConnect({ host: '127.0.0.1', port: mqttPort });
      let closed = false;
      const t = setTimeout(() => {
        s.destroy();
        resolve(closed);
      }, ms);
      s.on('error', () => undefined);
      // Read (and drop) whatever the broker answers, e.g. a refusing CONNACK: a paused socket
      // would never see the end of the stream.
      s.on('data', () => undefined);
      s.on('close', () => {
        closed = true;
        clearTimeout(t);
        resolve(true);
      });
      s.on('connect', () => {
        for (const d of data) s.write(d);
      });
    });
  }

  /** A CONNECT packet with chosen fields (MQTT 3.1.1 layout), possibly inconsistent on purpose. */
  function connectPacket(o: {
    proto?: string;
    level?: number;
    flags?: number;
    clientId?: string;
    user?: string;
    pass?: string;
  }): Buffer {
    const str = (s: string) => {
      const b = Buffer.from(s);
      const l = Buffer.alloc(2);
      l.writeUInt16BE(b.length);
      return Buffer.concat([l, b]);
    };
    const flags =
      o.flags ?? (o.user !== undefined ? 0x80 : 0) | (o.pass !== undefined ? 0x40 : 0) | 0x02;
    const vh = Buffer.concat([str(o.proto ?? 'MQTT'), Buffer.from([o.level ?? 4, flags, 0, 60])]);
    const payload = Buffer.concat([
      str(o.clientId ?? 'fuzz_b:dev9'),
      ...(o.user !== undefined ? [str(o.user)] : []),
      ...(o.pass !== undefined ? [str(o.pass)] : []),
    ]);
    const body = Buffer.concat([vh, payload]);
    const len: number[] = [];
    let x = body.length;
    do {
      let d = x % 128;
      x = Math.floor(x / 128);
      if (x > 0) d |= 0x80;
      len.push(d);
    } while (x > 0);
    return Buffer.concat([Buffer.from([0x10, ...len]), body]);
  }

  /** CONNECT packets the broker must refuse, each named. */
  const invalidConnects = () => [
    { name: 'bad protocol name', packet: connectPacket({ proto: 'MQTX' }) },
    { name: 'protocol level 3', packet: connectPacket({ level: 3 }) },
    { name: 'protocol level 9', packet: connectPacket({ level: 9 }) },
    { name: 'reserved flag set', packet: connectPacket({ flags: 0x03 }) },
    { name: 'no credentials', packet: connectPacket({}) },
    {
      name: 'garbage token',
      packet: connectPacket({ user: 'fuzz_b:dev9', pass: 'not-a-token' }),
    },
    {
      name: 'clientId of another device',
      packet: connectPacket({
        user: 'fuzz_a:dev1',
        pass: me.accessToken,
        clientId: 'fuzz_a:other',
      }),
    },
    {
      name: 'token of another user',
      packet: connectPacket({
        user: 'someone:else',
        pass: me.accessToken,
        clientId: 'someone:else',
      }),
    },
    { name: 'empty clientId', packet: connectPacket({ clientId: '' }) },
    {
      // The healthy client's own clientId, without its token: no session takeover (DESIGN.md §4.2).
      name: 'takeover of a connected clientId with a bad token',
      packet: connectPacket({ user: 'fuzz_a:dev1', pass: 'not-a-token', clientId: 'fuzz_a:dev1' }),
    },
    { name: 'username without password', packet: connectPacket({ user: 'fuzz_b:dev9' }) },
  ];

  it('closes malformed MQTT connections over TCP and WebSocket and keeps serving a healthy client', async () => {
    const deadline = Date.now() + BUDGET_MS / 2;
    let attempts = 0;
    let invalidConnects_ = 0;
    let invalidClosed = 0;
    const stayedOpen = new Set<string>();
    // First each invalid CONNECT once on a fresh broker, then the random mix.
    for (const c of invalidConnects()) {
      invalidConnects_++;
      if (await rawTcp([c.packet], 3_000)) invalidClosed++;
      else stayedOpen.add(`${c.name} (fresh)`);
    }
    while (Date.now() < deadline) {
      attempts++;
      const kind = int(7);
      if (kind === 0) {
        await rawTcp([bytes(1 + int(512))], 150);
      } else if (kind === 1) {
        // Truncated fixed header: CONNECT type with a continuation bit and nothing after.
        await rawTcp([Buffer.from([0x10, 0x80])], 150);
      } else if (kind === 2) {
        // Remaining length beyond the 4-byte maximum, or a huge declared size.
        await rawTcp(
          [
            pick([
              Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]),
              Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]),
            ]),
          ],
          300,
        );
      } else if (kind === 3 || kind === 4) {
        invalidConnects_++;
        const pkt = pick(invalidConnects());
        if (await rawTcp([pkt.packet], 3_000)) invalidClosed++;
        else stayedOpen.add(pkt.name);
      } else if (kind === 5) {
        // Packets before CONNECT.
        await rawTcp(
          [Buffer.from([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x23, 0x00]), bytes(int(64))],
          300,
        );
      } else {
        await new Promise<void>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt');
          const t = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 300);
          ws.on('error', () => undefined);
          ws.on('open', () =>
            ws.send(rand() < 0.5 ? bytes(1 + int(300)) : connectPacket({ proto: 'XXXX' })),
          );
          ws.on('close', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      if (attempts % 25 === 0) await roundTrip(`during-mqtt-${attempts}`);
    }
    console.log(
      `mqtt fuzz: ${attempts} connections, ${invalidClosed}/${invalidConnects_} invalid CONNECTs closed by the broker`,
    );
    expect([...stayedOpen]).toEqual([]);
    expect(invalidClosed).toBe(invalidConnects_);
    expect(attempts).toBeGreaterThan(10);
    await roundTrip('after-mqtt');
    expect(healthyDrops).toBe(0);
    expect(healthy.connected).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(proc.child.exitCode).toBeNull();
  });
});
