/**
 * The sender-key distribution codec (PROTOCOL.md §8.2): the plaintext of a
 * SENDER_KEY envelope, defined once here.
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter, equalBytes } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { sodium } from '../sodium.ts';
import { chainKeyBytes, checkIds, MAX_U32, readIds } from './ids.ts';
import { SENDER_KEY_VERSION, type SenderKeyDistribution } from './state.ts';

/**
 * Canonical encoding (PROTOCOL.md §8.2):
 * `u8 version ‖ string8 groupId ‖ string8 username ‖ string8 deviceId ‖ u32 keyId ‖
 * u32 iteration ‖ chainKey[32] ‖ signingPublicKey[32]`.
 */
export function encodeSenderKeyDistribution(dist: SenderKeyDistribution): Uint8Array {
  const s = sodium();
  checkIds(dist.groupId, dist.username, dist.deviceId);
  if (dist.chainKey.length !== chainKeyBytes()) throw new RangeError('chainKey must be 32 bytes');
  if (dist.signingPublicKey.length !== s.crypto_sign_PUBLICKEYBYTES) {
    throw new RangeError('signingPublicKey must be 32 bytes');
  }
  return new ByteWriter()
    .u8(SENDER_KEY_VERSION)
    .string8(dist.groupId)
    .string8(dist.username)
    .string8(dist.deviceId)
    .u32(dist.keyId)
    .u32(dist.iteration)
    .raw(dist.chainKey)
    .raw(dist.signingPublicKey)
    .finish();
}

/** Strict decoder for {@link encodeSenderKeyDistribution}; `CryptoError` on anything else. */
export function decodeSenderKeyDistribution(bytes: Uint8Array): SenderKeyDistribution {
  if (!(bytes instanceof Uint8Array))
    throw new CryptoError('MALFORMED', 'distribution is not bytes');
  const r = new ByteReader(bytes);
  const version = r.u8('version');
  if (version !== SENDER_KEY_VERSION) {
    throw new CryptoError('UNSUPPORTED_VERSION', `sender key distribution version ${version}`);
  }
  const ids = readIds(r);
  const keyId = r.u32('keyId');
  const iteration = r.u32('iteration');
  if (iteration === MAX_U32) throw new CryptoError('MALFORMED', 'chain exhausted');
  const chainKey = r.raw(chainKeyBytes(), 'chainKey');
  const signingPublicKey = r.raw(sodium().crypto_sign_PUBLICKEYBYTES, 'signingPublicKey');
  r.end('sender key distribution');
  return { ...ids, keyId, iteration, chainKey, signingPublicKey };
}

/** True when two distributions describe the same chain position (helper for de-duplication). */
export function sameDistribution(a: SenderKeyDistribution, b: SenderKeyDistribution): boolean {
  return equalBytes(encodeSenderKeyDistribution(a), encodeSenderKeyDistribution(b));
}
