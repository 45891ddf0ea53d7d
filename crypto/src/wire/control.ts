/**
 * Control notices (docs/PROTOCOL.md §7 "Control notices"): the UTF-8 JSON the key server
 * publishes on `sotto/v1/control/{user}/{device}` (QoS 1). Plain JSON, not end-to-end
 * encrypted: each only tells the device to look something up or act on its own keys. The key
 * server builds them with {@link encodeControlNotice}; clients read them with
 * {@link decodeControlNotice} and ignore `UNKNOWN_TYPE`.
 */
import { WireError } from './errors.ts';
import { count, jsonBytes, readObject, str, typeOf } from './json.ts';
import { GROUP_ID_PATTERN } from './topics.ts';

/** Every notice the key server sends on a device's control topic. */
export type ControlNotice =
  /**
   * Key server → every device of every old and new member: the group's membership chain grew
   * to `seq` (fetch it).
   */
  | { type: 'group-changed'; groupId: string; seq: number }
  /**
   * Key server → each device removed by an identity reset of its user (sent before its tokens
   * are revoked): this device no longer belongs to the account's identity.
   */
  | { type: 'device-removed'; reason: 'identity-reset' }
  /**
   * Key server → one device whose one-time prekeys fell below the low-water mark through
   * claims (someone may be draining them): top up now. `remaining` is the smaller count of
   * the two kinds after the claim.
   */
  | { type: 'prekeys-low'; remaining: number }
  /**
   * Key server → every device of a user who blocked or unblocked someone (issue 17): fetch the
   * block list again (`GET /v1/me/blocks`), so all the user's devices drop the same senders.
   */
  | { type: 'blocks-changed' }
  /**
   * Key server → every device of a user an operator banned, just before their tokens are
   * revoked: show `reason` and stop reconnecting.
   */
  | { type: 'banned'; reason: string };

/** The `type` of every {@link ControlNotice}. */
export type ControlNoticeType = ControlNotice['type'];

const WHAT = 'control notice';

/** The notice as the bytes published on the control topic. */
export function encodeControlNotice(notice: ControlNotice): Uint8Array {
  return jsonBytes(notice);
}

/**
 * Decode a control-topic payload. Throws {@link WireError} `MALFORMED` for anything that is not
 * a well-formed notice and `UNKNOWN_TYPE` for a notice kind this version does not know (which
 * receivers ignore). Only the known fields are kept.
 */
export function decodeControlNotice(payload: Uint8Array | string): ControlNotice {
  const o = readObject(payload, WHAT);
  const type = typeOf(o, WHAT);
  switch (type) {
    case 'group-changed':
      return {
        type,
        groupId: str(o, 'groupId', WHAT, GROUP_ID_PATTERN),
        seq: count(o, 'seq', WHAT),
      };
    case 'device-removed':
      if (o.reason !== 'identity-reset')
        throw new WireError('MALFORMED', `${WHAT}: unknown device-removed reason`);
      return { type, reason: o.reason };
    case 'prekeys-low':
      return { type, remaining: count(o, 'remaining', WHAT) };
    case 'blocks-changed':
      return { type };
    case 'banned':
      return { type, reason: typeof o.reason === 'string' ? o.reason.slice(0, 500) : '' };
    default:
      throw new WireError('UNKNOWN_TYPE', `${WHAT}: unknown type ${JSON.stringify(type)}`);
  }
}
