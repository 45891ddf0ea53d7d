/**
 * `sotto link show` / `sotto link approve` as separate processes against a
 * real key server and broker: the new state directory gets linked to an
 * account created in another one, and then receives that user's DMs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, uname, until, type TestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'sotto.js');
let srv: TestServer;
let dir: string;
const children: ChildProcess[] = [];
const PW = ['--password', 'correct horse battery'];

function args(state: string, rest: string[]): string[] {
  return [
    BIN,
    '--state',
    join(dir, state),
    '--server',
    srv.httpUrl,
    '--mqtt',
    srv.mqttUrl,
    ...rest,
  ];
}

function sotto(
  state: string,
  rest: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args(state, rest), { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** A long-running `sotto` whose stdout and stderr lines are collected. */
function background(
  state: string,
  rest: string[],
): { lines: string[]; errLines: string[]; child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, args(state, rest), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const errLines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  createInterface({ input: child.stderr }).on('line', (l) => {
    errLines.push(l);
    if (process.env.DEBUG_E2E) process.stderr.write(`${l}\n`);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { lines, errLines, child, exited };
}

beforeAll(async () => {
  srv = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'sotto-cli-link-'));
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sotto link', () => {
  it('links a second state directory with link show / link approve; it then receives DMs', async () => {
    const alice = uname('alice');
    const bob = uname('bob');
    expect((await sotto('a1', ['register', alice, ...PW])).code).toBe(0);
    expect((await sotto('bob', ['register', bob, ...PW])).code).toBe(0);
    // History worth copying: a DM. Bob has no device online, so it is not confirmed (exit 8).
    const unconfirmed = await sotto('a1', ['send', bob, 'before linking', '--timeout', '3']);
    expect(unconfirmed.code).toBe(8);
    expect(unconfirmed.stderr).toContain('not confirmed delivered within 3 s');

    const login = await sotto('a2', ['login', alice, ...PW]);
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('LINK_REQUIRED');
    expect(login.stderr).toContain('sotto link show');

    const show = background('a2', ['link', 'show', alice, ...PW]);
    await until(() => show.lines.length >= 1, 'the link code is printed', 30_000);
    const first = JSON.parse(show.lines[0]!) as { type: string; code: string };
    expect(first.type).toBe('link-code');

    expect((await sotto('a1', ['link', 'approve', 'garbage'])).code).toBe(2);
    const approve = await sotto('a1', ['link', 'approve', first.code]);
    expect(approve.stderr).toBe('');
    expect(approve.code).toBe(0);
    expect(await show.exited).toBe(0);
    const linked = JSON.parse(show.lines[1]!) as {
      type: string;
      username: string;
      deviceId: string;
    };
    expect(linked).toMatchObject({
      type: 'linked',
      username: alice,
      history: { status: 'imported', imported: 1, skipped: 0, omitted: 0 },
    });
    expect(JSON.parse(approve.stdout)).toEqual({
      type: 'linked',
      deviceId: linked.deviceId,
      history: { count: 1, omitted: 0 },
    });

    // --no-history: a third device gets no messages.
    const show3 = background('a3', ['link', 'show', alice, ...PW]);
    await until(() => show3.lines.length >= 1, 'the third link code is printed', 30_000);
    const code3 = (JSON.parse(show3.lines[0]!) as { code: string }).code;
    const approve3 = await sotto('a1', ['link', 'approve', code3, '--no-history']);
    expect(approve3.code).toBe(0);
    expect(JSON.parse(approve3.stdout)).toMatchObject({ type: 'linked', history: null });
    expect(await show3.exited).toBe(0);
    expect(JSON.parse(show3.lines[1]!)).toMatchObject({ history: { status: 'none' } });

    // The linked state directory is a full device of alice: it receives bob's DM.
    const listen = background('a2', ['listen']);
    // `listen` says `connection: online` once subscribed: only then can it confirm delivery.
    await until(() => listen.errLines.includes('connection: online'), 'listen is online', 30_000);
    // Generous: a2 confirms at once, but the command waits out the timeout for alice's devices
    // that are not running (a1, a3), and on a loaded machine starting the process alone takes
    // seconds.
    const sent = await sotto('bob', ['send', alice, 'hello second device', '--wait', '10']);
    expect(sent.code).toBe(0);
    await until(
      () => listen.lines.some((l) => l.includes('hello second device')),
      'the linked device prints the DM',
      30_000,
    );
    const line = JSON.parse(listen.lines.find((l) => l.includes('hello second device'))!) as {
      from: string;
      conversation: string;
    };
    expect(line).toMatchObject({ from: bob, conversation: `dm:${bob}` });
  });
});
