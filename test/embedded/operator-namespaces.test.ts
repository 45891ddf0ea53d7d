/**
 * Operator namespaces from the command line (issue 20, docs/OPERATIONS.md "Operator
 * namespaces"): `npm start -- --policy-file F --password-file P --allow-anonymous` and the
 * standalone broker with POLICY_FILE / PASSWORD_FILE / ALLOW_ANONYMOUS read Mosquitto's files, and
 * mosquitto_pub / mosquitto_sub work against them; a bad policy line stops start-up.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenIssuer, generateSigningKey } from '@sotto/server-core/tokens';
import { freePort, waitFor } from '../support/ports.ts';
import { spawnNode, spawnStart, waitForBanner, ROOT, type StartedProcess } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'sotto-operator-start-'));
const policyFile = join(dir, 'acl');
const passwordFile = join(dir, 'passwd');
const procs: StartedProcess[] = [];

function run(cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

beforeAll(async () => {
  writeFileSync(
    policyFile,
    [
      'topic read public/#',
      'topic write public/anon/#',
      'user op1',
      'topic readwrite lab/#',
      '',
    ].join('\n'),
  );
  expect((await run('mosquitto_passwd', ['-c', '-b', passwordFile, 'op1', 's3cret'])).code).toBe(0);
});
afterAll(async () => {
  for (const p of procs) await p.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A subscriber (mosquitto_sub) and a publisher (mosquitto_pub) meet through the broker on `port`. */
async function roundTrip(port: number): Promise<void> {
  const base = ['-h', '127.0.0.1', '-p', String(port), '-q', '1'];
  const sub = spawn(
    'mosquitto_sub',
    [...base, '-u', 'op1', '-P', 's3cret', '-t', 'lab/#', '-C', '1', '-W', '20'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let got = '';
  sub.stdout.on('data', (d: Buffer) => (got += d.toString()));
  const done = new Promise<number | null>((r) => sub.on('close', (c) => r(c)));
  // Publish until the subscriber has its subscription and hears one.
  await waitFor(
    async () => {
      const r = await run('mosquitto_pub', [
        ...base,
        '-u',
        'op1',
        '-P',
        's3cret',
        '-t',
        'lab/x',
        '-m',
        'hello',
      ]);
      expect(r.code).toBe(0);
      return got.includes('hello');
    },
    { what: 'op1 hears op1', timeoutMs: 20_000, intervalMs: 200 },
  );
  expect(await done).toBe(0);
  // Anonymous: admitted to its own rules, refused beyond them.
  expect((await run('mosquitto_pub', [...base, '-t', 'public/anon/x', '-m', 'hi'])).code).toBe(0);
  expect((await run('mosquitto_pub', [...base, '-t', 'lab/x', '-m', 'hi'])).code).not.toBe(0);
  expect(
    (await run('mosquitto_pub', [...base, '-u', 'op1', '-P', 'wrong', '-t', 'lab/x', '-m', 'x']))
      .code,
  ).not.toBe(0);
}

describe('operator namespaces from the command line', () => {
  it('npm start -- --policy-file --password-file --allow-anonymous', async () => {
    const mqttPort = await freePort();
    const p = spawnStart([
      '--port',
      String(await freePort()),
      '--mqtt-port',
      String(mqttPort),
      '--data-dir',
      join(dir, 'data'),
      '--web',
      'off',
      '--policy-file',
      policyFile,
      '--password-file',
      passwordFile,
      '--allow-anonymous',
    ]);
    procs.push(p);
    await waitForBanner(p);
    await roundTrip(mqttPort);
  }, 90_000);

  it('the standalone broker with POLICY_FILE, PASSWORD_FILE and ALLOW_ANONYMOUS', async () => {
    const brokerDir = join(dir, 'broker');
    const key = generateSigningKey();
    mkdirSync(brokerDir);
    writeFileSync(
      join(brokerDir, 'jwt-public.pem'),
      createTokenIssuer({ privateKey: key, issuer: 'sotto', audience: 'sotto' }).publicKeyPem,
    );
    const mqttPort = await freePort();
    const p = spawnNode(['--import', 'tsx', join(ROOT, 'broker', 'src', 'server.ts')], {
      HOST: '127.0.0.1',
      PORT: '0',
      MQTT_PORT: String(mqttPort),
      DATA_DIR: brokerDir,
      LOG_LEVEL: 'info',
      POLICY_FILE: policyFile,
      PASSWORD_FILE: passwordFile,
      ALLOW_ANONYMOUS: 'true',
    });
    procs.push(p);
    await waitFor(
      () => {
        if (p.child.exitCode !== null) throw new Error(p.output());
        return p.output().includes('broker listening');
      },
      { what: 'standalone broker', timeoutMs: 30_000 },
    );
    await roundTrip(mqttPort);
  }, 90_000);

  it('a policy line Mosquitto would not accept, or one naming sotto/, stops start-up with the line', async () => {
    const bad = join(dir, 'bad-acl');
    writeFileSync(bad, 'user op1\ntopic readwrite sotto/v1/#\n');
    const p = spawnStart([
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--data-dir',
      join(dir, 'data2'),
      '--web',
      'off',
      '--policy-file',
      bad,
    ]);
    procs.push(p);
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toMatch(/policy line 2/);
    const anonymousAlone = spawnStart(['--port', '0', '--web', 'off', '--allow-anonymous']);
    procs.push(anonymousAlone);
    expect(await anonymousAlone.exited).not.toBe(0);
    expect(anonymousAlone.output()).toMatch(/--policy-file/);
  }, 90_000);
});
