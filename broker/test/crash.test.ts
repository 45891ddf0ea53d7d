/**
 * A standalone broker process (`broker/src/server.ts`, cluster mode on a real
 * Redis, the key server's Redis store) killed with SIGKILL loses none of the
 * QoS 1 messages queued in Redis for an offline persistent session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRedisStore, type Store } from '@sotto/server-core/store';
import {
  closed,
  collect,
  connect,
  createTokens,
  liveMarker,
  subscribe,
  tryPublish,
} from './helpers.ts';
import { freePort, waitFor } from '../../test/support/ports.ts';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';

let redis: RedisProcess;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe('standalone broker process killed with SIGKILL', () => {
  let dir: string;
  let child: ChildProcess | null = null;
  let store: Store;
  const tokens = createTokens();
  let mqttPort: number;
  let wsPort: number;

  const startChild = async () => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', resolve(import.meta.dirname, '../src/server.ts')],
      {
        env: {
          ...process.env,
          REDIS_URL: redis.url,
          MQTT_PORT: String(mqttPort),
          PORT: String(wsPort),
          HOST: '127.0.0.1',
          JWT_PUBLIC_KEY_FILE: join(dir, 'jwt-public.pem'),
          JWT_ISSUER: 'sotto',
          JWT_AUDIENCE: 'sotto',
          BROKER_ID: 'killme',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout?.resume();
    child = proc;
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`broker exited: ${err}`);
        return fetch(`http://127.0.0.1:${wsPort}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 30_000, what: 'standalone broker' },
    );
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sotto-broker-'));
    writeFileSync(join(dir, 'jwt-public.pem'), tokens.issuer.publicKeyPem);
    store = await createRedisStore({ url: redis.url });
    for (const [u, d] of [
      ['dana', 'd1'],
      ['erin', 'e1'],
    ] as const) {
      await store.createUser({ username: u, passwordHash: 'unused', createdAt: Date.now() });
      await store.activateDevice(u, d);
    }
    mqttPort = await freePort();
    wsPort = await freePort();
    await startChild();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every QoS 1 message queued for an offline persistent session after a SIGKILL and restart', async () => {
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    const sub = await connect(url, 'dana:d1', tokens.token('dana', 'd1'), { clean: false });
    expect(await subscribe(sub, 'sotto/v1/inbox/dana/d1')).toEqual([1]);
    sub.end();
    await closed(sub);
    const pub = await connect(
      `ws://127.0.0.1:${wsPort}/mqtt`,
      'erin:e1',
      tokens.token('erin', 'e1'),
    );
    for (let i = 0; i < 10; i++)
      expect(await tryPublish(pub, 'sotto/v1/inbox/dana/d1', `m${i}`)).toBe(true);
    pub.end(true);

    const proc = child!;
    await new Promise<void>((r) => {
      proc.once('exit', () => r());
      proc.kill('SIGKILL');
    });
    await startChild();

    const back = await connect(url, 'dana:d1', tokens.token('dana', 'd1'), { clean: false });
    const got = collect(back);
    await waitFor(() => got.length >= 10, {
      timeoutMs: 10_000,
      what: 'queued messages after restart',
    });
    // No duplicate follows: a live marker sent now comes after the whole stored queue.
    const again = await connect(url, 'erin:e1', tokens.token('erin', 'e1'));
    const m = await liveMarker(again, 'sotto/v1/inbox/dana/d1', (p) =>
      got.some((x) => x.payload === p),
    );
    expect(got.map((x) => x.payload)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `m${i}`),
      m,
    ]);
    again.end(true);
    back.end(true);
  });
});
