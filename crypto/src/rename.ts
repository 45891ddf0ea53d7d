/**
 * The rename statement (PROTOCOL.md §3.3): a guest account, on upgrade, moves to a username of
 * its choice. The account's user identity key (UIK) signs "`from` is now `to`"; the key server
 * publishes the statement in the key-transparency log (§10) under both names, and contacts move
 * their trust-on-first-use pin from `from` to `to` only when the statement verifies under the
 * UIK they pinned for `from`. Only a guest name (`guest_…`) may be renamed, and only to a
 * non-guest name, so an account renames at most once and no full account can be renamed.
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter, equalBytes } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { sign, verify } from './internal/ed25519.ts';
import type { KeyPair } from './keys.ts';
import { sodium } from './sodium.ts';
import { USERNAME_PATTERN } from './wire/topics.ts';

/** Version byte of the rename statement encoding. */
export const RENAME_STATEMENT_VERSION = 1;

/** Signature domain of rename statements: the UIK signs `string8(domain) ‖ tbs`. */
export const RENAME_STATEMENT_DOMAIN = 'Sotto_v1_RenameStatement';

/**
 * Every guest account's name starts with this (sign-up refuses it), and only such a name may
 * be renamed (docs/API.md "Guests").
 */
export const GUEST_NAME_PREFIX = 'guest_';

/** True when `username` is a guest's name. */
export function isGuestName(username: string): boolean {
  return username.startsWith(GUEST_NAME_PREFIX);
}

/** What a rename statement says, before it is signed. */
export interface RenameFields {
  /** The guest name the account had. */
  from: string;
  /** The name it has from now on (not a guest name). */
  to: string;
  /** The account's UIK (Ed25519 public key): the signer, the same under both names. */
  uik: Uint8Array;
  /** When the guest signed it, milliseconds since the epoch (informational). */
  at: number;
}

/** A rename statement: the fields and the UIK's signature over them. */
export interface RenameStatement extends RenameFields {
  signature: Uint8Array;
}

/**
 * Throw RangeError unless `from` is a guest name, `to` a valid non-guest username and
 * different. Shared by signing and by the membership chain's `rename` record.
 */
export function checkRenameNames(from: string, to: string): void {
  if (!USERNAME_PATTERN.test(from) || !isGuestName(from)) {
    throw new RangeError(`from must be a guest name (${GUEST_NAME_PREFIX}…)`);
  }
  if (!USERNAME_PATTERN.test(to)) throw new RangeError(`to must match ${String(USERNAME_PATTERN)}`);
  if (isGuestName(to)) throw new RangeError('to must not be a guest name');
}

function checkFields(f: RenameFields): void {
  checkRenameNames(f.from, f.to);
  if (!(f.uik instanceof Uint8Array) || f.uik.length !== sodium().crypto_sign_PUBLICKEYBYTES) {
    throw new RangeError(`uik must be ${sodium().crypto_sign_PUBLICKEYBYTES} bytes`);
  }
  if (!Number.isSafeInteger(f.at) || f.at < 0) throw new RangeError('at must be a time in ms');
}

/** `u8 version ‖ string8 from ‖ string8 to ‖ uik[32] ‖ u64 at`: what the UIK signs. */
function encodeFields(f: RenameFields): Uint8Array {
  return new ByteWriter()
    .u8(RENAME_STATEMENT_VERSION)
    .string8(f.from)
    .string8(f.to)
    .raw(f.uik)
    .u64(f.at)
    .finish();
}

/** Sign "`from` is now `to`" with the account's UIK key pair. */
export function signRenameStatement(
  uik: KeyPair,
  fields: Omit<RenameFields, 'uik'>,
): RenameStatement {
  const full: RenameFields = {
    from: fields.from,
    to: fields.to,
    uik: uik.publicKey,
    at: fields.at,
  };
  checkFields(full);
  return { ...full, signature: sign(uik.secretKey, RENAME_STATEMENT_DOMAIN, encodeFields(full)) };
}

/** Canonical encoding: the signed fields followed by the 64-byte signature. */
export function encodeRenameStatement(st: RenameStatement): Uint8Array {
  checkFields(st);
  if (!(st.signature instanceof Uint8Array) || st.signature.length !== sodium().crypto_sign_BYTES) {
    throw new RangeError(`signature must be ${sodium().crypto_sign_BYTES} bytes`);
  }
  return new ByteWriter().raw(encodeFields(st)).raw(st.signature).finish();
}

