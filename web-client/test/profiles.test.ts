/**
 * How the web client names users (services/profiles.ts, [PROFILE-3]): a display name always with
 * the `@username`, a look-alike of another known user's name flagged, initials as the fallback.
 */
import { describe, expect, it } from 'vitest';
import {
  ProfileDirectory,
  foldName,
  initials,
  type ProfileInfo,
  type ProfilePort,
} from '../src/services/profiles.ts';

/** A directory over fixed profiles (no pictures), loaded for `users`. */
async function directory(
  profiles: Record<string, string>,
  users: string[],
): Promise<ProfileDirectory> {
  const port: ProfilePort = {
    own: async () => null,
    set: async () => undefined,
    of: async (u): Promise<ProfileInfo | null> =>
      profiles[u] === undefined ? null : { displayName: profiles[u], hasAvatar: false },
    avatar: async () => null,
  };
  const d = new ProfileDirectory(port, 'bob', () => undefined);
  await Promise.all(users.map((u) => d.load(u)));
  return d;
}

describe('profile labels', () => {
  it('shows a display name with the username beside it, and the username alone otherwise', async () => {
    const d = await directory({ alice: 'Alice Liddell' }, ['alice', 'carol']);
    expect(d.label('alice')).toEqual({ name: 'Alice Liddell', handle: '@alice', lookalike: null });
    expect(d.label('carol')).toEqual({ name: 'carol', handle: '', lookalike: null });
  });

  it("flags a name that folds to another known user's username or display name, or ours", async () => {
    const d = await directory(
      { alice: 'Alice Liddell', mallory: 'ＡＬＩＣＥ', eve: 'alice liddéll', trent: 'B.o.b' },
      ['alice', 'mallory', 'eve', 'trent'],
    );
    expect(d.label('mallory').lookalike).toBe('alice');
    expect(d.label('eve').lookalike).toBe('alice');
    expect(d.label('trent').lookalike).toBe('bob');
    // Two users with the same name are both flagged: neither name tells them apart.
    expect(d.label('alice').lookalike).toBe('eve');
    // One's own username as a display name is no look-alike.
    const own = await directory({ alice: 'Alice' }, ['alice']);
    expect(own.label('alice')).toEqual({ name: 'Alice', handle: '@alice', lookalike: null });
  });

  it('folds compatibility forms, accents, case, spaces and punctuation', () => {
    expect(foldName('Ａlicé  L.-_iddell')).toBe('aliceliddell');
  });

  it('makes initials from the first and last word', () => {
    expect(initials('Alice Pleasance Liddell')).toBe('AL');
    expect(initials('bob')).toBe('B');
    expect(initials('  ')).toBe('');
  });
});
