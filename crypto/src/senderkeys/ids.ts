/**
 * Id checks and sizes shared by the sender-key codecs. Internal to `senderkeys/`:
 * not re-exported by the package.
 *
 * Runtime: any.
 */
import type { ByteReader } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { sodium } from '../sodium.ts';
import { DEVICE_ID_PATTERN, GROUP_ID_PATTERN, USERNAME_PATTERN } from '../wire/topics.ts';

/** Largest u32: an iteration counter that reached it is exhausted. */
export const MAX_U32 = 0xffffffff;

export function chainKeyBytes(): number {
  return sodium().crypto_generichash_BYTES;
}

export function checkIds(groupId: string, username: string, deviceId: string): void {
  if (!GROUP_ID_PATTERN.test(groupId)) throw new RangeError('invalid groupId');
  if (!USERNAME_PATTERN.test(username)) throw new RangeError('invalid username');
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new RangeError('invalid deviceId');
}

export function readIds(r: ByteReader): { groupId: string; username: string; deviceId: string } {
  const groupId = r.string8('groupId');
  const username = r.string8('username');
  const deviceId = r.string8('deviceId');
  if (!GROUP_ID_PATTERN.test(groupId)) throw new CryptoError('MALFORMED', 'invalid groupId');
  if (!USERNAME_PATTERN.test(username)) throw new CryptoError('MALFORMED', 'invalid username');
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new CryptoError('MALFORMED', 'invalid deviceId');
  return { groupId, username, deviceId };
}
