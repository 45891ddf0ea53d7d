/**
 * The CLI's configuration module: the only place in @sotto/client that reads
 * `process.env`. Flags win over the environment; the server URLs given at
 * register/login are remembered in the state directory.
 *
 * Environment: `SOTTO_STATE` (state directory, default `~/.sotto`),
 * `SOTTO_SERVER` (key server URL), `SOTTO_MQTT` (broker URL),
 * `SOTTO_PASSWORD` (password for register/login without a prompt),
 * `SOTTO_NEW_PASSWORD` (new password for `sotto password`), `SOTTO_PASSPHRASE`
 * (passphrase of the local database, when no `--passphrase-file` is given).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { resolveStorePassphrase } from './passphrase.ts';

/** Resolved CLI settings. */
export interface CliConfig {
  stateDir: string;
  server: string | undefined;
  mqtt: string | undefined;
  password: string | undefined;
  /** `SOTTO_NEW_PASSWORD` (`--new-password` wins over it; `sotto password`). */
  newPassword: string | undefined;
  /** Passphrase of the local database (`--passphrase-file`, `SOTTO_PASSPHRASE`). */
  passphrase: string | undefined;
}

/** Remembered per state directory. */
interface Saved {
  server?: string;
  mqtt?: string;
}

/** Read flags (already parsed) and environment. */
export function loadCliConfig(flags: Record<string, string | boolean | undefined>): CliConfig {
  const env = process.env;
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' && v !== '' ? v : undefined;
  const stateDir = str(flags.state) ?? str(env.SOTTO_STATE) ?? join(homedir(), '.sotto');
  const saved = readSaved(stateDir);
  return {
    stateDir,
    server: str(flags.server) ?? str(env.SOTTO_SERVER) ?? saved.server,
    mqtt: str(flags.mqtt) ?? str(env.SOTTO_MQTT) ?? saved.mqtt,
    password: str(flags.password) ?? str(env.SOTTO_PASSWORD),
    newPassword: str(env.SOTTO_NEW_PASSWORD),
    passphrase: resolveStorePassphrase(str(flags['passphrase-file']), env.SOTTO_PASSPHRASE),
  };
}

/** Create the state directory (0700) if needed. */
export function ensureStateDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

function readSaved(dir: string): Saved {
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Saved;
  } catch {
    return {};
  }
}

/**
 * Remember the server URL and, when one was given, the broker URL (file mode 0600). Without a
 * broker URL, later commands ask the server (`/.well-known/sotto`) each time, so a server that
 * moves its broker is followed.
 */
export function saveServer(dir: string, server: string, mqtt: string | undefined): void {
  ensureStateDir(dir);
  const file = join(dir, 'config.json');
  const saved: Saved = mqtt === undefined ? { server } : { server, mqtt };
  writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
}
