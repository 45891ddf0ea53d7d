/**
 * `sotto admin` and `sotto block` as separate processes against a real server whose first
 * operator came from `--create-operator` (issue 17): the operator bans and unbans, closes a room
 * id that does not exist (typed 404), reads the log; a user who is not an operator is refused
 * with OPERATOR_REQUIRED and a non-zero exit; a user blocks and unblocks another.
 */
import { describe, expect, it } from 'vitest';
import { createHttpClient, isApiError } from '../src/http.ts';
import { cliFixture } from './support/cli.ts';
import { uname } from './support/server.ts';

const OPERATOR = uname('op');
const lines: string[] = [];
const { server, sotto } = cliFixture('sotto-cli-admin-', {
  args: ['--create-operator', OPERATOR],
  log: (l) => lines.push(l),
});

describe('sotto admin', () => {
  it('lets the start-up operator ban and unban, and refuses everyone else', async () => {
    const pw = /operator: created \S+ with password (\S+)/.exec(lines.join('\n'))?.[1];
    expect(pw).toBeDefined();
    const login = await sotto('op', ['login', OPERATOR, `--password=${pw!}`]);
    expect(login.code, login.stderr).toBe(0);
    const m = uname('mal');
    expect((await sotto('m', ['register', m, '--password', 'mallory password'])).code).toBe(0);

    const ban = await sotto('op', ['admin', 'ban', m, 'spam', 'links']);
    expect(ban.code, ban.stderr).toBe(0);
    expect(JSON.parse(ban.stdout)).toMatchObject({
      username: m,
      by: OPERATOR,
      reason: 'spam links',
    });
    await expect(
      createHttpClient({ baseUrl: server().httpUrl }).login(m, 'mallory password'),
    ).rejects.toSatisfy((e: unknown) => isApiError(e, 'ACCOUNT_BANNED'));

    // mallory (banned, her tokens revoked) and any non-operator get no admin answer.
    const u = uname('user');
    expect((await sotto('u', ['register', u, '--password', 'user password!'])).code).toBe(0);
    const refused = await sotto('u', ['admin', 'log']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('OPERATOR_REQUIRED');

    const missing = await sotto('op', ['admin', 'close', 'no_such_room']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('GROUP_NOT_FOUND');

    expect((await sotto('op', ['admin', 'unban', m])).code).toBe(0);
    // granting the role is a step-up action: the password again, a wrong one refused
    const wrong = await sotto('op', ['admin', 'operator', u, '--password=not the password']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('INVALID_CREDENTIALS');
    const grant = await sotto('op', ['admin', 'operator', u, `--password=${pw!}`]);
    expect(grant.code, grant.stderr).toBe(0);
    expect(JSON.parse(grant.stdout)).toEqual({ operator: u });
    expect((await sotto('u', ['admin', 'log'])).code).toBe(0);
    const log = JSON.parse((await sotto('op', ['admin', 'log'])).stdout) as {
      entries: { action: string; target: string }[];
    };
    expect(log.entries.slice(0, 3).map((e) => `${e.action} ${e.target}`)).toEqual([
      `operator-granted ${u}`,
      `unban ${m}`,
      `ban ${m}`,
    ]);

    const blocked = await sotto('u', ['block', OPERATOR]);
    expect(blocked.code, blocked.stderr).toBe(0);
    expect(JSON.parse(blocked.stdout)).toEqual({ blocked: [OPERATOR] });
    expect(JSON.parse((await sotto('u', ['unblock', OPERATOR])).stdout)).toEqual({ blocked: [] });
  });
});
