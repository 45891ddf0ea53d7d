/**
 * `sotto profile set --name NAME` and `sotto profile show [user]` (docs/CLIENT.md "Profiles"):
 * the display name of this account, sent end-to-end encrypted to its contacts, group members and
 * other devices (PROTOCOL.md §12 "Profiles"), and the profile held for a user. Pictures are set
 * from the web client; `show` says whether one is held. Output is one JSON line.
 */
import type { Command } from '../args.ts';
import { startOnline, withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { print } from '../output.ts';

/** How long `set` waits for the broker before giving up (seconds). */
const CONNECT_SECONDS = 10;

/** `profile set --name NAME` (an empty name removes it) | `profile show [user]`. */
export const profile: Command = async ({ cfg, args, values }) => {
  const [sub, user] = args;
  if (sub === 'set') {
    if (values.name === undefined) throw new UsageError('profile set needs --name');
    const name = values.name;
    await withClient(cfg, true, async (client) => {
      await startOnline(client, CONNECT_SECONDS);
      const p = await client.profile.set({ displayName: name === '' ? null : name });
      print({ type: 'profile', username: client.account?.username, ...view(p) });
    });
    return EXIT.OK;
  }
  if (sub === 'show') {
    await withClient(cfg, false, async (client) => {
      await client.start();
      const who = user ?? client.account!.username;
      print({ type: 'profile', username: who, ...view(await client.profile.of(who)) });
    });
    return EXIT.OK;
  }
  throw new UsageError('profile needs set --name NAME or show [user]');
};

function view(p: { displayName?: string; avatar?: unknown; version: number } | null): object {
  return {
    displayName: p?.displayName ?? null,
    picture: p?.avatar !== undefined,
    version: p?.version ?? null,
  };
}
