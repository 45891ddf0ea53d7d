/**
 * The held queue (PROTOCOL.md §6.7): messages from a *verified* contact whose identity key
 * changed, decrypted under the new key but neither shown nor stored as messages until the user
 * reviews the new safety number and accepts it. Kept per contact in one setting; the sessions
 * they arrived on live in the devices' held slots (sessions.ts `heldSlot`).
 */
import type { ClientStore, StoredDeviceKind, StoreOp } from '../store/types.ts';

/** One held payload. */
export interface HeldItem {
  /** Payload id (duplicates of a re-sent message are held once). */
  id: string;
  device: string;
  /** The sending device's kind. */
  kind: StoredDeviceKind;
  /** The payload's kind (only `text`, `reply` and `file` count as held messages for people). */
  payloadKind: string;
  /** The unpadded payload bytes as decrypted. */
  plaintext: Uint8Array;
  at: number;
}

/** What is held for one contact. */
export interface HeldRecord {
  items: HeldItem[];
  /** Devices with a session in their held slot. */
  devices: string[];
}

/**
 * Most payloads held per contact. Past it the newest is not held (the sender's outbox keeps
 * it and re-sends it after the key is accepted, since it was never acknowledged).
 */
export const HELD_CAP = 500;

const key = (user: string): string => `held.${user}`;

/** The held record of `user` (empty when nothing is held). */
export async function heldRecord(store: ClientStore, user: string): Promise<HeldRecord> {
  return (await store.getSetting<HeldRecord>(key(user))) ?? { items: [], devices: [] };
}

/**
 * Record that `device` has a held session and add `item` to `record` (in place; not when it is
 * held already or the queue is full); return the op that persists the record.
 */
export function hold(
  record: HeldRecord,
  user: string,
  device: string,
  item: HeldItem | null,
): StoreOp {
  if (!record.devices.includes(device)) record.devices.push(device);
  if (item && !record.items.some((i) => i.id === item.id) && record.items.length < HELD_CAP)
    record.items.push(item);
  return { op: 'setSetting', key: key(user), value: record };
}

/** How many held items are messages a person would see (not reactions, profiles, …). */
export function heldMessages(record: HeldRecord): number {
  return record.items.filter((i) => SHOWN.has(i.payloadKind)).length;
}

const SHOWN = new Set(['text', 'reply', 'file']);

/** The op that forgets everything held for `user`. */
export function clearHeldOp(user: string): StoreOp {
  return { op: 'deleteSetting', key: key(user) };
}
