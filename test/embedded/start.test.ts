/**
 * `npm start` as a newcomer runs it: one real process (scripts/start.ts) on
 * random ports with a temporary data dir. Health, the web client, MQTT over
 * WebSocket and TCP with a real token, persistence across a restart, the
 * one-line error for a busy port, and a clean SIGTERM.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.ts';
import {
  connectDevice,
  endClient,
  login,
  ROOT,
  signupAndLogin,
  spawnStart,
  waitForBanner,
  type StartedProcess,
} from './helpers.ts';

const webBuilt = existsSync(join(ROOT, 'web-client', 'dist', 'index.html'));

describe('npm start (embedded mode)', () => {
  let dataDir: string;
  let port: number;
  let mqttPort: number;
  let proc: StartedProcess;
  let base: string;
  const clients: MqttClient[] = [];

  const args = () => [
    '--port',
    String(port),
    '--mqtt-port',
    String(mqttPort),
    '--data-dir',
    dataDir,
    '--web',
    'prebuilt',
  ];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sotto-start-'));
    port = await freePort();
    mqttPort = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawnStart(args());
    await waitForBanner(proc);
  });

  afterAll(async () => {
    await Promise.all(clients.map(endClient));
    await proc?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URL to open and answers /healthz', async () => {
    expect(proc.output()).toContain(`Open http://localhost:${port}`);
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it.skipIf(!webBuilt)(
    'serves the web client, with index.html for client-side routes',
    async () => {
      const index = await fetch(`${base}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toContain('text/html');
      expect(await index.text()).toContain('<html');
      const deep = await fetch(`${base}/conversations/some-id`);
      expect(deep.status).toBe(200);
      expect(await deep.text()).toContain('<html');
      // API paths never fall back to the page.
      const api = await fetch(`${base}/v1/does-not-exist`);
      expect(api.status).toBe(404);
      expect(await api.json()).toMatchObject({ error: 'NOT_FOUND' });
    },
  );

  it('relays a message between an authenticated WebSocket client and a TCP client', async () => {
    const alice = await signupAndLogin(base, 'alice_embed', 'laptop');
    const bob = await signupAndLogin(base, 'bob_embed', 'phone');
    const ws = await connectDevice(`ws://127.0.0.1:${port}/mqtt`, alice);
    const tcp = await connectDevice(`mqtt://127.0.0.1:${mqttPort}`, bob);
    clients.push(ws, tcp);
    await tcp.subscribeAsync('sotto/v1/inbox/bob_embed/phone', { qos: 1 });
    const got = new Promise<Buffer>((resolve) => tcp.once('message', (_t, p) => resolve(p)));
    const payload = Buffer.from([1, 2, 3, 250, 0, 7]);
    await ws.publishAsync('sotto/v1/inbox/bob_embed/phone', payload, { qos: 1 });
    expect(Buffer.compare(await got, payload)).toBe(0);
  });

  it('refuses an MQTT client without a valid token', async () => {
    await expect(
      connectDevice(`mqtt://127.0.0.1:${mqttPort}`, {
        username: 'alice_embed',
        deviceId: 'laptop',
        accessToken: 'not-a-token',
        refreshToken: '',
      }),
    ).rejects.toThrow();
  });

  it('keeps accounts across a restart and checkpoints SQLite on SIGTERM', async () => {
    await Promise.all(clients.splice(0).map(endClient));
    const code = await proc.stop();
    expect(code).toBe(0);
    expect(proc.output()).toContain('stopped cleanly');
    const wal = join(dataDir, 'keyserver.db-wal');
    // A clean close checkpoints the WAL into the database file and removes it.
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);

    proc = spawnStart(args());
    await waitForBanner(proc);
    const again = await login(base, 'alice_embed', 'laptop');
    expect(again.accessToken).toMatch(/^ey/);
  });

  it('names the option to change when the port is in use, and exits 1', async () => {
    const blocker: Server = createServer();
    const busy = await freePort();
    await new Promise<void>((r) => blocker.listen(busy, '127.0.0.1', () => r()));
    try {
      const other = mkdtempSync(join(tmpdir(), 'sotto-start-busy-'));
      const p = spawnStart([
        '--port',
        String(busy),
        '--mqtt-port',
        '0',
        '--data-dir',
        other,
        '--web',
        'off',
      ]);
      expect(await p.exited).toBe(1);
      const lines = p.stderr().trim().split('\n');
      expect(lines).toEqual([`port ${busy} is in use: choose another with --port or PORT`]);
      rmSync(other, { recursive: true, force: true });

      const other2 = mkdtempSync(join(tmpdir(), 'sotto-start-busy-'));
      const q = spawnStart([
        '--port',
        String(await freePort()),
        '--mqtt-port',
        String(busy),
        '--data-dir',
        other2,
        '--web',
        'off',
      ]);
      expect(await q.exited).toBe(1);
      expect(q.stderr().trim()).toBe(
        `port ${busy} is in use: choose another with --mqtt-port or MQTT_PORT`,
      );
      rmSync(other2, { recursive: true, force: true });
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('refuses an invalid option with one line and exit code 1', async () => {
    const p = spawnStart(['--mqtt-port', 'seventy']);
    expect(await p.exited).toBe(1);
    expect(p.stderr().trim().split('\n')).toHaveLength(1);
    expect(p.stderr()).toContain('mqttPort');
    const q = spawnStart(['--no-such-option', 'x']);
    expect(await q.exited).toBe(1);
    expect(q.stderr()).toMatch(/no-such-option/);
  });

  it('lists its options with --help', async () => {
    const p = spawnStart(['--help']);
    expect(await p.exited).toBe(0);
    for (const opt of [
      '--port',
      '--host',
      '--mqtt-port',
      '--data-dir',
      '--public-url',
      '--redis-url',
      '--tls-cert',
      '--tls-key',
    ])
      expect(p.output()).toContain(opt);
  });
});
