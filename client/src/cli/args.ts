/**
 * The CLI's command line: usage text, the flags every command shares, and the
 * shape each command handler receives.
 */
import { parseArgs } from 'node:util';
import type { DeviceKind } from '@sotto/crypto';
import type { CliConfig } from './config.ts';
import { UsageError } from './exit.ts';

/** Printed by `--help` and after a usage error. */
export const USAGE = `usage: sotto [--state DIR] [--server URL] [--mqtt URL[,URL…]]… [--passphrase-file F] <command> …

  register <username> [--password P] [--kind user|bot|bridge]
  login <username> [--password P] [--totp CODE] [--kind …] [--reset-identity]
                                           --totp: the authenticator code (or a recovery code)
                                           when two-factor is on; asked for on a terminal
  guest [--name DISPLAY NAME]              continue as guest: a password-less guest_… account here
                                           (joins rooms, no rooms of its own; expires when idle)
  upgrade [--password P] [--username NAME] make this guest account a full one with a password,
                                           under NAME if given (keys, rooms and contacts follow)
  link show <username> [--password P] [--kind …]   new device: print a link code, wait
  link approve <code> [--no-history]      existing device: link the device showing <code>
                                           (copies the message history unless --no-history)
  password [--password CURRENT] [--new-password NEW]   change the account password
  reset-identity [--password P]            lost your other devices: new identity key here,
                                           every other device removed (contacts see a key change)
  2fa enable [--password P]                 start two-factor: prints the secret and otpauth URI
  2fa confirm <code>                        finish enabling (within 5 min); prints recovery codes
  2fa disable --totp CODE [--password P]    turn two-factor off (code or recovery code)
  2fa recovery [--password P]               new recovery codes (the old ones stop working)
  2fa status                                two-factor on or off, recovery codes left
  send <user|group:ID|#name> <text…> [--timeout SECONDS]   wait for delivery (10 s)
  listen                                   decrypted messages as JSON lines
  groups create <name> [member…] | add <group> <user> | remove <group> <user> | list
  groups keys <group>                      members whose identity key changed (identity reset)
  groups rekey <group> <user>              admin: re-add a member with their new identity key
  groups policy <group> [join=admins-add|invite|open] [announce=yes|no] [listed=yes|no] [topic=…]
  groups invite <group> [uses] [hours]     admin: make an invite link (0 uses = no limit; 168 h)
  groups invites <group> | revoke <group> <invite id>
  groups join <invite link>                join a room with an invite link
  rooms list [query] | rooms join <id>     the public directory of open rooms
  verify <user> [--mark | --unmark | --accept]
  profile set --name NAME | profile show [user]   display name, end-to-end encrypted to contacts
  block <user> | unblock <user>
  admin operators | operator <user> | ban <user> [reason] | unban <user> | close <group> [reason]
        | reopen <group> | reports | dismiss <report id> | log       (server operators only)
  thing add <name> | list | revoke <name>
  bridge --group <group> --thing <name> [--thing <name>…]

Without --mqtt, the broker is the one the server names at /.well-known/sotto.
Password: --password, SOTTO_PASSWORD, or the first line of stdin. New password (for password):
--new-password, SOTTO_NEW_PASSWORD, or the next line of stdin.`;
const OPTIONS = {
  state: { type: 'string' },
  server: { type: 'string' },
  mqtt: { type: 'string', multiple: true },
  password: { type: 'string' },
  'passphrase-file': { type: 'string' },
  'new-password': { type: 'string' },
  kind: { type: 'string' },
  timeout: { type: 'string' },
  /** Old name of --timeout. */
  wait: { type: 'string' },
  group: { type: 'string' },
  thing: { type: 'string', multiple: true },
  mark: { type: 'boolean' },
  unmark: { type: 'boolean' },
  accept: { type: 'boolean' },
  'reset-identity': { type: 'boolean' },
  totp: { type: 'string' },
  'no-history': { type: 'boolean' },
  name: { type: 'string' },
  username: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;
const isOption = (name: string): name is OptionName => Object.hasOwn(OPTIONS, name);

/**
 * Split `argv` into flags and positionals (throws on an unknown flag). Ids and secrets are
 * base64url, so a group id, invite link or generated password may begin with `-`: an argument
 * that names no flag of ours is a positional, and the value after a string flag is its value
 * whatever it begins with (`--password -x…`), instead of node's "ambiguous" / "unknown option".
 */
export function parseCommandLine(argv: string[]) {
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const long = /^--([^=]+)(=.*)?$/.exec(arg);
    const name = long ? long[1]! : arg === '-h' ? 'help' : undefined;
    if (name === undefined || (long && !isOption(name) && !/^[a-z][a-z-]*$/.test(name))) {
      positionals.push(arg);
      continue;
    }
    // A string flag written `--name value`: join them so the value may begin with "-".
    const takesValue = isOption(name) && OPTIONS[name].type === 'string';
    if (long && !long[2] && takesValue) {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      flags.push(`${arg}=${argv[++i]}`);
      continue;
    }
    flags.push(arg);
  }
  try {
    return parseArgs({
      args: [...flags, '--', ...positionals],
      allowPositionals: true,
      options: OPTIONS,
    });
  } catch (err) {
    // node's ERR_PARSE_ARGS_*: a bad command line, exit 2 like every other usage error
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw err;
    throw new UsageError((err as Error).message.split('. ')[0]);
  }
}

/** The parsed flags. */
export type CliValues = ReturnType<typeof parseCommandLine>['values'];

/** What a command handler gets: resolved config, its arguments after the command name, the flags. */
export interface CommandInput {
  /** The command name as typed (`register` and `login` share a handler). */
  command: string;
  cfg: CliConfig;
  args: string[];
  values: CliValues;
  /** `--kind`, already checked. */
  kind: DeviceKind | undefined;
}

/** A command handler: resolves to the exit status. */
export type Command = (input: CommandInput) => Promise<number>;
