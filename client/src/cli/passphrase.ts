/**
 * The CLI's passphrase of its local database (issue 15, docs/CLIENT.md "Storage"): from
 * `--passphrase-file PATH` (the file's first line) or else `SOTTO_PASSPHRASE`. With one, the
 * storage key of `state.sqlite` is wrapped under it (PBKDF2-SHA-256, `store/keyring.ts`);
 * given for a state that has none, it sets it.
 */
import { readFileSync } from 'node:fs';

/** A passphrase option that cannot be used (exit status: usage). */
export class PassphraseOptionError extends Error {
  override readonly name = 'PassphraseOptionError';
}

/**
 * The passphrase to open the local database with, or undefined for none. The file wins over
 * the environment; only its first line counts (a trailing newline is not part of it).
 *
 * @throws PassphraseOptionError when the file cannot be read or its first line is empty.
 */
export function resolveStorePassphrase(
  file: string | undefined,
  fromEnv: string | undefined,
): string | undefined {
  if (file === undefined) return fromEnv === '' ? undefined : fromEnv;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new PassphraseOptionError(`--passphrase-file ${file}: cannot read it`, { cause });
  }
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '')
    throw new PassphraseOptionError(`--passphrase-file ${file}: the first line is empty`);
  return line;
}
