/**
 * How the CLI ends: exit statuses, the usage error, and the mapping of any
 * error to a message on stderr and a status ({@link explain}).
 */
import { isClientError } from '../errors.ts';
import { isApiError } from '../http.ts';
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

/** Bad command line: the message and a hint to `--help`, exit {@link EXIT.USAGE}. */
export class UsageError extends Error {}

/** An error's message with its cause's, for one line on stderr. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
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
