/**
 * `sotto register|login`, `sotto guest|upgrade`, `sotto password` and `sotto reset-identity`:
 * the account commands (no broker needed).
 */
import type { Command } from '../args.ts';
import { saveServer } from '../config.ts';
import { withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { isApiError } from '../../http.ts';
import { readLine, readPassword, readPasswordChange } from '../input.ts';
import { print } from '../output.ts';

/** `register <username>` / `login <username>`: set this state directory up for the account. */
export const account: Command = async ({ command, cfg, args, values, kind }) => {
  const username = args[0];
  if (!username) throw new UsageError(`${command} needs a username`);
  const passwordFromStdin = cfg.password === undefined;
  const password = await readPassword(cfg);
  await withClient(cfg, false, async (client) => {
    const opts = {
      ...(kind ? { kind } : {}),
      ...(values['reset-identity'] ? { resetIdentity: true } : {}),
      ...(values.totp ? { totp: values.totp } : {}),
      platform: 'cli' as const,
    };
    let info;
    try {
      info =
        command === 'register'
          ? await client.register(username, password, opts)
          : await client.login(username, password, opts);
    } catch (err) {
      // Two-factor is on and no --totp: ask on a terminal (stdin is still ours when the
      // password came from a flag or the environment), else say how to pass it.
      if (
        !isApiError(err, 'MFA_REQUIRED') ||
        values.totp ||
        passwordFromStdin ||
        !process.stdin.isTTY
      )
        throw err;
      const code = await readLine('two-factor code');
      info = await client.login(username, password, { ...opts, totp: code });
    }
    saveServer(cfg.stateDir, cfg.server!, cfg.mqtt);
    print(info);
  });
  return EXIT.OK;
};

/** `password`: change the account password. */
export const password: Command = async ({ cfg, values }) => {
  const { current, next } = await readPasswordChange(cfg, values['new-password']);
  await withClient(cfg, false, async (client) => {
    await client.changePassword(current, next);
    print({ type: 'password-changed', username: client.account?.username });
  });
  return EXIT.OK;
};

/** `reset-identity`: a new identity key here, every other device removed. */
export const resetIdentity: Command = async ({ cfg }) => {
  const pw = await readPassword(cfg);
  await withClient(cfg, false, async (client) => {
    const info = await client.resetIdentity(pw);
    print({ type: 'identity-reset', ...info });
  });
  return EXIT.OK;
};

/** `guest [--name N]`: continue as guest (docs/API.md "Guests") in this state directory. */
export const guest: Command = async ({ cfg, values }) => {
  await withClient(cfg, false, async (client) => {
    const info = await client.continueAsGuest({
      ...(values.name === undefined ? {} : { displayName: values.name }),
      platform: 'cli',
    });
    saveServer(cfg.stateDir, cfg.server!, cfg.mqtt);
    print({ type: 'guest', ...info });
  });
  return EXIT.OK;
};

/**
 * `upgrade [--username NAME]`: this guest account becomes a full one with the given password,
 * under NAME when given (PROTOCOL.md §3.3).
 */
export const upgrade: Command = async ({ cfg, values }) => {
  const pw = await readPassword(cfg);
  await withClient(cfg, false, async (client) => {
    const info = await client.upgradeGuest(
      pw,
      values.username === undefined ? {} : { username: values.username },
    );
    print({ type: 'upgraded', username: info.username });
  });
  return EXIT.OK;
};
