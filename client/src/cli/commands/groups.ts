/**
 * `sotto groups …`: create, add, remove, keys, rekey, list; and resolving a
 * group argument (`#name`, `group:ID`, id or name) for every command.
 */
import { parseConversation } from '@sotto/crypto';
import type { SottoClient } from '../../engine.ts';
import type { Command } from '../args.ts';
import { withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { print } from '../output.ts';

/** Resolve `#name` to a group id by name; `group:ID` and bare ids pass through. */
export async function groupId(client: SottoClient, ref: string): Promise<string> {
  if (ref.startsWith('group:')) {
    const c = parseConversation(ref);
    if (c.type === 'group') return c.groupId;
  }
  const groups = await client.groups.list();
  const byName = ref.startsWith('#')
    ? groups.filter((g) => g.name === ref.slice(1))
    : groups.filter((g) => g.groupId === ref || g.name === ref);
  if (byName.length !== 1)
    throw Object.assign(new Error(`unknown group ${ref}`), { exit: EXIT.NOT_FOUND });
  return byName[0]!.groupId;
}
/** `groups create|add|remove|keys|rekey|list`. */
export const groups: Command = async ({ cfg, args }) => {
  const [sub, a1, a2] = args;
  await withClient(cfg, sub !== 'list', async (client) => {
    if (sub !== 'list') await client.start();
    switch (sub) {
      case 'create': {
        if (!a1) throw new UsageError('groups create needs a name');
        const id = await client.groups.create(a1, args.slice(2));
        print({ groupId: id, name: a1 });
        break;
      }
      case 'add':
      case 'remove': {
        if (!a1 || !a2) throw new UsageError(`groups ${sub} needs a group and a user`);
        const id = await groupId(client, a1);
        await (sub === 'add' ? client.groups.add(id, a2) : client.groups.remove(id, a2));
        const g = await client.store.getGroup(id);
        print({ groupId: id, members: g?.members ?? [] });
        break;
      }
      case 'keys': {
        if (!a1) throw new UsageError('groups keys needs a group');
        print(await client.groups.keyStatus(await groupId(client, a1)));
        break;
      }
      case 'rekey': {
        if (!a1 || !a2) throw new UsageError('groups rekey needs a group and a user');
        const id = await groupId(client, a1);
        await client.groups.rekey(id, a2);
        const g = await client.store.getGroup(id);
        print({ groupId: id, members: g?.members ?? [], admins: g?.admins ?? [] });
        break;
      }
      case 'list':
        for (const g of await client.groups.list())
          print({ groupId: g.groupId, name: g.name, members: g.members, admins: g.admins });
        break;
      default:
        throw new UsageError('groups create|add|remove|keys|rekey|list');
    }
  });
  return EXIT.OK;
};
