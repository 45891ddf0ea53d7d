/**
 * `sotto` — the command line of @sotto/client (DESIGN.md §5.4, issue 5):
 * register, login, link, send, listen, groups, rooms, verify, thing, bridge. Keys, sessions
 * and history live in a state directory (SQLite, mode 0600). Documented in
 * docs/CLIENT.md. Exit codes: see {@link EXIT}.
 *
 * This file parses the command line and dispatches; each command group is one
 * file in `commands/`, built on `connect.ts` (opening the engine), `input.ts`
 * (passwords), `output.ts` (stdout lines) and `exit.ts` (statuses, errors).
 */
import type { DeviceKind } from '@sotto/crypto';
import { type Command, parseCommandLine, USAGE } from './args.ts';
import { account, guest, password, resetIdentity, upgrade } from './commands/account.ts';
import { admin, block } from './commands/admin.ts';
import { groups, rooms } from './commands/groups.ts';
import { link } from './commands/link.ts';
import { mfa } from './commands/mfa.ts';
import { profile } from './commands/profile.ts';
import { listen, send } from './commands/messages.ts';
import { bridge, thing } from './commands/things.ts';
import { verify } from './commands/verify.ts';
import { loadCliConfig } from './config.ts';
import { EXIT, explain, UsageError } from './exit.ts';
import { print } from './output.ts';

export { EXIT, explain };

/** Every command, by the name typed after the global flags. */
const COMMANDS: ReadonlyMap<string, Command> = new Map([
  ['register', account],
  ['login', account],
  ['password', password],
  ['reset-identity', resetIdentity],
  ['guest', guest],
  ['upgrade', upgrade],
  ['2fa', mfa],
  ['send', send],
  ['listen', listen],
  ['groups', groups],
  ['rooms', rooms],
  ['verify', verify],
  ['thing', thing],
  ['link', link],
  ['bridge', bridge],
  ['admin', admin],
  ['profile', profile],
  ['block', block],
  ['unblock', block],
]);

/** Run the CLI; resolves to the exit status. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  const [command, ...args] = positionals;
  if (values.help || !command) {
    print(USAGE);
    return command || values.help ? EXIT.OK : EXIT.USAGE;
  }
  const cfg = loadCliConfig({
    state: values.state,
    server: values.server,
    mqtt: values.mqtt?.join(','),
    password: values.password,
    'passphrase-file': values['passphrase-file'],
  });
  const kind = values.kind as DeviceKind | undefined;
  if (kind !== undefined && kind !== 'user' && kind !== 'bot' && kind !== 'bridge')
    throw new UsageError(`--kind must be user, bot or bridge`);
  const handler = COMMANDS.get(command);
  if (!handler) throw new UsageError(`unknown command ${command}`);
  return handler({ command, cfg, args, values, kind });
}

// Run directly (`tsx client/src/cli/main.ts`); bin/sotto.js imports run/explain instead.
const isMain = process.argv[1] !== undefined && /main\.ts$/.test(process.argv[1]);
if (isMain) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => process.exit(explain(err)),
  );
}
