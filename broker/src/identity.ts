/**
 * Who is on the other end of a connection. The client id format itself (`{username}:{deviceId}`,
 * `thing:{owner}:{thing}`, `service:keyserver:{n}`) is part of the wire contract and is built and
 * parsed only in `@sotto/crypto/wire` (`client-ids.ts`, docs/PROTOCOL.md §7 "Client ids"); this
 * module names those identities for the broker and adds what only the broker asks of them.
 */
import {
  isWireError,
  parseClientId,
  type ClientIdentity,
  type DeviceClientIdentity,
  type ServiceClientIdentity,
  type ThingClientIdentity,
} from '@sotto/crypto/wire';

/** A user's (or bot's) device. */
export type DeviceIdentity = DeviceClientIdentity;
/** An IoT thing, owned by a user; it lives only under `iot/{owner}/{thing}/`. */
export type ThingIdentity = ThingClientIdentity;
/** A key server instance, which publishes control notices. */
export type ServiceIdentity = ServiceClientIdentity;
/** Any authenticated connection. */
export type Identity = ClientIdentity;

/**
 * The identity a client id names, or `null` when it is not a client id of the contract (the
 * broker then denies by default). Errors other than `BAD_CLIENT_ID` are not expected and rethrown.
 */
export function identityOf(clientId: string): Identity | null {
  try {
    return parseClientId(clientId);
  } catch (err) {
    if (isWireError(err, 'BAD_CLIENT_ID')) return null;
    throw err;
  }
}

/** The account a connection belongs to: the device's user, the thing's owner; `null` for services. */
export function accountOf(identity: Identity): string | null {
  if (identity.kind === 'device') return identity.username;
  if (identity.kind === 'thing') return identity.owner;
  return null;
}
