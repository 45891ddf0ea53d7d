/**
 * `sotto groups keys` and `sotto groups rekey` as separate processes against a real key server
 * and broker: after a verified member reset their identity, the admin sees the change waiting
 * for acceptance, the re-key is refused (exit 6) until `verify --accept`, then re-adds the
 * member with the new key (a second re-key exits 7); the member's own send into the group is
 * refused with REKEY_PENDING until then.
 */
import { describe, expect, it } from 'vitest';
import { cliFixture } from './support/cli.ts';
import { uname } from './support/server.ts';

const { sotto } = cliFixture('sotto-cli-rekey-');

describe('sotto groups keys / rekey', () => {
  it('re-adds a verified member who reset their identity only after the new key was accepted', async () => {
    const pw = 'correct horse battery';
    const a = uname('alice');
    const b = uname('bob');
    expect((await sotto('a', ['register', a, '--password', pw])).code).toBe(0);
    expect((await sotto('b', ['register', b, '--password', pw])).code).toBe(0);
    const created = await sotto('a', ['groups', 'create', 'Family', b]);
    expect(created.code).toBe(0);
    const { groupId } = JSON.parse(created.stdout) as { groupId: string };
    expect((await sotto('a', ['verify', b, '--mark'])).code).toBe(0);
    expect((await sotto('b', ['reset-identity', '--password', pw])).code).toBe(0);

    const refusedSend = await sotto('b', ['send', `group:${groupId}`, 'hello']);
    expect(refusedSend.code).toBe(1);
    expect(refusedSend.stderr).toContain('REKEY_PENDING');

    const keys = await sotto('a', ['groups', 'keys', groupId]);
    expect(keys.code).toBe(0);
    expect(JSON.parse(keys.stdout)).toMatchObject({
      selfStale: false,
      canRekey: true,
      noAdmin: false,
      changed: [{ username: b, admin: false, awaitingAcceptance: true }],
    });
    const blocked = await sotto('a', ['groups', 'rekey', groupId, b]);
    expect(blocked.code).toBe(6);
    expect(blocked.stderr).toContain('KEY_CHANGED');

    expect((await sotto('a', ['verify', b, '--accept'])).code).toBe(0);
    const rekeyed = await sotto('a', ['groups', 'rekey', '#Family', b]);
    expect(rekeyed.stderr).toBe('');
    expect(rekeyed.code).toBe(0);
    expect(JSON.parse(rekeyed.stdout)).toMatchObject({ groupId, members: [a, b].sort() });
    const after = await sotto('a', ['groups', 'keys', groupId]);
    expect(JSON.parse(after.stdout)).toMatchObject({ changed: [] });
    const again = await sotto('a', ['groups', 'rekey', groupId, b]);
    expect(again.code).toBe(7);
    expect(again.stderr).toContain('NO_KEY_CHANGE');
  });
});
