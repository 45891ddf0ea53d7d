/**
 * ACL events (docs/PROTOCOL.md §7 "ACL events"): the changes every key server publishes and
 * every broker must enforce at once — in-process in embedded mode, as UTF-8 JSON on the Redis
 * channel `{prefix}acl` in cluster mode. Never sent to clients.
 */
import { WireError } from './errors.ts';
import { bool, readObject, str, strings, typeOf } from './json.ts';

/** A change the brokers must enforce at once (key server → every broker). */
export type AclEvent =
  /**
   * Group membership changed; `removed` lost access to the group topic, `added` gained it
   * (brokers subscribe the added users' devices, so nothing sent before they hear of the
   * group is lost).
   */
  | { type: 'group-changed'; groupId: string; removed: string[]; added: string[] }
  /** One access token was revoked (logout). */
  | { type: 'token-revoked'; jti: string; username: string; deviceId: string }
  /** A device was logged out or removed. */
  | { type: 'device-revoked'; username: string; deviceId: string }
  /** A thing's credential was revoked. */
  | { type: 'thing-revoked'; owner: string; thing: string }
  /** Every token of the user was revoked (password change). */
  | { type: 'user-revoked'; username: string }
  /** The user hid or showed their presence (brokers stop or resume publishing it). */
  | { type: 'presence-visibility'; username: string; visible: boolean }
  /**
   * `username` changed their block list (issue 17): brokers re-read it before they next let a
   * DM into one of that user's inboxes.
   */
  | { type: 'blocks-changed'; username: string };

const WHAT = 'ACL event';

/** The event as the JSON text published on the Redis channel. */
export function encodeAclEvent(event: AclEvent): string {
  return JSON.stringify(event);
}

/**
 * Decode an ACL event. Throws {@link WireError} `MALFORMED` for anything not well formed and
 * `UNKNOWN_TYPE` for an unknown `type`. `added` of `group-changed` defaults to `[]` (events of
 * key servers older than the broker-made subscriptions lack it); `removed` is required.
 */
export function decodeAclEvent(input: Uint8Array | string): AclEvent {
  const o = readObject(input, WHAT);
  const type = typeOf(o, WHAT);
  switch (type) {
    case 'group-changed':
      return {
        type,
        groupId: str(o, 'groupId', WHAT),
        removed: strings(o, 'removed', WHAT),
        added: strings(o, 'added', WHAT, []),
      };
    case 'token-revoked':
      return {
        type,
        jti: str(o, 'jti', WHAT),
        username: str(o, 'username', WHAT),
        deviceId: str(o, 'deviceId', WHAT),
      };
    case 'device-revoked':
      return { type, username: str(o, 'username', WHAT), deviceId: str(o, 'deviceId', WHAT) };
    case 'thing-revoked':
      return { type, owner: str(o, 'owner', WHAT), thing: str(o, 'thing', WHAT) };
    case 'user-revoked':
      return { type, username: str(o, 'username', WHAT) };
    case 'presence-visibility':
      return { type, username: str(o, 'username', WHAT), visible: bool(o, 'visible', WHAT) };
    case 'blocks-changed':
      return { type, username: str(o, 'username', WHAT) };
    default:
      throw new WireError('UNKNOWN_TYPE', `${WHAT}: unknown type ${JSON.stringify(type)}`);
  }
}
