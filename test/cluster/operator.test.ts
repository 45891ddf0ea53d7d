/**
 * The cluster as an operator meets it (issue 21): one URL in front (Debian's nginx configured
 * from deploy/nginx.conf) that serves the web client, the API and MQTT over WebSocket and TCP;
 * attachments uploaded through one key server download through the other (one blob folder);
 * and children that crash — a broker, a key server, Redis — are restarted with backoff and
 * reported, while members stopped on purpose stay stopped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster, type SupervisorEvent } from '../../scripts/cluster-lib.ts';
import { ensureWebClient } from '../../scripts/web-assets.ts';
import { inboxTopic } from '@sotto/crypto/wire';
import { freePort, waitFor } from '../support/ports.ts';
import {
  connectDevice,
  endClient,
  FAST_KEYSERVER_ENV,
  ROOT,
  signupAndLogin,
  spawnNode,
} from '../embedded/helpers.ts';
import { idOf, tagged } from './helpers.ts';

describe('npm run cluster: one URL, shared blobs, supervised children', () => {
  let cluster: Cluster;
  const events: SupervisorEvent[] = [];

  beforeAll(async () => {
    const web = ensureWebClient({ build: true, log: () => undefined });
    if (!web.ok) throw new Error(`web client: ${web.reason}`);
    cluster = await startCluster({
      keyserverEnv: FAST_KEYSERVER_ENV,
      readyTimeoutMs: 90_000,
      supervise: true,
      backoff: { firstMs: 100 },
      onSupervisorEvent: (e) => events.push(e),
      front: { webRoot: web.dir },
    });
  }, 400_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves the web client, the API and MQTT (WebSocket and TCP) on one front', async () => {
    const front = cluster.frontUrl as string;
    expect(front).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await fetch(`${front}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<sotto-app/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src/);
    // A client-side route is the SPA's index too, not a 404.
    expect((await fetch(`${front}/chats/someone`)).status).toBe(200);

    const a = await signupAndLogin(front, 'op_alice', 'd1');
    const b = await signupAndLogin(front, 'op_bob', 'd1');
    const ws = await connectDevice(`${front.replace(/^http/, 'ws')}/mqtt`, a, { clean: true });
    const tcp = await connectDevice(cluster.frontMqttUrl as string, b, { clean: true });
    try {
      const got: string[] = [];
      tcp.on('message', (_t, p) => got.push(idOf(p)));
      await tcp.subscribeAsync(inboxTopic(b.username, b.deviceId), { qos: 1 });
      await ws.publishAsync(inboxTopic(b.username, b.deviceId), tagged('via-front'), { qos: 1 });
      await waitFor(() => got.includes('via-front'), { timeoutMs: 5_000, what: 'the message' });
    } finally {
      await Promise.all([ws, tcp].map(endClient));
    }
  });

  it('downloads through key server 2 a file uploaded through key server 1', async () => {
    const [ks1, ks2] = cluster.keyserverUrls as [string, string];
    const owner = await signupAndLogin(ks1, 'op_uploader', 'd1');
    const reader = await signupAndLogin(ks2, 'op_reader', 'd1');
    const bytes = randomBytes(200_000);
    const up = await fetch(`${ks1}/v1/blobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${owner.accessToken}`,
        'content-type': 'application/octet-stream',
      },
      body: bytes,
    });
    expect(up.status).toBe(201);
    const { id } = (await up.json()) as { id: string };
    const down = await fetch(`${ks2}/v1/blobs/${id}`, {
      headers: { authorization: `Bearer ${reader.accessToken}` },
    });
    expect(down.status).toBe(200);
    expect(Buffer.from(await down.arrayBuffer()).equals(bytes)).toBe(true);
  });

  /** SIGKILL a member behind the launcher's back and wait for the supervisor to bring it back. */
  const crash = async (name: string) => {
    const member = cluster.members.get(name);
    const pid = member?.pid();
    if (!member || !pid) throw new Error(`${name} is not running`);
    const before = cluster.restarts(name);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => cluster.restarts(name) === before + 1 && member.running(), {
      timeoutMs: 60_000,
      what: `${name} restarted`,
    });
    expect(member.pid()).not.toBe(pid);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'exited', name, signal: 'SIGKILL' }),
    );
    expect(events).toContainEqual(expect.objectContaining({ type: 'restarted', name }));
  };

  it('restarts a crashed broker, key server and Redis, and reports each', async () => {
    await crash('broker2');
    await crash('keyserver2');
    await crash('redis');
    // Everything answers again, through the front and directly.
    const front = cluster.frontUrl as string;
    const c = await signupAndLogin(front, 'op_after', 'd1');
    const client = await connectDevice(cluster.brokerMqttUrls[1] as string, c, { clean: true });
    await endClient(client);
  });

  it('backs off when a child keeps crashing', async () => {
    // Two crashes in quick succession: the second restart waits longer than the first.
    const delays = () =>
      events
        .filter((e) => e.type === 'exited' && e.name === 'broker1')
        .map((e) => (e as { restartInMs: number }).restartInMs);
    await crash('broker1');
    await crash('broker1');
    const [first, second] = delays();
    expect(first).toBe(100);
    expect(second).toBe(200);
  });

  it('leaves a member stopped on purpose stopped', async () => {
    const before = cluster.restarts('keyserver1');
    const seen = events.length;
    await cluster.kill('keyserver1', 'SIGTERM');
    // The supervisor decides when the exit is reported, before `kill` resolves: no event.
    expect(events.slice(seen)).toEqual([]);
    expect(cluster.members.get('keyserver1')?.running()).toBe(false);
    expect(cluster.restarts('keyserver1')).toBe(before);
    await cluster.restart('keyserver1');
  });
});

describe('the npm run cluster launcher', () => {
  const launcher = (args: string[], env: Record<string, string> = {}) =>
    spawnNode(['--import', 'tsx', join(ROOT, 'scripts', 'cluster.ts'), ...args], {
      ...FAST_KEYSERVER_ENV,
      ...env,
    });

  it('prints one URL on the --port it was given, serving the web client; Ctrl-C stops every child', async () => {
    const [port, mqttPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'sotto-launcher-'));
    const p = launcher([
      '--port',
      String(port),
      '--mqtt-port',
      String(mqttPort),
      '--dir',
      dir,
      '--quiet',
      '--brokers',
      '1',
      '--keyservers',
      '1',
    ]);
    try {
      await waitFor(
        () => {
          if (p.child.exitCode !== null) throw new Error(`launcher exited:\n${p.output()}`);
          return p.output().includes('Ctrl-C stops everything');
        },
        { timeoutMs: 120_000, what: 'the launcher banner' },
      );
      const urls = p.output().match(/https?:\/\/[^\s/]+\/(?=\s|$)/gm) ?? [];
      expect(p.output()).toContain(`Open http://127.0.0.1:${port}/`);
      expect(urls).toEqual([`http://127.0.0.1:${port}/`]);
      expect(p.output()).toContain(`mqtt://127.0.0.1:${mqttPort}`);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<sotto-app/);
    } finally {
      p.child.kill('SIGINT');
      expect(await p.exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
    // Every member went with it: nothing answers on the front any more.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('says how to get nginx when it is missing', async () => {
    const p = launcher(['--quiet'], { SOTTO_NGINX: '/nonexistent/nginx' });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(/nginx is not installed/);
    expect(p.stderr()).toMatch(/apt-get install nginx libnginx-mod-stream/);
    expect(p.stderr()).toMatch(/--no-front/);
  });
});
