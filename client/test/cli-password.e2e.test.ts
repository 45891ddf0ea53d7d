/**
 * `sotto password` as a separate process against a real key server: the current
 * and new passwords from flags, from the environment or from stdin; a wrong
 * current password exits 4 and changes nothing, a short new one exits 2, no
 * account exits 4; afterwards only the new password logs in.
 */
import { describe, expect, it } from 'vitest';
import { createHttpClient, isApiError } from '../src/http.ts';
import { cliFixture } from './support/cli.ts';
import { uname } from './support/server.ts';

const { server, sotto } = cliFixture('sotto-cli-pw-');

async function logsIn(username: string, password: string): Promise<boolean> {
  try {
    await createHttpClient({ baseUrl: server().httpUrl }).login(username, password);
    return true;
  } catch (err) {
    if (isApiError(err, 'INVALID_CREDENTIALS')) return false;
    throw err;
  }
}

describe('sotto password', () => {
  it('changes the password from flags, the environment and stdin, with clear exit codes', async () => {
    const user = uname('pw');
    const reg = await sotto('a', ['register', user, '--password', 'first password']);
    expect(reg.code, reg.stderr).toBe(0);

    // Wrong current password: exit 4, nothing changes.
    const wrong = await sotto('a', [
      'password',
      '--password',
      'nope',
      '--new-password',
      'x'.repeat(9),
    ]);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('INVALID_CREDENTIALS');
    expect(await logsIn(user, 'first password')).toBe(true);

    // Too short a new password: usage error before any request.
    const short = await sotto('a', [
      'password',
      '--password',
      'first password',
      '--new-password',
      'short',
    ]);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 8 characters');

    // Flags.
    const flags = await sotto('a', [
      'password',
      '--password',
      'first password',
      '--new-password',
      'second password',
    ]);
    expect(flags.code, flags.stderr).toBe(0);
    expect(JSON.parse(flags.stdout)).toEqual({ type: 'password-changed', username: user });
    expect(await logsIn(user, 'first password')).toBe(false);
    expect(await logsIn(user, 'second password')).toBe(true);

    // Environment.
    const env = await sotto('a', ['password'], {
      env: { SOTTO_PASSWORD: 'second password', SOTTO_NEW_PASSWORD: 'third password' },
    });
    expect(env.code, env.stderr).toBe(0);
    expect(await logsIn(user, 'third password')).toBe(true);

    // Stdin: current on the first line, new on the second.
    const stdin = await sotto('a', ['password'], { stdin: 'third password\nfourth password\n' });
    expect(stdin.code, stdin.stderr).toBe(0);
    expect(await logsIn(user, 'third password')).toBe(false);
    expect(await logsIn(user, 'fourth password')).toBe(true);

    // Current from the flag, new from stdin.
    const mixed = await sotto('a', ['password', '--password', 'fourth password'], {
      stdin: 'fifth password\n',
    });
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(await logsIn(user, 'fifth password')).toBe(true);

    // The device still works with the tokens it got from the change.
    const again = await sotto('a', ['password', '--password', 'fifth password'], {
      stdin: 'sixth password',
    });
    expect(again.code, again.stderr).toBe(0);
    expect(await logsIn(user, 'sixth password')).toBe(true);

    // No new password at all: usage.
    const missing = await sotto('a', ['password', '--password', 'sixth password']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('new password is required');
  });

  it('exits 4 without an account on this state directory', async () => {
    const r = await sotto('empty', [
      'password',
      '--password',
      'whatever1',
      '--new-password',
      'whatever2',
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('NOT_REGISTERED');
  });
});
