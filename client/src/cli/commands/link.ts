/**
 * `sotto link show <username>` (new device: print a link code, wait to be
 * linked) and `sotto link approve <code>` (existing device: link the device
 * showing the code, copying the message history unless `--no-history`).
 */
import type { Command } from '../args.ts';
import { saveServer } from '../config.ts';
import { withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { readPassword } from '../input.ts';
import { print } from '../output.ts';

/** `link show <username>` | `link approve <code>`. */
export const link: Command = async ({ cfg, args, values, kind }) => {
  const [sub, arg] = args;
  if (sub === 'show') {
    if (!arg) throw new UsageError('link show needs a username');
    const password = await readPassword(cfg);
    await withClient(cfg, true, async (client) => {
      const session = await client.link.begin(arg, password, kind ? { kind } : {});
      print({ type: 'link-code', code: session.code, expiresAt: session.expiresAt });
      process.stderr.write(
        'On a device that is already logged in, run: sotto link approve <code>\n',
      );
      const stop = (): void => session.cancel();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const { history, ...info } = await session.linked;
        saveServer(cfg.stateDir, cfg.server!, cfg.mqtt);
        // A history that could not be imported does not fail the link: say so, exit OK.
        print({
          type: 'linked',
          ...info,
          history:
            history.status === 'failed'
              ? {
                  status: 'failed',
                  error: { code: history.error.code, message: history.error.message },
                }
              : history,
        });
        if (history.status === 'failed') process.stderr.write(`${history.error.message}\n`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
    return EXIT.OK;
  }
  if (sub === 'approve') {
    if (!arg) throw new UsageError('link approve needs the code the new device shows');
    await withClient(cfg, true, async (client) => {
      await client.start();
      const result = await client.link.approve(arg, { history: !values['no-history'] });
      // history: {count, omitted} of the copied messages, or null (not copied).
      print({ type: 'linked', deviceId: result.deviceId, history: result.history });
      if (result.historyError !== undefined) {
        const why = result.historyError;
        process.stderr.write(
          `linked without message history: ${why instanceof Error ? why.message : JSON.stringify(why)}\n`,
        );
      }
    });
    return EXIT.OK;
  }
  throw new UsageError('link show <username> | approve <code>');
};
