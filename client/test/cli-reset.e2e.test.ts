/**
 * `sotto reset-identity` as a separate process against a real key server: a wrong password exits
 * 4 and changes nothing; the right one (from stdin) prints the new device id, the key server then
 * publishes a new UIK with only that device; `login --reset-identity` on a set-up state directory
 * is refused instead of silently resuming the old key.
 */
import { describe, expect, it } from 'vitest';
import { createHttpClient } from '../src/http.ts';
import { cliFixture } from './support/cli.ts';
import { uname } from './support/server.ts';

const { server, sotto } = cliFixture('sotto-cli-reset-');

async function publishedUik(
  username: string,
  password: string,
): Promise<{ uik: string | null; devices: string[] }> {
  const http = createHttpClient({ baseUrl: server().httpUrl });
  let tokens: { accessToken: string; refreshToken: string } | null = null;
  const authed = createHttpClient({ baseUrl: server().httpUrl, getTokens: () => tokens });
  tokens = await http.login(username, password);
  const user = await authed.getUser(username);
  return { uik: user.uik, devices: user.devices.map((d) => d.deviceId) };
}

describe('sotto reset-identity', () => {
  it('refuses a wrong password, then replaces the identity key; login --reset-identity is refused on a set-up state', async () => {
    const a = uname('alice');
    const pw = 'correct horse battery';
    const reg = await sotto('a', ['register', a, '--password', pw]);
    expect(reg.code).toBe(0);
    const first = JSON.parse(reg.stdout) as { deviceId: string };
    const before = await publishedUik(a, pw);

    const wrong = await sotto('a', ['reset-identity', '--password', 'not the password']);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('INVALID_CREDENTIALS');
    expect((await publishedUik(a, pw)).uik).toBe(before.uik);

    const again = await sotto('a', ['login', a, '--reset-identity', '--password', pw]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('sotto reset-identity');
    expect((await publishedUik(a, pw)).uik).toBe(before.uik);

    const ok = await sotto('a', ['reset-identity'], { stdin: `${pw}\n` });
    expect(ok.code).toBe(0);
    const out = JSON.parse(ok.stdout) as { type: string; username: string; deviceId: string };
    expect(out.type).toBe('identity-reset');
    expect(out.username).toBe(a);
    expect(out.deviceId).not.toBe(first.deviceId);
    const after = await publishedUik(a, pw);
    expect(after.uik).not.toBe(before.uik);
    expect(after.devices).toEqual([out.deviceId]);
  });
});
