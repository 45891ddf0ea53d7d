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
   * to `seq`. `record` (base64url) is the membership record at `seq` as the key server
   * accepted it: a device holding the chain up to `seq - 1` verifies it against that chain
   * and adopts it without a fetch; anyone else fetches the chain.
   */
  | { type: 'group-changed'; groupId: string; seq: number; record?: string }
  /**
   * Key server → each device removed by an identity reset of its user, or removed by the user
   * from another device on the devices page (`removed`; sent before its tokens are revoked):
   * this device no longer belongs to the account.
   */
  | { type: 'device-removed'; reason: DeviceRemovedReason }
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

/** Why a device was removed: an identity reset, or its user removed it (issue 19). */
export type DeviceRemovedReason = 'identity-reset' | 'removed';

/** The `type` of every {@link ControlNotice}. */
export type ControlNoticeType = ControlNotice['type'];

const WHAT = 'control notice';
/** base64url without padding, non-empty. */
const RECORD_PATTERN = /^[A-Za-z0-9_-]+$/;
/** The longest `record` a `group-changed` notice carries (as the `group-change` payload). */
export const MAX_RECORD_CHARS = 8192;

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
    case 'group-changed': {
      const notice: Extract<ControlNotice, { type: 'group-changed' }> = {
        type,
        groupId: str(o, 'groupId', WHAT, GROUP_ID_PATTERN),
        seq: count(o, 'seq', WHAT),
      };
      if (o.record !== undefined) {
        const record = str(o, 'record', WHAT, RECORD_PATTERN);
        if (record.length > MAX_RECORD_CHARS)
          throw new WireError('MALFORMED', `${WHAT}: record longer than ${MAX_RECORD_CHARS}`);
        notice.record = record;
      }
      return notice;
    }
    case 'device-removed':
      if (o.reason !== 'identity-reset' && o.reason !== 'removed')
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
