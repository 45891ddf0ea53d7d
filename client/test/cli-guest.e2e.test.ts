/**
 * `sotto guest` and `sotto upgrade` as separate processes against a real key server and broker
 * (issue 17): a guest state directory gets a `guest_…` account that may not create rooms, and
 * after `upgrade` the account logs in with its new password.
 */
import { describe, expect, it } from 'vitest';
import { cliFixture } from './support/cli.ts';

const { sotto } = cliFixture('sotto-cli-guest-');
const json = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1)!) as T;

describe('sotto guest|upgrade', () => {
  it('continues as guest, is refused a room, upgrades and logs in with the password', async () => {
    const g = await sotto('g', ['guest', '--name', 'Visitor']);
    expect(g.code, g.stderr).toBe(0);
    const { username } = json<{ username: string }>(g.stdout);
    expect(username).toMatch(/^guest_[0-9a-f]{8}$/);
    const create = await sotto('g', ['groups', 'create', 'Mine']);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toMatch(/guest/);
    const up = await sotto('g', ['upgrade', '--password', 'correct horse battery']);
    expect(up.code, up.stderr).toBe(0);
    expect(json<{ type: string }>(up.stdout)).toMatchObject({ type: 'upgraded', username });
    const again = await sotto('g', ['login', username, '--password', 'correct horse battery']);
    expect(again.code, again.stderr).toBe(0);
    expect((await sotto('g', ['groups', 'create', 'Mine now'])).code).toBe(0);
  });

  it('upgrades under a username of its choice, refusing an invalid one, and logs in under it', async () => {
    const g = await sotto('h', ['guest']);
    expect(g.code, g.stderr).toBe(0);
    const bad = await sotto('h', [
      'upgrade',
      '--password',
      'correct horse battery',
      '--username',
      'No!',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/username/);
    const name = `vera_${process.pid}`;
    const up = await sotto('h', [
      'upgrade',
      '--password',
      'correct horse battery',
      '--username',
      name,
    ]);
    expect(up.code, up.stderr).toBe(0);
    expect(json<{ type: string }>(up.stdout)).toMatchObject({ type: 'upgraded', username: name });
    const again = await sotto('h', ['login', name, '--password', 'correct horse battery']);
    expect(again.code, again.stderr).toBe(0);
  });
});
