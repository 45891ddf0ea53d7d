/**
 * `sotto --passphrase-file` / `SOTTO_PASSPHRASE` (issue 15): the CLI's state database sealed
 * under a passphrase, as separate processes against a real key server and broker. Without the
 * passphrase, or with a wrong one, a command exits 4 with a clear code and changes nothing;
 * the file is 0600 and its bytes hold neither the text sent nor the peer's name.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliFixture } from './support/cli.ts';
import { secretsIn } from './support/raw-scan.ts';
import { uname } from './support/server.ts';

const { sotto, dir } = cliFixture('sotto-cli-passphrase-');

describe('sotto with a passphrase on its state', () => {
  it('opens the state only with the passphrase and keeps the text and the peer out of the file', async () => {
    const alice = uname('pa');
    const bob = uname('pb');
    const file = join(dir(), 'passphrase.txt');
    writeFileSync(file, 'a long and secret phrase\n', { mode: 0o600 });
    const withFile = ['--passphrase-file', file];

    const reg = await sotto('a', [...withFile, 'register', alice, '--password', 'pw-alice-1']);
    expect(reg.code, reg.stderr).toBe(0);
    const regB = await sotto('b', ['register', bob, '--password', 'pw-bob-123']);
    expect(regB.code, regB.stderr).toBe(0);
    const text = 'meet me by the lighthouse at dawn';
    const sent = await sotto('a', [...withFile, 'send', bob, text, '--timeout', '1']);
    // Bob is not listening: stored and sent, not confirmed (8) — or confirmed (0).
    expect([0, 8], sent.stderr).toContain(sent.code);

    const none = await sotto('a', ['groups', 'list']);
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('STORE_LOCKED');
    const wrong = await sotto('a', ['groups', 'list'], { env: { SOTTO_PASSPHRASE: 'guess' } });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('WRONG_PASSPHRASE');
    const env = await sotto('a', ['groups', 'list'], {
      env: { SOTTO_PASSPHRASE: 'a long and secret phrase' },
    });
    expect(env.code, env.stderr).toBe(0);

    const empty = join(dir(), 'empty.txt');
    writeFileSync(empty, '\n');
    const bad = await sotto('a', ['--passphrase-file', empty, 'groups', 'list']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('first line is empty');

    const path = join(dir(), 'a', 'state.sqlite');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    for (const f of [path, `${path}-wal`].filter((x) => existsSync(x))) {
      expect(secretsIn(new Uint8Array(readFileSync(f)), { texts: [text, bob], keys: [] })).toEqual(
        [],
      );
    }
  });
});
