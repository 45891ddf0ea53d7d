/**
 * `sotto verify <user> [--mark | --unmark | --accept]`: the safety number, the
 * verification mark, and accepting a contact's key change.
 */
import type { Command } from '../args.ts';
import { withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { print } from '../output.ts';

/** `verify <user>`: prints the safety number and the contact's trust state. */
export const verify: Command = async ({ cfg, args, values }) => {
  const user = args[0];
  if (!user) throw new UsageError('verify needs a user');
  await withClient(cfg, false, async (client) => {
    await client.start();
    await client.trust.refresh(user);
    if (values.accept) await client.trust.acceptKeyChange(user);
    if (values.mark) await client.trust.setVerified(user, true);
    if (values.unmark) await client.trust.setVerified(user, false);
    const contact = await client.trust.contact(user);
    const digits = await client.trust.safetyNumber(user);
    print({
      user,
      safetyNumber: digits.replace(/(\d{5})/g, '$1 ').trim(),
      verified: contact?.verified ?? false,
      keyChangePending: !!contact?.pendingUik,
    });
  });
  return EXIT.OK;
};
