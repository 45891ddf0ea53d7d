/**
 * What the standalone key server keeps on disk, and where its metrics are, checked on real
 * processes (issue 15, docs/OPERATIONS.md "Files on disk", "Metrics"): a fresh data dir is
 * 0700 with the database and signing key 0600; a group- or world-readable data dir, database or
 * key stops the start with a message saying how to fix it, unless `--insecure-permissions`;
 * `/metrics` only on the metrics port or with the metrics token.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../test/support/ports.ts';
import { call, spawnKeyServer, startKeyServer, type KeyServerProcess } from './server-process.ts';

const dirs: string[] = [];
const running: Pick<KeyServerProcess, 'stop'>[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sotto-files-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

/** Spawn with `env` and expect a refusal: exit 1 and a message naming `path` and the fix. */
async function expectRefusal(env: Record<string, string>, path: string, fix: string) {
  const p = spawnKeyServer({ HOST: '127.0.0.1', PORT: String(await freePort()), ...env });
  running.push(p);
  expect(await p.exited).toBe(1);
  expect(p.output()).toContain('refusing to start');
  expect(p.output()).toContain(path);
  expect(p.output()).toContain(fix);
  expect(p.output()).toContain('--insecure-permissions');
}

describe('files on disk', () => {
  it('creates the data dir 0700 and the database and signing key 0600', async () => {
    const dataDir = join(tmp(), 'nested', 'data');
    const s = await startKeyServer({ DATA_DIR: dataDir });
    running.push(s);
    expect(
      (
        await call(`${s.url}/v1/accounts`, 'POST', {
          username: 'first',
          password: 'correct horse battery',
        })
      ).status,
    ).toBe(201);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'keyserver.db'))).toBe(0o600);
    expect(mode(join(dataDir, 'jwt-ed25519.pem'))).toBe(0o600);
    // SQLite gives its WAL the database's mode.
    expect(mode(join(dataDir, 'keyserver.db-wal'))).toBe(0o600);
  }, 60_000);

  it('refuses to start on a world-readable keyserver.db', async () => {
    const dataDir = tmp();
    const db = join(dataDir, 'keyserver.db');
    writeFileSync(db, '');
    chmodSync(db, 0o644);
    await expectRefusal({ DATA_DIR: dataDir }, db, `chmod 600 ${db}`);
  }, 60_000);

  it('refuses to start on a data dir that others can enter, and on a readable signing key', async () => {
    const open = tmp();
    chmodSync(open, 0o755);
    await expectRefusal({ DATA_DIR: open }, open, `chmod 700 ${open}`);
    const keyFile = join(tmp(), 'jwt.pem');
    writeFileSync(keyFile, 'not read before the check');
    chmodSync(keyFile, 0o640);
    await expectRefusal(
      { DATA_DIR: tmp(), JWT_KEY_FILE: keyFile },
      keyFile,
      `chmod 600 ${keyFile}`,
    );
  }, 60_000);

  it('starts anyway with --insecure-permissions or INSECURE_PERMISSIONS=1, and says so', async () => {
    for (const [env, args] of [
      [{}, ['--insecure-permissions']],
      [{ INSECURE_PERMISSIONS: '1' }, []],
    ] as const) {
      const dataDir = tmp();
      chmodSync(dataDir, 0o755);
      const s = await startKeyServer({ DATA_DIR: dataDir, ...env }, [...args]);
      running.push(s);
      expect(s.output()).toContain('insecure permissions accepted');
      expect(mode(dataDir)).toBe(0o755);
      await s.stop();
    }
  }, 120_000);
});

describe('metrics', () => {
  const TOKEN = 'metrics-token-for-the-test';

  it('serves /metrics on the metrics port only, not on the public one', async () => {
    const metricsPort = await freePort();
    const s = await startKeyServer({ DATA_DIR: tmp(), METRICS_PORT: String(metricsPort) });
    running.push(s);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
    const m = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('sotto_keyserver_http_requests_total');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/v1/users/x`)).status).toBe(404);
  }, 60_000);

  it('asks for the metrics token wherever /metrics is served when one is set', async () => {
    const metricsPort = await freePort();
    const s = await startKeyServer({
      DATA_DIR: tmp(),
      METRICS_PORT: String(metricsPort),
      METRICS_TOKEN: TOKEN,
    });
    running.push(s);
    for (const url of [`${s.url}/metrics`, `http://127.0.0.1:${metricsPort}/metrics`]) {
      expect((await fetch(url)).status).toBe(401);
      expect(
        (await fetch(url, { headers: { authorization: 'Bearer wrong-token-of-some-length' } }))
          .status,
      ).toBe(401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('sotto_keyserver_logins_total');
    }
  }, 60_000);
});
