/**
 * `sotto groups …`: create, add, remove, keys, rekey, list, policy, invite, invites, revoke,
 * join; `sotto rooms list|join` (the public directory); and resolving a group argument
 * (`#name`, `group:ID`, id or name) for every command.
 */
import { parseConversation, type GroupPolicy } from '@sotto/crypto';
import { inviteLink, parseInviteLink } from '../../invite-link.ts';
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
const POLICY_USAGE =
  'groups policy <group> [join=admins-add|invite|open] [announce=yes|no] [listed=yes|no] [topic=TEXT]';

function wholeNumber(text: string, what: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`${what} must be a whole number`);
  return Number(text);
}

function yesNo(value: string, key: string): boolean {
  if (value === 'yes' || value === 'no') return value === 'yes';
  throw new UsageError(`${key} must be yes or no`);
}

/** `key=value` arguments of `groups policy` as a policy patch. */
function policyPatch(pairs: string[]): Partial<GroupPolicy> {
  const patch: Partial<GroupPolicy> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : pair;
    const value = eq > 0 ? pair.slice(eq + 1) : '';
    if (key === 'join') {
      if (value !== 'admins-add' && value !== 'invite' && value !== 'open')
        throw new UsageError(POLICY_USAGE);
      patch.join = value;
    } else if (key === 'announce' || key === 'listed') patch[key] = yesNo(value, key);
    else if (key === 'topic') patch.topic = value;
    else throw new UsageError(POLICY_USAGE);
  }
  return patch;
}

/** `groups create|add|remove|keys|rekey|list|policy|invite|invites|revoke|join`. */
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
      case 'policy': {
        if (!a1) throw new UsageError(POLICY_USAGE);
        const id = await groupId(client, a1);
        print({ groupId: id, ...(await client.groups.setPolicy(id, policyPatch(args.slice(2)))) });
        break;
      }
      case 'invite': {
        if (!a1) throw new UsageError('groups invite needs a group [uses] [hours]');
        const id = await groupId(client, a1);
        const maxUses = wholeNumber(a2 ?? '0', 'uses');
        const hours = wholeNumber(args[3] ?? '168', 'hours');
        const inv = await client.groups.createInvite(id, {
          maxUses,
          expiresInMs: hours * 3_600_000,
        });
        print({
          groupId: id,
          link: inviteLink(cfg.server ?? 'http://localhost:8080', id, inv.secret),
          id: inv.id,
          expiresAt: new Date(inv.expiresAt).toISOString(),
          maxUses: inv.maxUses,
        });
        break;
      }
      case 'invites': {
        if (!a1) throw new UsageError('groups invites needs a group');
        for (const inv of await client.groups.listInvites(await groupId(client, a1)))
          print({ ...inv, expiresAt: new Date(inv.expiresAt).toISOString() });
        break;
      }
      case 'revoke': {
        if (!a1 || !a2) throw new UsageError('groups revoke needs a group and an invite id');
        await client.groups.revokeInvite(await groupId(client, a1), a2);
        print({ revoked: a2 });
        break;
      }
      case 'join': {
        if (!a1) throw new UsageError('groups join needs an invite link');
        const { groupId: id, secret } = parseInviteLink(a1);
        await client.groups.join(id, secret);
        const g = await client.store.getGroup(id);
        print({ groupId: id, name: g?.name ?? '', members: g?.members ?? [] });
        break;
      }
      default:
        throw new UsageError(
          'groups create|add|remove|keys|rekey|list|policy|invite|invites|revoke|join',
        );
    }
  });
  return EXIT.OK;
};

/** `rooms list [query]` (the public directory) and `rooms join <groupId>` (an open room). */
export const rooms: Command = async ({ cfg, args }) => {
  const [sub, a1] = args;
  await withClient(cfg, true, async (client) => {
    await client.start();
    switch (sub) {
      case 'list':
        for (const r of await client.groups.directory(a1 ?? '')) print(r);
        break;
      case 'join': {
        if (!a1) throw new UsageError('rooms join needs a room id (from rooms list)');
        await client.groups.join(a1);
        const g = await client.store.getGroup(a1);
        print({ groupId: a1, name: g?.name ?? '', members: g?.members ?? [] });
        break;
      }
      default:
        throw new UsageError('rooms list [query] | rooms join <room id>');
    }
  });
  return EXIT.OK;
};