/**
 * Strict decoder (structure and name rules; not the signature: {@link verifyRenameStatement}).
 * Throws `CryptoError` MALFORMED or UNSUPPORTED_VERSION.
 */
export function decodeRenameStatement(bytes: Uint8Array): RenameStatement {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError('MALFORMED', 'statement is not bytes');
  const s = sodium();
  const r = new ByteReader(bytes);
  const version = r.u8('rename statement version');
  if (version !== RENAME_STATEMENT_VERSION) {
    throw new CryptoError('UNSUPPORTED_VERSION', `rename statement version ${version}`);
  }
  const from = r.string8('from');
  const to = r.string8('to');
  const uik = r.raw(s.crypto_sign_PUBLICKEYBYTES, 'uik');
  const at = r.u64('at');
  const signature = r.raw(s.crypto_sign_BYTES, 'signature');
  r.end('rename statement');
  try {
    checkRenameNames(from, to);
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'rename statement names are not a guest → user rename', {
      cause,
    });
  }
  return { from, to, uik, at, signature };
}

/** What a verifier insists on besides a valid signature. */
export interface RenameExpectation {
  from?: string;
  to?: string;
  /** The UIK the verifier holds for `from` (a contact's pin, the server's directory). */
  uik?: Uint8Array;
}

/**
 * Verify a statement: its names follow the rename rules, its UIK signed it, and it says what
 * `expected` says. A signature that does not verify is BAD_SIGNATURE; a valid statement by
 * another key, or naming other users, is NOT_AUTHORIZED; broken fields are MALFORMED.
 */
export function verifyRenameStatement(st: RenameStatement, expected: RenameExpectation = {}): void {
  try {
    checkFields(st);
  } catch (cause) {
    throw new CryptoError('MALFORMED', 'rename statement fields are malformed', { cause });
  }
  verify(st.uik, RENAME_STATEMENT_DOMAIN, encodeFields(st), st.signature);
  if (expected.uik !== undefined && !equalBytes(expected.uik, st.uik)) {
    throw new CryptoError('NOT_AUTHORIZED', `the rename of ${st.from} is signed by another key`);
  }
  if (expected.from !== undefined && expected.from !== st.from) {
    throw new CryptoError(
      'NOT_AUTHORIZED',
      `the statement renames ${st.from}, not ${expected.from}`,
    );
  }
  if (expected.to !== undefined && expected.to !== st.to) {
    throw new CryptoError(
      'NOT_AUTHORIZED',
      `the statement renames to ${st.to}, not ${expected.to}`,
    );
  }
}

/** Version byte of a rename leaf of the key-transparency log (device leaves are version 1). */
export const RENAME_LEAF_VERSION = 2;

/** A rename leaf, decoded: the name it is filed under and the statement it carries. */
export interface RenameLogEntry {
  /** `statement.to` (the arrival) or `statement.from` (the tombstone). */
  username: string;
  statement: RenameStatement;
}

/**
 * Leaf data of a rename in the key-transparency log (PROTOCOL.md §10):
 * `u8 version (= 2) ‖ string8 username ‖ bytes16 statement`, where `username` is the
 * statement's `to` (the arrival leaf) or its `from` (the tombstone leaf). Both are appended:
 * a monitor of either name sees the rename.
 */
export function renameLogLeaf(username: string, statement: RenameStatement): Uint8Array {
  if (username !== statement.from && username !== statement.to) {
    throw new RangeError("a rename leaf is filed under the statement's from or to");
  }
  return new ByteWriter()
    .u8(RENAME_LEAF_VERSION)
    .string8(username)
    .bytes16(encodeRenameStatement(statement))
    .finish();
}

/** Strict decoder for {@link renameLogLeaf}; the signature is not checked here. */
export function decodeRenameLogLeaf(bytes: Uint8Array): RenameLogEntry {
  if (!(bytes instanceof Uint8Array)) throw new CryptoError('MALFORMED', 'leaf is not bytes');
  const r = new ByteReader(bytes);
  const version = r.u8('leaf version');
  if (version !== RENAME_LEAF_VERSION) {
    throw new CryptoError('UNSUPPORTED_VERSION', `rename leaf version ${version}`);
  }
  const username = r.string8('username');
  const statement = decodeRenameStatement(r.bytes16('statement'));
  r.end('rename leaf');
  if (username !== statement.from && username !== statement.to) {
    throw new CryptoError(
      'MALFORMED',
      'rename leaf filed under a name its statement does not name',
    );
  }
  return { username, statement };
}
