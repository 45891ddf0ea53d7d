/**
 * `sotto` — the command line of @sotto/client (DESIGN.md §5.4, issue 5):
 * register, login, link, send, listen, groups, verify, thing, bridge. Keys, sessions
 * and history live in a state directory (SQLite, mode 0600). Documented in
 * docs/CLIENT.md. Exit codes: see {@link EXIT}.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DISCOVERY_PATH,
  decodeDiscovery,
  groupConversation,
  parseConversation,
  type DeviceKind,
} from '@sotto/crypto';
import mqtt from 'mqtt';
import { startBridge } from '../bridge.ts';
import { createClient, type SottoClient } from '../engine.ts';
import { isClientError } from '../errors.ts';
import { isApiError } from '../http.ts';
import type { MessageRecord } from '../store/types.ts';
import { createSqliteStore } from '../stores/sqlite.ts';
import { ensureStateDir, loadCliConfig, saveServer, type CliConfig } from './config.ts';
import { PassphraseOptionError } from './passphrase.ts';

/** Exit statuses. */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  /** Key server or broker unreachable. */
  UNREACHABLE: 3,
  /** Wrong password, not logged in, token revoked. */
  AUTH: 4,
  /** Unknown user, group or thing. */
  NOT_FOUND: 5,
  /** A verified contact's key changed: run `sotto verify <user> --accept`. */
  KEY_CHANGED: 6,
  /** Name taken, or similar conflict. */
  CONFLICT: 7,
  /**
   * `send`: the broker took the message but no recipient device confirmed it within `--timeout`
   * (it stays in the outbox and is sent again by the next command on this state).
   */
  NOT_DELIVERED: 8,
} as const;

class UsageError extends Error {}

const USAGE = `usage: sotto [--state DIR] [--server URL] [--mqtt URL[,URL…]]… [--passphrase-file F] <command> …

  register <username> [--password P] [--kind user|bot|bridge]
  login <username> [--password P] [--kind …] [--reset-identity]
  link show <username> [--password P] [--kind …]   new device: print a link code, wait
  link approve <code> [--no-history]      existing device: link the device showing <code>
                                           (copies the message history unless --no-history)
  password [--password CURRENT] [--new-password NEW]   change the account password
  reset-identity [--password P]            lost your other devices: new identity key here,
                                           every other device removed (contacts see a key change)
  send <user|group:ID|#name> <text…> [--timeout SECONDS]   wait for delivery (10 s)
  listen                                   decrypted messages as JSON lines
  groups create <name> [member…] | add <group> <user> | remove <group> <user> | list
  groups keys <group>                      members whose identity key changed (identity reset)
  groups rekey <group> <user>              admin: re-add a member with their new identity key
  verify <user> [--mark | --unmark | --accept]
  thing add <name> | list | revoke <name>
  bridge --group <group> --thing <name> [--thing <name>…]

Without --mqtt, the broker is the one the server names at /.well-known/sotto.
Password: --password, SOTTO_PASSWORD, or the first line of stdin. New password (for password):
--new-password, SOTTO_NEW_PASSWORD, or the next line of stdin.`;

function print(obj: unknown): void {
  process.stdout.write(`${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n`);
}

/** Read one line per prompt from stdin (each prompt shown on a terminal); missing lines are ''. */
async function readLines(prompts: string[]): Promise<string[]> {
  const lines: string[] = [];
  let buf = Buffer.alloc(0);
  const ask = (): void => {
    if (process.stdin.isTTY && lines.length < prompts.length)
      process.stderr.write(`${prompts[lines.length]}: `);
  };
  const take = (): void => {
    for (let i = buf.indexOf(10); i >= 0 && lines.length < prompts.length; i = buf.indexOf(10)) {
      lines.push(buf.subarray(0, i).toString('utf8').trim());
      buf = buf.subarray(i + 1);
      ask();
    }
  };
  ask();
  for await (const c of process.stdin) {
    buf = Buffer.concat([buf, c as Buffer]);
    take();
    if (lines.length === prompts.length) break;
  }
  if (lines.length < prompts.length && buf.length > 0) lines.push(buf.toString('utf8').trim());
  while (lines.length < prompts.length) lines.push('');
  return lines;
}

async function readPassword(cfg: CliConfig): Promise<string> {
  const line = cfg.password ?? (await readLines(['password']))[0];
  if (!line) throw new UsageError('a password is required (--password, SOTTO_PASSWORD or stdin)');
  return line;
}

/**
 * Current and new password for `sotto password`: `--password` / `SOTTO_PASSWORD` and
 * `--new-password` / `SOTTO_NEW_PASSWORD`; whichever is missing is read from stdin, one line
 * each, current first.
 */
