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
/**
 * A plain MQTT client of an operator namespace (policy file, issue 20): any client id that is not
 * one of the contract's forms, with a password-file account (`username`) or anonymous (`null`).
 * It lives only in what the policy grants; the built-in namespaces never open to it.
 */
export interface OperatorIdentity {
  kind: 'operator';
  clientId: string;
  username: string | null;
}
/** Any authenticated connection. */
export type Identity = ClientIdentity | OperatorIdentity;

/**
 * The identity a client id names, or `null` when it is not a client id of the contract (the
 * broker then denies by default). Errors other than `BAD_CLIENT_ID` are not expected and rethrown.
 */
export function identityOf(clientId: string): ClientIdentity | null {
  try {
    return parseClientId(clientId);
  } catch (err) {
    if (isWireError(err, 'BAD_CLIENT_ID')) return null;
    throw err;
  }
}

/**
 * The account a connection belongs to: the device's user, the thing's owner, the operator
 * client's password-file user; `null` for services and anonymous clients.
 */
export function accountOf(identity: Identity): string | null {
  if (identity.kind === 'device') return identity.username;
  if (identity.kind === 'thing') return identity.owner;
  if (identity.kind === 'operator') return identity.username;
  return null;
}
