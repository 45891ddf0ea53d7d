/**
 * MQTT client ids (docs/PROTOCOL.md §7 "Client ids"), built and parsed only here: the key
 * server, the clients and their tests build them with these functions, the broker parses every
 * CONNECT's id with {@link parseClientId}. Three forms, each also the MQTT username:
 *
 * - `{username}:{deviceId}` — a user's or bot's device;
 * - `thing:{owner}:{thing}` — an IoT thing (it lives only under `iot/{owner}/{thing}/`);
 * - `service:keyserver:{instance}` — a key server instance publishing control notices.
 *
 * Every part matches the contract's patterns, so no id can contain `/`, `+`, `#` or `:` inside
 * a part and widen a topic or pass for another form.
 */
import { checked } from './check.ts';
import { WireError } from './errors.ts';
import { DEVICE_ID_PATTERN, THING_PATTERN, USERNAME_PATTERN } from './topics.ts';

/** Longest client id {@link parseClientId} accepts (the longest valid one is 140 characters). */
export const MAX_CLIENT_ID_LENGTH = 200;

/** A user's (or bot's) device: `{username}:{deviceId}`. */
export interface DeviceClientIdentity {
  kind: 'device';
  clientId: string;
  username: string;
  deviceId: string;
}

/** An IoT thing owned by a user: `thing:{owner}:{thing}`. */
export interface ThingClientIdentity {
  kind: 'thing';
  clientId: string;
  owner: string;
  thing: string;
}

/** A key server instance: `service:keyserver:{instance}`. */
export interface ServiceClientIdentity {
  kind: 'service';
  clientId: string;
  /** Service name: only `keyserver` exists. */
  service: 'keyserver';
  /** Instance id (the service token's `dev` claim). */
  instance: string;
}

/** Whoever a client id names: one of the three forms. */
export type ClientIdentity = DeviceClientIdentity | ThingClientIdentity | ServiceClientIdentity;

/** MQTT client id of a user's device: `{user}:{device}`. Throws `RangeError` for a bad part. */
export function deviceClientId(user: string, device: string): string {
  return `${checked(USERNAME_PATTERN, user, 'username')}:${checked(DEVICE_ID_PATTERN, device, 'deviceId')}`;
}

/** MQTT client id of a thing: `thing:{owner}:{thing}`. Throws `RangeError` for a bad part. */
export function thingClientId(owner: string, thing: string): string {
  return `thing:${checked(USERNAME_PATTERN, owner, 'owner')}:${checked(THING_PATTERN, thing, 'thing')}`;
}

/**
 * MQTT client id of a key server instance publishing control notices:
 * `service:keyserver:{instance}` (the broker grants it publish on control topics only).
 * Throws `RangeError` for a bad instance id.
 */
export function serviceClientId(instance: string): string {
  return `service:keyserver:${checked(DEVICE_ID_PATTERN, instance, 'instance')}`;
}

const bad = (clientId: string, why: string) =>
  new WireError(
    'BAD_CLIENT_ID',
    `client id ${JSON.stringify(clientId.slice(0, MAX_CLIENT_ID_LENGTH))}: ${why}`,
  );

/**
 * Parse a client id into the identity it names. Throws {@link WireError} `BAD_CLIENT_ID` unless
 * it is exactly one of the three forms (the `thing` and `service` prefixes are reserved: no
 * username can take them).
 */
export function parseClientId(clientId: string): ClientIdentity {
  if (clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH)
    throw bad(clientId, `length must be 1–${MAX_CLIENT_ID_LENGTH}`);
  const parts = clientId.split(':');
  if (parts.length === 2) {
    const [username, deviceId] = parts as [string, string];
    if (username === 'thing' || username === 'service')
      throw bad(clientId, `"${username}:" is reserved`);
    if (USERNAME_PATTERN.test(username) && DEVICE_ID_PATTERN.test(deviceId))
      return { kind: 'device', clientId, username, deviceId };
    throw bad(clientId, 'not {username}:{deviceId}');
  }
  if (parts.length === 3) {
    const [prefix, a, b] = parts as [string, string, string];
    if (prefix === 'thing' && USERNAME_PATTERN.test(a) && THING_PATTERN.test(b))
      return { kind: 'thing', clientId, owner: a, thing: b };
    if (prefix === 'service' && a === 'keyserver' && DEVICE_ID_PATTERN.test(b))
      return { kind: 'service', clientId, service: 'keyserver', instance: b };
    throw bad(clientId, 'not thing:{owner}:{thing} or service:keyserver:{instance}');
  }
  throw bad(clientId, 'not one of the three forms');
}