async function readPasswordChange(
  cfg: CliConfig,
  newFlag: string | undefined,
): Promise<{ current: string; next: string }> {
  const fromEnv = process.env.SOTTO_NEW_PASSWORD;
  let current = cfg.password;
  let next = newFlag ?? (fromEnv === '' ? undefined : fromEnv);
  const prompts = [
    ...(current === undefined ? ['current password'] : []),
    ...(next === undefined ? ['new password'] : []),
  ];
  if (prompts.length > 0) {
    const lines = await readLines(prompts);
    if (current === undefined) current = lines.shift();
    if (next === undefined) next = lines.shift();
  }
  if (!current) {
    throw new UsageError(
      'the current password is required (--password, SOTTO_PASSWORD or the first line of stdin)',
    );
  }
  if (!next) {
    throw new UsageError(
      'a new password is required (--new-password, SOTTO_NEW_PASSWORD or a line of stdin)',
    );
  }
  if (next.length < 8) throw new UsageError('the new password needs at least 8 characters');
  return { current, next };
}

/** Where the broker is when the server does not say (servers older than discovery). */
function guessedMqttUrl(server: string): string {
  return `mqtt://${new URL(server).hostname}:1883`;
}

/**
 * The broker URL(s) to use: `--mqtt` / `SOTTO_MQTT` / remembered, else the one the key server
 * names at `/.well-known/sotto` (TCP if offered, else WebSocket), else the old default port.
 */
