/**
 * The `sotto` CLI and the IoT bridge as separate processes against a real key
 * server and broker: register/login with clear exit codes, a state directory
 * of mode 0700/0600, a thing publishing with `mosquitto_pub` showing up
 * decrypted in the group, and a chat command reaching `mosquitto_sub` on the
 * thing's cmd topic.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, uname, until, type TestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'sotto.js');
let srv: TestServer;
let dir: string;
const children: ChildProcess[] = [];

function sotto(
  state: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--state', join(dir, state), '--server', srv.httpUrl, '--mqtt', srv.mqttUrl, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

/** A long-running process whose stdout and stderr lines are collected. */
function background(
  cmd: string,
  args: string[],
): { lines: string[]; errLines: string[]; child: ChildProcess } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const errLines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => {
    errLines.push(l);
    if (process.env.DEBUG_E2E) process.stderr.write(`${l}\n`);
  });
  return { lines, errLines, child };
}

const PW = ['--password', 'correct horse battery'];

beforeAll(async () => {
  srv = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'sotto-cli-'));
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sotto CLI', () => {
  it('registers into a private state directory and reports bad input with distinct exit codes', async () => {
    const alice = uname('alice');
    const reg = await sotto('alice', ['register', alice, ...PW]);
    expect(reg.code).toBe(0);
    expect(JSON.parse(reg.stdout)).toMatchObject({ username: alice, kind: 'user' });
    expect(statSync(join(dir, 'alice')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'alice', 'state.sqlite')).mode & 0o777).toBe(0o600);

    const wrong = await sotto('other', ['login', alice, '--password', 'not the password']);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('INVALID_CREDENTIALS');

    const unknown = await sotto('alice', ['send', uname('nobody'), 'hi']);
    expect(unknown.code).toBe(5);

    const down = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [BIN, '--state', join(dir, 'x'), '--server', 'http://127.0.0.1:9', 'login', alice, ...PW],
        (err, _o, stderr) =>
          resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
      ),
    );
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('unreachable');
  });

  it('bridges a thing: mosquitto_pub shows up decrypted in the group, a chat command reaches mosquitto_sub', async () => {
    const alice = uname('alice');
    const hub = uname('hub');
    expect((await sotto('a2', ['register', alice, ...PW])).code).toBe(0);
    expect((await sotto('hub', ['register', hub, ...PW, '--kind', 'bridge'])).code).toBe(0);
    const thing = await sotto('hub', ['thing', 'add', 'thermo']);
    expect(thing.code).toBe(0);
    const creds = JSON.parse(thing.stdout) as {
      clientId: string;
      username: string;
      password: string;
      topic: string;
    };
    expect(creds.topic).toBe(`iot/${hub}/thermo/#`);

    const created = await sotto('a2', ['groups', 'create', 'Home', hub]);
    expect(created.code).toBe(0);
    const { groupId } = JSON.parse(created.stdout) as { groupId: string };

    const listen = background(process.execPath, [BIN, '--state', join(dir, 'a2'), 'listen']);
    const bridge = background(process.execPath, [
      BIN,
      '--state',
      join(dir, 'hub'),
      'bridge',
      '--group',
      `group:${groupId}`,
      '--thing',
      'thermo',
    ]);
    await until(() => bridge.lines.some((l) => l.includes('bridge-ready')), 'bridge ready', 30_000);
    // `listen` reports `connection: online` once the broker granted its subscriptions.
    await until(() => listen.errLines.includes('connection: online'), 'listen subscribed', 30_000);

    const mq = [
      '-h',
      '127.0.0.1',
      '-p',
      String(srv.mqttPort),
      '-i',
      creds.clientId,
      '-u',
      creds.username,
      '-P',
      creds.password,
    ];
    await new Promise<void>((resolve, reject) =>
      execFile(
        'mosquitto_pub',
        [...mq, '-q', '1', '-t', `iot/${hub}/thermo/temp`, '-m', '21.5'],
        (err) => (err ? reject(new Error(`mosquitto_pub failed: ${err.message}`)) : resolve()),
      ),
    );
    await until(
      () => listen.lines.some((l) => l.includes('thermo/temp: 21.5')),
      'reading in the group',
      30_000,
    );
    const line = JSON.parse(listen.lines.find((l) => l.includes('thermo/temp: 21.5'))!) as Record<
      string,
      unknown
    >;
    expect(line).toMatchObject({
      type: 'message',
      conversation: `group:${groupId}`,
      from: hub,
      fromKind: 'bridge',
    });

    // The thing listens on its cmd topic with the stock client (a second connection id for the sub).
    // stdbuf -oL: line-buffered stdout, so the SUBACK line arrives when it is printed.
    const sub = background('stdbuf', [
      '-oL',
      'mosquitto_sub',
      ...mq,
      '-q',
      '1',
      '-t',
      `iot/${hub}/thermo/cmd`,
      '-C',
      '1',
      // -d prints the SUBACK: the subscription is in place before the command is sent.
      '-d',
    ]);
    await until(() => sub.lines.some((l) => l.includes('SUBACK')), 'thing subscribed', 30_000);
    // One process per state directory: stop the listener before sending from the same state.
    await new Promise<void>((resolve) => {
      listen.child.once('exit', () => resolve());
      listen.child.kill('SIGTERM');
    });
    const sent = await sotto('a2', ['send', `group:${groupId}`, '/thermo', 'set', '20']);
    expect(sent.code).toBe(0);
    await until(() => sub.lines.includes('set 20'), 'command at the thing', 30_000);
  });
});
