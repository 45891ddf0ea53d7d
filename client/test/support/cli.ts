/**
 * Run the `sotto` CLI (client/bin/sotto.js) as a separate process against a test server, with
 * its own state directory, optional stdin and environment; killed after 60 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startServer, type TestServer } from './server.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sotto.js');

/** Exit code and output of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one CLI run. */
export interface CliRunOptions {
  stdin?: string;
  env?: Record<string, string>;
  /** `--mqtt` URL (default: the test server's TCP listener); `null` leaves it out (discovery). */
  mqtt?: string | null;
}

/**
 * `sotto --state {dir}/{state} --server … --mqtt … ...args`. Password and broker variables are
 * cleared so a developer's environment never answers a prompt or picks the broker; pass them in
 * `o.env` when a test wants them.
 */
export function runSotto(
  at: { srv: TestServer; dir: string },
  state: string,
  args: string[],
  o: CliRunOptions = {},
): Promise<CliRun> {
  const mqtt = o.mqtt === undefined ? at.srv.mqttUrl : o.mqtt;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        '--state',
        join(at.dir, state),
        '--server',
        at.srv.httpUrl,
        ...(mqtt === null ? [] : ['--mqtt', mqtt]),
        ...args,
      ],
      {
        env: {
          ...process.env,
          SOTTO_PASSWORD: '',
          SOTTO_NEW_PASSWORD: '',
          SOTTO_MQTT: '',
          SOTTO_PASSPHRASE: '',
          ...o.env,
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(o.stdin ?? '');
  });
}

/**
 * For a file of CLI tests: a test server and a state folder (`{tmp}/{prefix}…`), made before the
 * file's tests and removed after them. `sotto(state, args)` runs the CLI there (`runSotto`);
 * `server()` is the running server.
 */
export function cliFixture(prefix: string, serverOptions: Parameters<typeof startServer>[0] = {}) {
  let srv: TestServer | undefined;
  let dir = '';
  beforeAll(async () => {
    srv = await startServer(serverOptions);
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await srv?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const server = (): TestServer => {
    if (!srv) throw new Error('the test server is not running');
    return srv;
  };
  return {
    server,
    /** The state folder of this file's tests. */
    dir: () => dir,
    sotto: (state: string, args: string[], o?: CliRunOptions) =>
      runSotto({ srv: server(), dir }, state, args, o),
  };
}