async function brokerUrls(cfg: CliConfig, server: string): Promise<string[]> {
  if (cfg.mqtt !== undefined) return cfg.mqtt.split(',').filter((u) => u !== '');
  let res: Response;
  try {
    res = await fetch(new URL(DISCOVERY_PATH, server), { signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw Object.assign(
      new Error(`cannot reach the server at ${server}: ${errorText(cause)} — is it running?`),
      { exit: EXIT.UNREACHABLE },
    );
  }
  if (res.status === 404) return [guessedMqttUrl(server)];
  try {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const { mqtt: urls } = decodeDiscovery(await res.text());
    return [urls.tcp ?? urls.ws];
  } catch (cause) {
    throw Object.assign(
      new Error(
        `${server}${DISCOVERY_PATH} did not name a broker (${errorText(cause)}); pass --mqtt URL`,
      ),
      { exit: EXIT.UNREACHABLE },
    );
  }
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
}

async function open(cfg: CliConfig, withMqtt: boolean): Promise<Opened> {
  if (!cfg.server)
    throw new UsageError('no server: pass --server URL (remembered after register/login)');
  // Several brokers (repeated --mqtt or a comma list): failover in that order.
  const brokers = withMqtt ? await brokerUrls(cfg, cfg.server) : [];
  const first = brokers[0];
  if (withMqtt && !first) throw new UsageError('--mqtt needs a broker URL');
  ensureStateDir(cfg.stateDir);
  const store = createSqliteStore({
    path: join(cfg.stateDir, 'state.sqlite'),
    ...(cfg.passphrase !== undefined ? { passphrase: cfg.passphrase } : {}),
  });
  const client = createClient({
    store,
    http: { baseUrl: cfg.server },
    ...(first
      ? {
          mqttConnect: (o) => mqtt.connect(first, o),
          ...(brokers.length > 1 ? { brokers } : {}),
        }
      : {}),
  });
  return Object.assign(client, { brokerUrl: brokers.join(',') });
}

/** An engine opened by the CLI, with the broker URL(s) it uses (for messages). */
type Opened = SottoClient & { brokerUrl: string };

/**
 * Start the engine and wait (up to `seconds`) until it is connected to the broker; otherwise
 * fail with {@link EXIT.UNREACHABLE} and the last connection error.
 */
async function startOnline(client: Opened, seconds: number): Promise<void> {
  let lastError: string | undefined;
  const onConnection = (c: { state: string; error?: string | undefined }): void => {
    if (c.error) lastError = c.error;
  };
  client.on('connection', onConnection);
  try {
    await client.start();
    const deadline = Date.now() + seconds * 1000;
    while (client.connectionState !== 'online' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    if (client.connectionState !== 'online') {
      throw Object.assign(
        new Error(
          `cannot reach the broker at ${client.brokerUrl}${lastError ? `: ${lastError}` : ''} ` +
            '(pass --mqtt URL, or check what the server names at /.well-known/sotto)',
        ),
        { exit: EXIT.UNREACHABLE },
      );
    }
  } finally {
    client.off('connection', onConnection);
  }
}

/** Resolve `#name` to a group id by name; `group:ID` and bare ids pass through. */
async function groupId(client: SottoClient, ref: string): Promise<string> {
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

function messageLine(m: MessageRecord): Record<string, unknown> {
  return {
    type: 'message',
    conversation: m.conversationId,
    id: m.id,
    from: m.sender,
    device: m.senderDevice,
    ...(m.senderKind ? { fromKind: m.senderKind } : {}),
    kind: m.kind,
    timestamp: m.timestamp,
    ...m.body,
  };
}

/** How far a sent message got by the deadline. */
interface Confirmation {
  /** Every recipient device (and our own other devices) confirmed it: it left the outbox. */
  delivered: boolean;
  /** Devices of other users that confirmed it. */
  confirmed: number;
  /** Devices (any user, ours included) that have not confirmed it yet. */
  pending: number;
}

/**
 * Wait until the message left the outbox (every device confirmed it with a `delivered` receipt)
 * or `deadline`, and count the devices of other users that confirmed it meanwhile.
 */
async function waitDelivered(
  client: SottoClient,
  id: string,
  deadline: number,
): Promise<Confirmation> {
  const me = client.account?.username;
  const key = (e: { recipient: string; recipientDevice: string }) =>
    `${e.recipient}:${e.recipientDevice}`;
  const entries = async () => (await client.store.listOutbox()).filter((e) => e.messageId === id);
  const others = (await entries()).filter((e) => e.recipient !== me).map(key);
  for (;;) {
    const pending = await entries();
    const left = new Set(pending.map(key));
    const result = {
      delivered: pending.length === 0,
      confirmed: others.filter((k) => !left.has(k)).length,
      pending: pending.length,
    };
    if (result.delivered || Date.now() >= deadline) return result;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Long-running commands (listen, bridge): every connection change as a `connection:` line on
 * stderr, and a broker that cannot be reached said plainly once per outage (the engine keeps
 * retrying).
 */
function reportConnection(client: Opened): void {
  let reported = false;
  client.on('connection', (c) => {
    process.stderr.write(`connection: ${c.state}${c.error ? ` (${c.error})` : ''}\n`);
    if (c.state === 'online') reported = false;
    else if (c.error && !reported && c.state === 'offline') {
      reported = true;
      process.stderr.write(
        `sotto: cannot reach the broker at ${client.brokerUrl}: ${c.error}; retrying ` +
          '(pass --mqtt URL, or check what the server names at /.well-known/sotto)\n',
      );
    }
  });
}

/** Run the CLI; resolves to the exit status. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
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
      'no-history': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
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

  switch (command) {
    case 'register':
    case 'login': {
      const username = args[0];
      if (!username) throw new UsageError(`${command} needs a username`);
      const password = await readPassword(cfg);
      const client = await open(cfg, false);
      try {
        const opts = {
          ...(kind ? { kind } : {}),
          ...(values['reset-identity'] ? { resetIdentity: true } : {}),
        };
        const info =
          command === 'register'
            ? await client.register(username, password, opts)
            : await client.login(username, password, opts);
        saveServer(cfg.stateDir, cfg.server!, cfg.mqtt);
        print(info);
      } finally {
        await client.close();
        await client.store.close();
      }
      return EXIT.OK;
    }
    case 'password': {
      const { current, next } = await readPasswordChange(cfg, values['new-password']);
      const client = await open(cfg, false);
      try {
        await client.changePassword(current, next);
        print({ type: 'password-changed', username: client.account?.username });
      } finally {
        await client.close();
        await client.store.close();
      }
      return EXIT.OK;
    }
    case 'reset-identity': {
      const password = await readPassword(cfg);
      const client = await open(cfg, false);
      try {
        const info = await client.resetIdentity(password);
        print({ type: 'identity-reset', ...info });
      } finally {
        await client.close();
        await client.store.close();
      }
      return EXIT.OK;
    }
    case 'send': {
      const [to, ...words] = args;
      if (!to || words.length === 0) throw new UsageError('send needs a recipient and text');
      const seconds = Number(values.timeout ?? values.wait ?? 10);
      if (!Number.isFinite(seconds) || seconds < 0)
        throw new UsageError('--timeout needs a number of seconds');
      const deadline = Date.now() + seconds * 1000;
      const client = await open(cfg, true);
      try {
        await startOnline(client, seconds);
        const target =
          to.startsWith('#') || to.startsWith('group:')
            ? groupConversation(await groupId(client, to))
            : to;
        const m = await client.sendText(target, words.join(' '));
        const c = await waitDelivered(client, m.id, deadline);
        print({ id: m.id, conversation: m.conversationId, ...c });
        // Success once the recipient has it on some device; the others get it from their queue.
        if (!c.delivered && c.confirmed === 0) {
          process.stderr.write(
            `sotto: message ${m.id} was not confirmed delivered within ${seconds} s ` +
              '(recipient offline?); it stays queued and is sent again by the next sotto ' +
              'command on this state directory\n',
          );
          return EXIT.NOT_DELIVERED;
        }
      } finally {
        await client.close();
        await client.store.close();
      }
      return EXIT.OK;
    }
    case 'listen': {
      const client = await open(cfg, true);
      client.on('message', (m) => print(messageLine(m)));
      client.on('receipt', (r) => print({ type: 'receipt', ...r }));
      client.on('groupChange', (g) => print({ type: 'groupChange', ...g }));
      client.on('keyChange', (k) => print({ type: 'keyChange', ...k }));
      client.on('ownKeyAlert', (a) => print({ type: 'ownKeyAlert', ...a }));
      reportConnection(client);
      await client.start();
      await waitForSignal();
      await client.close();
      await client.store.close();
      return EXIT.OK;
    }
    case 'groups': {
      const [sub, a1, a2] = args;
      const client = await open(cfg, sub !== 'list');
      try {
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
      } finally {
        await client.close();
        await client.store.close();
      }
      return EXIT.OK;
    }
    case 'verify': {
      const user = args[0];
      if (!user) throw new UsageError('verify needs a user');
      const client = await open(cfg, false);
      try {
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
      } finally {
        await client.close();
        await client.store.close();
      }
      return EXIT.OK;
    }
    case 'thing': {
      const [sub, name] = args;
      const client = await open(cfg, false);
      try {
        await client.start();
        if (sub === 'add' && name) print(await client.http.addThing(name));
        else if (sub === 'list') for (const t of await client.http.listThings()) print(t);
        else if (sub === 'revoke' && name) {
          await client.http.revokeThing(name);
          print({ thing: name, revoked: true });
        } else throw new UsageError('thing add <name> | list | revoke <name>');
      } finally {
        await client.close();
        await client.store.close();
      }
      return EXIT.OK;
    }
    case 'link': {
      const [sub, arg] = args;
      if (sub === 'show') {
        if (!arg) throw new UsageError('link show needs a username');
        const password = await readPassword(cfg);
        const client = await open(cfg, true);
        try {
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
        } finally {
          await client.close();
          await client.store.close();
        }
        return EXIT.OK;
      }
      if (sub === 'approve') {
        if (!arg) throw new UsageError('link approve needs the code the new device shows');
        const client = await open(cfg, true);
        try {
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
        } finally {
          await client.close();
          await client.store.close();
        }
        return EXIT.OK;
      }
      throw new UsageError('link show <username> | approve <code>');
    }
    case 'bridge': {
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
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** Map an error to a message on stderr and an exit status. */
export function explain(err: unknown): number {
  const say = (msg: string): void => void process.stderr.write(`sotto: ${msg}\n`);
  if (err instanceof UsageError || err instanceof PassphraseOptionError) {
    say(err.message);
    say('run `sotto --help` for usage');
    return EXIT.USAGE;
  }
  if (isApiError(err)) {
    if (err.code === 'NETWORK') {
      say(`${err.message} — is the server running?`);
      return EXIT.UNREACHABLE;
    }
    say(`${err.code}: ${err.message}`);
    if (err.status === 401 || err.code === 'INVALID_CREDENTIALS') return EXIT.AUTH;
    if (err.status === 404) return EXIT.NOT_FOUND;
    if (err.status === 409) return EXIT.CONFLICT;
    return EXIT.ERROR;
  }
  if (isClientError(err)) {
    say(`${err.code}: ${err.message}`);
    if (err.code === 'NOT_REGISTERED') return EXIT.AUTH;
    // The local database's passphrase: missing or wrong (--passphrase-file, SOTTO_PASSPHRASE).
    if (err.code === 'STORE_LOCKED' || err.code === 'WRONG_PASSPHRASE') return EXIT.AUTH;
    if (err.code === 'KEY_CHANGED') return EXIT.KEY_CHANGED;
    if (err.code === 'NOT_MEMBER' || err.code === 'NO_DEVICES') return EXIT.NOT_FOUND;
    if (err.code === 'NO_KEY_CHANGE') return EXIT.CONFLICT;
    if (err.code === 'REKEY_PENDING')
      say('an admin of the group has to re-add you with your new key');
    if (err.code === 'LINK_REQUIRED') {
      say(
        'run `sotto link show <username>` here and `sotto link approve <code>` on a linked device',
      );
    }
    if (err.code === 'BAD_CODE' || err.code === 'WRONG_USER') return EXIT.USAGE;
    return EXIT.ERROR;
  }
  const exit = (err as { exit?: number }).exit;
  say(err instanceof Error ? err.message : String(err));
  return exit ?? EXIT.ERROR;
}

// Run directly (`tsx client/src/cli/main.ts`); bin/sotto.js imports run/explain instead.
const isMain = process.argv[1] !== undefined && /main\.ts$/.test(process.argv[1]);
if (isMain) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => process.exit(explain(err)),
  );
}
