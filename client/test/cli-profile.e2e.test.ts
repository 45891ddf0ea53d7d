/**
 * `sotto profile set|show` as separate processes against a real key server and broker
 * (docs/CLIENT.md "Profiles"): the display name set on the command line reaches a contact's
 * engine end-to-end encrypted; a name too long once cleaned is a clear refusal.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import { cliFixture } from './support/cli.ts';
import { makeClient, uname, until } from './support/server.ts';

const PW = 'correct horse battery';
const { sotto, server } = cliFixture('sotto-cli-profile-');
const json = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
let bob: SottoClient | undefined;

afterAll(async () => {
  await bob?.close();
});

describe('sotto profile', () => {
  it('sets the display name, which reaches a contact, and shows it', async () => {
    bob = makeClient(server());
    const b = uname('bob');
    await bob.register(b, PW);
    await bob.start();
    const a = uname('ada');
    expect((await sotto('a', ['register', a, '--password', PW])).code).toBe(0);
    const sent = await sotto('a', ['send', b, 'hello']);
    expect(sent.code, sent.stderr).toBe(0);

    const set = await sotto('a', ['profile', 'set', '--name', 'Ada\u202e Lovelace']);
    expect(set.code, set.stderr).toBe(0);
    expect(json(set.stdout)).toMatchObject({ username: a, displayName: 'Ada Lovelace' });
    await until(
      async () => (await bob!.profile.of(a))?.displayName === 'Ada Lovelace',
      'bob has the name',
    );
    const show = await sotto('a', ['profile', 'show']);
    expect(json(show.stdout)).toMatchObject({ displayName: 'Ada Lovelace', picture: false });

    const long = await sotto('a', ['profile', 'set', '--name', 'x'.repeat(65)]);
    expect(long.code).not.toBe(0);
    expect(long.stderr).toMatch(/displayName/);
  });
});
