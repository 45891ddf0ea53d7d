/**
 * Passwords for the CLI: from flags or the environment (config.ts), else one
 * line each from stdin (prompted on a terminal).
 */
import type { CliConfig } from './config.ts';
import { UsageError } from './exit.ts';

/** Read one line per prompt from stdin (each prompt shown on a terminal); missing lines are ''. */
async function readLines(prompts: string[]): Promise<string[]> {
  const lines: string[] = [];
  let buf = Buffer.alloc(0);
  const ask = (): void => {
    if (process.stdin.isTTY && lines.length < prompts.length)
      process.stderr.write(`${prompts[lines.length]}: `);
  };
  const take = (): void => {
    for (let i = buf.indexOf(10); i >= 0 && lines.length < prompts.length; i = buf.indexOf(10)) {
      lines.push(buf.subarray(0, i).toString('utf8').trim());
      buf = buf.subarray(i + 1);
      ask();
    }
  };
  ask();
  for await (const c of process.stdin) {
    buf = Buffer.concat([buf, c as Buffer]);
    take();
    if (lines.length === prompts.length) break;
  }
  if (lines.length < prompts.length && buf.length > 0) lines.push(buf.toString('utf8').trim());
  while (lines.length < prompts.length) lines.push('');
  return lines;
}

/** One line of stdin (prompted on a terminal). */
export async function readLine(prompt: string): Promise<string> {
  return (await readLines([prompt]))[0] ?? '';
}

/** The password: `--password` / `SOTTO_PASSWORD`, else the first line of stdin. */
export async function readPassword(cfg: CliConfig): Promise<string> {
  const line = cfg.password ?? (await readLines(['password']))[0];
  if (!line) throw new UsageError('a password is required (--password, SOTTO_PASSWORD or stdin)');
  return line;
}

/**
 * Current and new password for `sotto password`: `--password` / `SOTTO_PASSWORD` and
 * `--new-password` / `SOTTO_NEW_PASSWORD`; whichever is missing is read from stdin, one line
 * each, current first.
 */
export async function readPasswordChange(
  cfg: CliConfig,
  newFlag: string | undefined,
): Promise<{ current: string; next: string }> {
  let current = cfg.password;
  let next = newFlag ?? cfg.newPassword;
  const prompts = [
    ...(current === undefined ? ['current password'] : []),
    ...(next === undefined ? ['new password'] : []),
  ];
  if (prompts.length > 0) {
    const lines = await readLines(prompts);
    if (current === undefined) current = lines.shift();
    if (next === undefined) next = lines.shift();
  }
  if (!current) {
    throw new UsageError(
      'the current password is required (--password, SOTTO_PASSWORD or the first line of stdin)',
    );
  }
  if (!next) {
    throw new UsageError(
      'a new password is required (--new-password, SOTTO_NEW_PASSWORD or a line of stdin)',
    );
  }
  if (next.length < 8) throw new UsageError('the new password needs at least 8 characters');
  return { current, next };
}
