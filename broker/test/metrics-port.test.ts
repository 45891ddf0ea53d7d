/**
 * Where the standalone broker process (`broker/src/server.ts`) serves Prometheus metrics (issue
 * 15, docs/OPERATIONS.md "Metrics"): not on its public WebSocket port, but on `METRICS_PORT`
 * (for an internal network), and on the WebSocket port only with `METRICS_TOKEN`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTokens } from './helpers.ts';
import { freePort, waitFor } from '../../test/support/ports.ts';

let dir: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sotto-broker-metrics-'));
  writeFileSync(join(dir, 'jwt-public.pem'), createTokens().issuer.publicKeyPem);
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await gone;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Start a broker (SQLite store in the temp dir, no TCP) and wait for its /healthz. */
async function startBroker(env: Record<string, string>): Promise<{ ws: string }> {
  const wsPort = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, '../src/server.ts')],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: String(wsPort),
        MQTT_PORT: '0',
        DATA_DIR: dir,
        JWT_PUBLIC_KEY_FILE: join(dir, 'jwt-public.pem'),
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const ws = `http://127.0.0.1:${wsPort}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`broker exited: ${out}`);
      return fetch(`${ws}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    { timeoutMs: 30_000, what: 'standalone broker' },
  );
  return { ws };
}

describe('standalone broker metrics', () => {
  it('serves /metrics on METRICS_PORT, not on the WebSocket port', async () => {
    const metricsPort = await freePort();
    const { ws } = await startBroker({ METRICS_PORT: String(metricsPort) });
    expect((await fetch(`${ws}/metrics`)).status).toBe(404);
    const m = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('sotto_broker_connections');
  });

  it('serves /metrics on the WebSocket port only to the METRICS_TOKEN bearer', async () => {
    const token = 'broker-metrics-token-for-tests';
    const { ws } = await startBroker({ METRICS_TOKEN: token });
    expect((await fetch(`${ws}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${ws}/metrics`, {
      headers: { authorization: 'Bearer not-the-broker-metrics-token' },
    });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${ws}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('sotto_broker_connections');
  });
});
