/**
 * `sotto thing add|list|revoke` (IoT things of the account) and `sotto bridge`
 * (relay between a group and things until SIGINT/SIGTERM).
 */
import { startBridge } from '../../bridge.ts';
import type { Command } from '../args.ts';
import { open, reportConnection, waitForSignal, withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { print } from '../output.ts';
import { groupId } from './groups.ts';

/** `thing add <name> | list | revoke <name>`. */
export const thing: Command = async ({ cfg, args }) => {
  const [sub, name] = args;
  await withClient(cfg, false, async (client) => {
    await client.start();
    if (sub === 'add' && name) print(await client.http.addThing(name));
    else if (sub === 'list') for (const t of await client.http.listThings()) print(t);
    else if (sub === 'revoke' && name) {
      await client.http.revokeThing(name);
      print({ thing: name, revoked: true });
    } else throw new UsageError('thing add <name> | list | revoke <name>');
  });
  return EXIT.OK;
};

/** `bridge --group <group> --thing <name>…`: runs until SIGINT/SIGTERM. */
export const bridge: Command = async ({ cfg, values }) => {
  const things = values.thing ?? [];
  if (!values.group || things.length === 0)
    throw new UsageError('bridge needs --group and at least one --thing');
  const client = await open(cfg, true);
  reportConnection(client);
  await client.start();
  const id = await groupId(client, values.group);
  const stop = startBridge(client, {
    groupId: id,
    things,
    onEvent: (e) => print({ type: 'bridge', ...e }),
  });
  print({ type: 'bridge-ready', groupId: id, things });
  await waitForSignal();
  stop();
  await client.close();
  await client.store.close();
  return EXIT.OK;
};
