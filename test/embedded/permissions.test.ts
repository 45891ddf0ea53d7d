/**
 * `npm start` and what it leaves on disk and on the network (issue 15, docs/OPERATIONS.md
 * "Files on disk", "Metrics"), on real processes: a fresh data dir 0700 with the database and
 * signing key 0600; a world-readable database refused unless `--insecure-permissions`; no
 * `/metrics` on the public port, key-server and broker series on `--metrics-port` when asked.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.ts';
import { spawnStart, waitForBanner, type StartedProcess } from './helpers.ts';

const dirs: string[] = [];
const procs: StartedProcess[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sotto-perm-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

async function start(dataDir: string, extra: string[] = []): Promise<StartedProcess> {
  const p = spawnStart([
    '--port',
    String(await freePort()),
    '--mqtt-port',
    '0',
    '--data-dir',
    dataDir,
    '--web',
    'off',
    ...extra,
  ]);
  procs.push(p);
  return p;
}

const portOf = (p: StartedProcess): number => {
  const m = /Open http:\/\/localhost:(\d+)/.exec(p.output());
  if (!m) throw new Error(`no URL in the banner:\n${p.output()}`);
  return Number(m[1]);
};

describe('npm start: files on disk', () => {
  it('creates the data dir 0700 and the database and signing key 0600', async () => {
    const dataDir = join(tmp(), 'data');
    const p = await start(dataDir);
    await waitForBanner(p);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'keyserver.db'))).toBe(0o600);
    expect(mode(join(dataDir, 'jwt-ed25519.pem'))).toBe(0o600);
    expect(mode(join(dataDir, 'blobs'))).toBe(0o700);
  });

  it('refuses a world-readable keyserver.db with one clear line, and starts with --insecure-permissions', async () => {
    const dataDir = tmp();
    const db = join(dataDir, 'keyserver.db');
    writeFileSync(db, '');
    chmodSync(db, 0o644);
    const refused = await start(dataDir);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toContain(`refusing to start: secret file ${db} is mode 0644`);
    expect(refused.stderr()).toContain(`chmod 600 ${db}`);
    expect(refused.output()).not.toContain('Sotto is running');

    const allowed = await start(dataDir, ['--insecure-permissions']);
    await waitForBanner(allowed);
    expect(allowed.output()).toContain('insecure permissions accepted');
  });
});

describe('npm start: metrics', () => {
  it('serves no /metrics on the public port by default', async () => {
    const p = await start(tmp());
    await waitForBanner(p);
    const r = await fetch(`http://127.0.0.1:${portOf(p)}/metrics`);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('sotto_');
  });

  it('serves key-server and broker series on --metrics-port', async () => {
    const metricsPort = await freePort();
    const p = await start(tmp(), ['--metrics-port', String(metricsPort)]);
    await waitForBanner(p);
    expect(p.output()).toContain(`metrics    http://127.0.0.1:${metricsPort}/metrics`);
    expect((await fetch(`http://127.0.0.1:${portOf(p)}/metrics`)).status).toBe(404);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toContain('sotto_keyserver_http_requests_total');
    expect(text).toContain('sotto_broker_');
  });
});
