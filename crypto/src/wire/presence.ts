/**
 * Presence (docs/PROTOCOL.md §7 "Presence"): the retained UTF-8 JSON the broker publishes on
 * `sotto/v1/presence/{user}`, `{"status":"online"|"offline","at":<ms>}`; a zero-length payload
 * clears it (the user hid their presence).
 */
import { WireError } from './errors.ts';
import { count, jsonBytes, readObject } from './json.ts';

/** A user's presence as published by the broker (broker → any user device). */
export interface Presence {
  status: 'online' | 'offline';
  /** Milliseconds since the epoch: when the first device connected or the last one left. */
  at: number;
}

const WHAT = 'presence';

/** The retained payload for `presence`; `null` (hidden) is the empty payload. */
export function encodePresence(presence: Presence | null): Uint8Array {
  return presence ? jsonBytes({ status: presence.status, at: presence.at }) : new Uint8Array(0);
}

/**
 * Decode a presence payload: `null` for the empty payload (hidden); throws {@link WireError}
 * `MALFORMED` for anything else that is not a status.
 */
export function decodePresence(payload: Uint8Array): Presence | null {
  if (payload.length === 0) return null;
  const o = readObject(payload, WHAT);
  if (o.status !== 'online' && o.status !== 'offline')
    throw new WireError('MALFORMED', `${WHAT}: field "status" must be "online" or "offline"`);
  return { status: o.status, at: count(o, 'at', WHAT) };
}
