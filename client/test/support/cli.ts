/**
 * Run the `sotto` CLI (client/bin/sotto.js) as a separate process against a test server, with
 * its own state directory, optional stdin and environment; killed after 60 s.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestServer } from './server.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'sotto.js');

/** Exit code and output of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `sotto --state {dir}/{state} --server … --mqtt … ...args`. Password variables are cleared so
 * a developer's environment never answers a prompt; pass them in `o.env` when a test wants them.
 */
export function runSotto(
  at: { srv: TestServer; dir: string },
  state: string,
  args: string[],
  o: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        '--state',
        join(at.dir, state),
        '--server',
        at.srv.httpUrl,
        '--mqtt',
        at.srv.mqttUrl,
        ...args,
      ],
      { env: { ...process.env, SOTTO_PASSWORD: '', SOTTO_NEW_PASSWORD: '', ...o.env } },
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
