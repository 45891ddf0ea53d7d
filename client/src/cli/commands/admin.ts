/**
 * `sotto admin …` (issue 17; docs/OPERATIONS.md "Moderation"): the operators' API from the
 * command line, and `sotto block|unblock <user>` for everyone. Output is JSON lines; a refusal
 * by the key server (403 `OPERATOR_REQUIRED` for non-operators) is its typed API error.
 */
import type { Command } from '../args.ts';
import { withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { readPassword } from '../input.ts';
import { print } from '../output.ts';

const enc = encodeURIComponent;

/** `admin operators | operator <user> | ban <user> [reason…] | unban <user> | close <group> [reason…] | reopen <group> | reports | dismiss <id> | log` */
export const admin: Command = async ({ cfg, args }) => {
  const [sub, target, ...rest] = args;
  const reason = rest.join(' ');
  const need = (what: string) => {
    if (!target) throw new UsageError(`admin ${sub} needs ${what}`);
    return target;
  };
  // Granting the operator role is a step-up action (issue 19): the password first.
  const password = sub === 'operator' ? await readPassword(cfg) : undefined;
  await withClient(cfg, false, async (client) => {
    // Loads the account and its tokens (no broker connection without MQTT).
    await client.start();
    if (password !== undefined) await (await client.security()).stepUp(password);
    const call = <T>(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
      client.http.call<T>(method, path, body === undefined ? { auth: true } : { auth: true, body });
    switch (sub) {
      case 'operators':
        return print(await call('GET', '/v1/admin/operators'));
      case 'operator':
        await call('PUT', `/v1/admin/operators/${enc(need('a username'))}`);
        return print({ operator: target });
      case 'ban':
        return print(await call('PUT', `/v1/admin/bans/${enc(need('a username'))}`, { reason }));
      case 'unban':
        await call('DELETE', `/v1/admin/bans/${enc(need('a username'))}`);
        return print({ unbanned: target });
      case 'close':
        await call('PUT', `/v1/admin/rooms/${enc(need('a group id'))}/closed`, { reason });
        return print({ closed: target });
      case 'reopen':
        await call('DELETE', `/v1/admin/rooms/${enc(need('a group id'))}/closed`);
        return print({ reopened: target });
      case 'reports': {
        const received = await client.safety.receivedReports();
        const { reports } = await call<{ reports: { id: string; reporter: string }[] }>(
          'GET',
          '/v1/admin/reports',
        );
        for (const r of reports) {
          const c = received.find((x) => x.reportId === r.id && x.reporter === r.reporter);
          print({ ...r, messages: c?.messages ?? null, note: c?.note ?? null });
        }
        return;
      }
      case 'dismiss':
        await call('PUT', `/v1/admin/reports/${enc(need('a report id'))}/status`, {
          status: 'dismissed',
          note: reason,
        });
        return print({ dismissed: target });
      case 'log':
        return print(await call('GET', '/v1/admin/log'));
      default:
        throw new UsageError(
          'admin needs operators | operator | ban | unban | close | reopen | reports | dismiss | log',
        );
    }
  });
  return EXIT.OK;
};

/** `block <user>` / `unblock <user>`: prints the block list after the change. */
export const block: Command = async ({ command, cfg, args }) => {
  const user = args[0];
  if (!user) throw new UsageError(`${command} needs a user`);
  await withClient(cfg, false, async (client) => {
    await client.start();
    const list =
      command === 'block' ? await client.safety.block(user) : await client.safety.unblock(user);
    print({ blocked: list });
  });
  return EXIT.OK;
};
