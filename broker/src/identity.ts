/**
 * Who is on the other end of a connection, derived from the MQTT client id
 * (DESIGN.md §4.2): `{username}:{deviceId}` for user and bot devices,
 * `thing:{owner}:{thing}` for IoT things, `service:keyserver:{n}` for a key
 * server instance. The id is parsed strictly with the contract's patterns,
 * so no identity can contain `/`, `+` or `#` and widen a topic.
 */
import { DEVICE_ID_PATTERN, THING_PATTERN, USERNAME_PATTERN } from '@sotto/crypto/wire';

/** A user's (or bot's) device. */
export interface DeviceIdentity {
  kind: 'device';
  clientId: string;
  username: string;
  deviceId: string;
}

/** An IoT thing, owned by a user; it lives only under `iot/{owner}/{thing}/`. */
export interface ThingIdentity {
  kind: 'thing';
  clientId: string;
  owner: string;
  thing: string;
}

/** A key server instance, which publishes control notices. */
export interface ServiceIdentity {
  kind: 'service';
  clientId: string;
  /** Service name: only `keyserver` exists. */
  service: 'keyserver';
  /** Instance id (token `dev` claim). */
  instance: string;
}

/** Any authenticated connection. */
export type Identity = DeviceIdentity | ThingIdentity | ServiceIdentity;

/** Parse a client id; `null` unless it matches one of the three forms exactly. */
export function parseClientId(clientId: string): Identity | null {
  if (clientId.length === 0 || clientId.length > 200) return null;
  const parts = clientId.split(':');
  if (parts.length === 2) {
    const [username, deviceId] = parts as [string, string];
    // `thing` and `service` prefixes are reserved for the other forms.
    if (username === 'thing' || username === 'service') return null;
    if (USERNAME_PATTERN.test(username) && DEVICE_ID_PATTERN.test(deviceId)) {
      return { kind: 'device', clientId, username, deviceId };
    }
    return null;
  }
  if (parts.length === 3) {
    const [prefix, a, b] = parts as [string, string, string];
    if (prefix === 'thing' && USERNAME_PATTERN.test(a) && THING_PATTERN.test(b)) {
      return { kind: 'thing', clientId, owner: a, thing: b };
    }
    if (prefix === 'service' && a === 'keyserver' && DEVICE_ID_PATTERN.test(b)) {
      return { kind: 'service', clientId, service: 'keyserver', instance: b };
    }
  }
  return null;
}

/** The account a connection belongs to: the device's user, the thing's owner; `null` for services. */
export function accountOf(identity: Identity): string | null {
  if (identity.kind === 'device') return identity.username;
  if (identity.kind === 'thing') return identity.owner;
  return null;
}
