/**
 * A guest's upgrade to a username of its choice (docs/API.md "Guests", PROTOCOL.md §3.3): the
 * checks the key server makes before the store moves the account. The server signs nothing
 * here: the guest's identity key signs the rename statement and the device's new certificate,
 * and the server only checks that both say the same thing about this guest, this device and the
 * requested name, and that the name is free.
 */
import {
  decodeDeviceCertificate,
  decodeRenameStatement,
  equalBytes,
  fromBase64,
  isCryptoError,
  keyLogLeaf,
  renameLogLeaf,
  verifyDeviceCertificate,
  verifyRenameStatement,
  type DeviceCertificate,
  type RenameStatement,
} from '@sotto/crypto';
import type { AccessClaims } from '@sotto/server-core/tokens';
import type { GuestRenameRequest, Store } from '@sotto/server-core/store';
import { apiError } from './errors.ts';
import { refuseReservedName } from './guests.ts';

/** The rename part of an upgrade request, as the route's schema admits it. */
export interface RenameBody {
  username: string;
  /** base64url rename statement. */
  rename: string;
  /** base64url certificate of the calling device for `username`, signed by the same UIK. */
  certificate: string;
}

function decodeOr<T>(text: string, what: string, decode: (b: Uint8Array) => T): T {
  try {
    return decode(fromBase64(text));
  } catch (err) {
    throw apiError('MALFORMED_KEY', `${what}: ${(err as Error).message}`, err);
  }
}

function mismatch(message: string, cause?: unknown): never {
  throw apiError('RENAME_MISMATCH', message, cause);
}

/**
 * Check a guest's rename and build what the store writes. Throws `GUEST_NOT_ALLOWED` (not a
 * guest, more than its one device), `USERNAME_TAKEN` (reserved name), `MALFORMED_KEY`,
 * `BAD_SIGNATURE` or `RENAME_MISMATCH` (statement or certificate for another guest, device,
 * name or key). A name taken meanwhile is the store's answer.
 */
export async function checkGuestRename(
  store: Store,
  c: AccessClaims,
  body: RenameBody,
  passwordHash: string,
  at: number,
): Promise<GuestRenameRequest> {
  refuseReservedName(body.username);
  const [user, devices] = await Promise.all([store.getUser(c.sub), store.listDevices(c.sub)]);
  if (!user?.uik) throw apiError('GUEST_NOT_ALLOWED', 'publish device keys before the upgrade');
  // A guest has no password, so no second device can ever log in: its one device is the caller.
  const device = devices.find((d) => d.deviceId === c.dev);
  if (devices.length !== 1 || !device?.certificate) {
    throw apiError('GUEST_NOT_ALLOWED', 'a guest account is bound to its one device');
  }
  const st: RenameStatement = decodeOr(body.rename, 'rename', decodeRenameStatement);
  try {
    verifyRenameStatement(st, { from: c.sub, to: body.username, uik: user.uik });
  } catch (err) {
    if (isCryptoError(err, 'BAD_SIGNATURE')) throw apiError('BAD_SIGNATURE', err.message, err);
    mismatch((err as Error).message, err);
  }
  const cert: DeviceCertificate = decodeOr(
    body.certificate,
    'certificate',
    decodeDeviceCertificate,
  );
  try {
    verifyDeviceCertificate(cert, { uik: user.uik, username: body.username, deviceId: c.dev });
  } catch (err) {
    mismatch(`certificate: ${(err as Error).message}`, err);
  }
  // The device keeps its keys (its prekeys are signed by them): only the name may change.
  const old = decodeDeviceCertificate(device.certificate);
  if (
    old.kind !== cert.kind ||
    !equalBytes(old.signingKey, cert.signingKey) ||
    !equalBytes(old.identityKey, cert.identityKey)
  ) {
    mismatch('the new certificate must carry the device keys of the old one');
  }
  const certificate = fromBase64(body.certificate);
  return {
    from: c.sub,
    to: body.username,
    passwordHash,
    deviceId: c.dev,
    certificate,
    statement: fromBase64(body.rename),
    leaves: [
      keyLogLeaf(body.username, user.uik, certificate),
      renameLogLeaf(body.username, st),
      renameLogLeaf(c.sub, st),
    ],
    at,
  };
}
