/**
 * Wake-up pushes (docs/PROTOCOL.md §7 "Wake-up pushes"): the two formats of the Web Push path.
 *
 * - {@link WakeEvent}: broker → key server, "a message was queued for this offline device", as
 *   UTF-8 JSON on the Redis channel `{prefix}wake` in cluster mode (in-process in embedded mode).
 * - {@link PushMessage}: key server → the device's service worker, the plaintext of the
 *   RFC 8291 (`aes128gcm`) push body. It says only that something arrived: never a sender, never
 *   any of the message; `conversation` is given for group messages only, whose group id the
 *   servers know anyway (it is the topic), and is hidden from the push service by the encryption.
 */
import { groupConversation, parseConversation } from './conversations.ts';
import { WireError } from './errors.ts';
import { jsonBytes, readObject, str } from './json.ts';
import { DEVICE_ID_PATTERN, GROUP_ID_PATTERN, USERNAME_PATTERN } from './topics.ts';

/** A message was queued for a device that is not connected (broker → key server). */
export interface WakeEvent {
  username: string;
  deviceId: string;
  /** The group the message was posted to; `null` for a DM (the inbox topic says no more). */
  groupId: string | null;
}

const WAKE = 'wake event';

/** The event as the JSON text published on the Redis channel. */
export function encodeWakeEvent(event: WakeEvent): string {
  return JSON.stringify({
    username: event.username,
    deviceId: event.deviceId,
    groupId: event.groupId,
  });
}

/** Decode a wake event; throws {@link WireError} `MALFORMED` for anything not well formed. */
export function decodeWakeEvent(input: Uint8Array | string): WakeEvent {
  const o = readObject(input, WAKE);
  const groupId = o.groupId === null ? null : str(o, 'groupId', WAKE, GROUP_ID_PATTERN);
  return {
    username: str(o, 'username', WAKE, USERNAME_PATTERN),
    deviceId: str(o, 'deviceId', WAKE, DEVICE_ID_PATTERN),
    groupId,
  };
}

/** What a push tells the service worker (key server → service worker, inside `aes128gcm`). */
export interface PushMessage {
  v: 1;
  /** Something is waiting on the broker: connect and fetch it. */
  type: 'wake';
  /** `group:{groupId}` for a group message; absent for a DM (the sender stays unnamed). */
  conversation?: string;
}

const PUSH = 'push message';

/** The push body's plaintext for `wake`. */
export function encodePushMessage(wake: Pick<WakeEvent, 'groupId'>): Uint8Array {
  const m: PushMessage = { v: 1, type: 'wake' };
  if (wake.groupId !== null) m.conversation = groupConversation(wake.groupId);
  return jsonBytes(m);
}

/**
 * Decode a push body; throws {@link WireError} `MALFORMED` for anything else (a DM conversation
 * id included: the servers never name a sender).
 */
export function decodePushMessage(input: Uint8Array | string): PushMessage {
  const o = readObject(input, PUSH);
  if (o.v !== 1 || o.type !== 'wake')
    throw new WireError('MALFORMED', `${PUSH}: expected {"v":1,"type":"wake"}`);
  if (o.conversation === undefined) return { v: 1, type: 'wake' };
  const conversation = str(o, 'conversation', PUSH);
  let c;
  try {
    c = parseConversation(conversation);
  } catch (err) {
    throw new WireError('MALFORMED', `${PUSH}: bad conversation id`, { cause: err });
  }
  if (c.type !== 'group') throw new WireError('MALFORMED', `${PUSH}: only group conversations`);
  return { v: 1, type: 'wake', conversation };
}
