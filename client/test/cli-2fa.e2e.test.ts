/**
 * Issue 19: `sotto 2fa` and `sotto login --totp` as separate processes against a real key
 * server. A new device's login that passes both factors ends in LINK_REQUIRED (the account's
 * identity lives on device a), which is how the test tells it got past the key server. The test
 * stays within the account's five second-factor attempts per five minutes. It computes codes with `otpauth` from the secret the CLI prints; later logins
 * use recovery codes, so no test waits for the next 30-second step.
 */
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { cliFixture } from './support/cli.ts';
import { uname } from './support/server.ts';

const { sotto } = cliFixture('sotto-cli-2fa-');
const PW = 'cli two factor';

const codeOf = (secret: string) =>
  new TOTP({ secret: Secret.fromBase32(secret), period: 30, digits: 6 }).generate();

describe('sotto 2fa', () => {
  it('enables two-factor, then login needs --totp (a code once, recovery codes once), and disables it', async () => {
    const user = uname('tfa');
    expect((await sotto('a', ['register', user, '--password', PW])).code).toBe(0);

    const enable = await sotto('a', ['2fa', 'enable', '--password', PW]);
    expect(enable.code, enable.stderr).toBe(0);
    const pending = JSON.parse(enable.stdout) as { secret: string; uri: string };
    expect(pending.uri).toMatch(/^otpauth:\/\/totp\//);

    const code = codeOf(pending.secret);
    const confirm = await sotto('a', ['2fa', 'confirm', code]);
    expect(confirm.code, confirm.stderr).toBe(0);
    const { recoveryCodes } = JSON.parse(confirm.stdout) as { recoveryCodes: string[] };
    expect(recoveryCodes).toHaveLength(10);

    // A new device: the password alone is not enough.
    const noCode = await sotto('b', ['login', user, '--password', PW]);
    expect(noCode.code).not.toBe(0);
    expect(noCode.stderr).toContain('MFA_REQUIRED');
    // The code already used to confirm is refused (each code once).
    const replay = await sotto('b', ['login', user, '--password', PW, '--totp', code]);
    expect(replay.code).not.toBe(0);
    expect(replay.stderr).toContain('MFA_CODE_INVALID');
    const withRecovery = await sotto('b', [
      'login',
      user,
      '--password',
      PW,
      '--totp',
      recoveryCodes[0] ?? '',
    ]);
    // Past both factors: the key server answered with tokens, and the new device is asked to be
    // linked (the account has its identity key on device a).
    expect(withRecovery.stderr).toContain('LINK_REQUIRED');
    const status = await sotto('a', ['2fa', 'status']);
    expect(JSON.parse(status.stdout)).toMatchObject({ totp: true, recoveryCodesLeft: 9 });

    const regen = await sotto('a', ['2fa', 'recovery', '--password', PW]);
    expect(regen.code, regen.stderr).toBe(0);
    const fresh = (JSON.parse(regen.stdout) as { recoveryCodes: string[] }).recoveryCodes;
    const old = await sotto('c', [
      'login',
      user,
      '--password',
      PW,
      '--totp',
      recoveryCodes[1] ?? '',
    ]);
    expect(old.stderr).toContain('MFA_CODE_INVALID');

    const disable = await sotto('a', [
      '2fa',
      'disable',
      '--password',
      PW,
      '--totp',
      fresh[0] ?? '',
    ]);
    expect(disable.code, disable.stderr).toBe(0);
    const plain = await sotto('c', ['login', user, '--password', PW]);
    expect(plain.stderr).toContain('LINK_REQUIRED');
  }, 240_000); // a dozen CLI processes on a shared machine
});
