/**
 * The CLI finds the broker through the key server (`GET /.well-known/sotto`) when no `--mqtt` is
 * given — the test server's MQTT listener is on a random port, never 1883 — and says plainly on
 * stderr, with a non-zero exit, when the broker cannot be reached or a message was not delivered
 * within `--timeout`.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliFixture } from './support/cli.ts';
import { uname, until } from './support/server.ts';

const { server, sotto, dir } = cliFixture('sotto-cli-discovery-');
const PW = ['--password', 'correct horse battery'];
const BIN = join(import.meta.dirname, '..', 'bin', 'sotto.js');
const children: ReturnType<typeof spawn>[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A TCP port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** `sotto listen` in the background, without `--mqtt`; its stdout and stderr are collected. */
function listen(state: string, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [BIN, '--state', join(dir(), state), '--server', server().httpUrl, ...extra, 'listen'],
    { env: { ...process.env, SOTTO_MQTT: '', SOTTO_PASSWORD: '' } },
  );
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  return { child, out };
}

describe('sotto CLI broker discovery', () => {
  it('sends to a listener through the broker the server names, not port 1883', async () => {
    expect(server().mqttPort).not.toBe(1883);
    const alice = uname('alice');
    const bob = uname('bob');
    expect((await sotto('alice', ['register', alice, ...PW], { mqtt: null })).code).toBe(0);
    expect((await sotto('bob', ['register', bob, ...PW], { mqtt: null })).code).toBe(0);

    const l = listen('bob');
    await until(() => l.out.stderr.includes('connection: online'), 'bob online', 30_000);
    const sent = await sotto('alice', ['send', bob, 'found you', '--timeout', '30'], {
      mqtt: null,
    });
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ conversation: `dm:${bob}`, delivered: true });
    await until(() => l.out.stdout.includes('found you'), 'bob receives it');
    l.child.kill('SIGTERM');
  });

  it('exits 3 with the reason on stderr when the broker cannot be reached', async () => {
    const carol = uname('carol');
    expect((await sotto('carol', ['register', carol, ...PW])).code).toBe(0);
    const url = `mqtt://127.0.0.1:${await deadPort()}`;
    const started = Date.now();
    const r = await sotto('carol', ['send', carol, 'hello?', '--timeout', '3'], { mqtt: url });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the broker at ${url}`);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('exits 8 and says so when no device of the recipient confirms within --timeout', async () => {
    const dave = uname('dave');
    const erin = uname('erin');
    expect((await sotto('dave', ['register', dave, ...PW], { mqtt: null })).code).toBe(0);
    expect((await sotto('erin', ['register', erin, ...PW], { mqtt: null })).code).toBe(0);
    // Erin has no device online, so nothing can confirm delivery.
    const r = await sotto('dave', ['send', erin, 'are you there', '--timeout', '2'], {
      mqtt: null,
    });
    expect(r.code).toBe(8);
    expect(JSON.parse(r.stdout)).toMatchObject({ delivered: false });
    expect(r.stderr).toContain('not confirmed delivered within 2 s');
  });

  it('listen reports an unreachable broker on stderr and keeps retrying', async () => {
    const frank = uname('frank');
    expect((await sotto('frank', ['register', frank, ...PW])).code).toBe(0);
    const url = `mqtt://127.0.0.1:${await deadPort()}`;
    const l = listen('frank', ['--mqtt', url]);
    await until(
      () => l.out.stderr.includes(`sotto: cannot reach the broker at ${url}`),
      'the unreachable-broker message',
      30_000,
    );
    expect(l.out.stderr).toContain('ECONNREFUSED');
    expect(l.child.exitCode).toBeNull();
    l.child.kill('SIGTERM');
  });
});
