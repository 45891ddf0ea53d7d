/**
 * `sotto groups policy|invite|invites|revoke|join` and `sotto rooms list|join` as separate
 * processes against a real key server and broker (issue 17): an invite link made by the admin
 * lets another user in once, a second user is refused with a clear exit code, a revoked link
 * stops working, and an open listed room is found and joined from the directory.
 */
import { describe, expect, it } from 'vitest';
import { uname } from './support/server.ts';
import { cliFixture } from './support/cli.ts';

const { sotto } = cliFixture('sotto-cli-rooms-');
const pw = 'correct horse battery';

const json = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1)!) as T;

describe('sotto groups invite|join and rooms list|join', () => {
  it('joins by invite link once, refuses the used-up and the revoked link, joins an open room from the directory', async () => {
    const [a, b, c, d] = [uname('ca'), uname('cb'), uname('cc'), uname('cd')];
    for (const [state, name] of [
      ['a', a],
      ['b', b],
      ['c', c],
      ['d', d],
    ] as const)
      expect((await sotto(state, ['register', name, '--password', pw])).code).toBe(0);
    const created = await sotto('a', ['groups', 'create', 'Crag', b]);
    expect(created.code).toBe(0);
    const { groupId } = json<{ groupId: string }>(created.stdout);

    const inv = await sotto('a', ['groups', 'invite', groupId, '1', '24']);
    expect(inv.code, inv.stderr).toBe(0);
    const { link, id } = json<{ link: string; id: string }>(inv.stdout);
    expect(link).toContain(`/#/join/${groupId}/`);

    const joined = await sotto('c', ['groups', 'join', link]);
    expect(joined.code, joined.stderr).toBe(0);
    expect(json<{ members: string[] }>(joined.stdout).members.sort()).toEqual([a, b, c].sort());

    const usedUp = await sotto('d', ['groups', 'join', link]);
    expect(usedUp.code).not.toBe(0);
    expect(usedUp.stderr).toMatch(/no uses left|used up/);
    expect((await sotto('d', ['groups', 'join', 'https://x/#/join/nope'])).code).not.toBe(0);

    const listed = await sotto('a', ['groups', 'invites', groupId]);
    expect(json<{ id: string; uses: number }>(listed.stdout)).toMatchObject({ id, uses: 1 });
    const second = json<{ link: string; id: string }>(
      (await sotto('a', ['groups', 'invite', groupId])).stdout,
    );
    expect((await sotto('a', ['groups', 'revoke', groupId, second.id])).code).toBe(0);
    const revoked = await sotto('d', ['groups', 'join', second.link]);
    expect(revoked.code).not.toBe(0);
    expect(revoked.stderr).toMatch(/revoked/);

    const policy = await sotto('a', [
      'groups',
      'policy',
      groupId,
      'join=open',
      'listed=yes',
      `topic=crag ${d}`,
    ]);
    expect(policy.code, policy.stderr).toBe(0);
    expect((await sotto('a', ['groups', 'policy', groupId, 'join=maybe'])).code).not.toBe(0);
    const rooms = await sotto('d', ['rooms', 'list', d]);
    expect(rooms.code, rooms.stderr).toBe(0);
    expect(json(rooms.stdout)).toEqual({
      groupId,
      name: 'Crag',
      topic: `crag ${d}`,
      memberCount: 3,
    });
    const open = await sotto('d', ['rooms', 'join', groupId]);
    expect(open.code, open.stderr).toBe(0);
    expect(json<{ members: string[] }>(open.stdout).members).toContain(d);
  }, 420_000);
});
