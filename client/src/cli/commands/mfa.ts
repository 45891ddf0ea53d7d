/**
 * `sotto 2fa enable|confirm|disable|recovery|status` (issue 19): two-factor sign-in from the
 * command line. Enabling and new recovery codes need a recent password (step-up); the stepped-up
 * access token is kept in the state directory for its lifetime, so `2fa confirm` a few minutes
 * after `2fa enable` needs no password again. Bots may leave two-factor off (docs/CLIENT.md).
 */
import type { Command } from '../args.ts';
import { withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { readPassword } from '../input.ts';
import { print } from '../output.ts';

/** `2fa <sub-command>`. */
export const mfa: Command = async ({ cfg, args, values }) => {
  const [sub, code] = args;
  switch (sub) {
    case 'enable': {
      const pw = await readPassword(cfg);
      await withClient(cfg, false, async (client) => {
        const api = await client.security();
        await api.stepUp(pw);
        const { secret, uri } = await api.startTotp();
        print({ type: '2fa-pending', secret, uri, next: 'sotto 2fa confirm <code>' });
      });
      return EXIT.OK;
    }
    case 'confirm': {
      if (!code) throw new UsageError('2fa confirm needs the code from the authenticator app');
      await withClient(cfg, false, async (client) => {
        const recoveryCodes = await (await client.security()).confirmTotp(code);
        print({ type: '2fa-enabled', recoveryCodes });
      });
      return EXIT.OK;
    }
    case 'disable': {
      const totp = values.totp;
      if (!totp) throw new UsageError('2fa disable needs --totp CODE (or a recovery code)');
      const pw = await readPassword(cfg);
      await withClient(cfg, false, async (client) => {
        await (await client.security()).disableTotp(pw, totp);
        print({ type: '2fa-disabled' });
      });
      return EXIT.OK;
    }
    case 'recovery': {
      const pw = await readPassword(cfg);
      await withClient(cfg, false, async (client) => {
        const api = await client.security();
        await api.stepUp(pw);
        print({ type: '2fa-recovery-codes', recoveryCodes: await api.regenerateRecoveryCodes() });
      });
      return EXIT.OK;
    }
    case 'status':
      await withClient(cfg, false, async (client) => {
        print({ type: '2fa-status', ...(await (await client.security()).mfaState()) });
      });
      return EXIT.OK;
    default:
      throw new UsageError('2fa needs enable, confirm, disable, recovery or status');
  }
};
