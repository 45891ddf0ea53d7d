/**
 * Sender-key state persistence (PROTOCOL.md §8.5): own chains and receiver
 * states as bytes. Contains secrets: the caller encrypts them at rest.
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter, wipe } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { ed25519KeyPair } from '../internal/groups-ed25519.ts';
import { sodium } from '../sodium.ts';
import { chainKeyBytes, checkIds, readIds } from './ids.ts';
import {
  type OwnSenderKey,
  SENDER_KEY_MAX_STORED_SKIPPED,
  SENDER_KEY_VERSION,
  type SenderKeyReceiverState,
} from './state.ts';

const STATE_KIND_OWN = 1;
const STATE_KIND_RECEIVER = 2;

/**
 * Serialize an own sender key (PROTOCOL.md §8.5):
 * `u8 version ‖ u8 1 ‖ string8 groupId ‖ string8 username ‖ string8 deviceId ‖
 * u32 keyId ‖ u32 iteration ‖ chainKey[32] ‖ signingSeed[32] ‖ u64 createdAt`.
 * Contains secrets: encrypt at rest.
 */
export function serializeOwnSenderKey(state: OwnSenderKey): Uint8Array {
  checkIds(state.groupId, state.username, state.deviceId);
  const seedLen = sodium().crypto_sign_SEEDBYTES;
  return new ByteWriter()
    .u8(SENDER_KEY_VERSION)
    .u8(STATE_KIND_OWN)
    .string8(state.groupId)
    .string8(state.username)
    .string8(state.deviceId)
    .u32(state.keyId)
    .u32(state.iteration)
    .raw(state.chainKey)
    .raw(state.signing.secretKey.subarray(0, seedLen))
    .u64(state.createdAt)
    .finish();
}

function readStateHeader(r: ByteReader, kind: number): void {
  const version = r.u8('version');
  if (version !== SENDER_KEY_VERSION) {
    throw new CryptoError('UNSUPPORTED_VERSION', `sender key state version ${version}`);
  }
  const k = r.u8('kind');
  if (k !== kind) throw new CryptoError('UNKNOWN_TYPE', `sender key state kind ${k}`);
}

/** Inverse of {@link serializeOwnSenderKey}; strict. */
export function deserializeOwnSenderKey(bytes: Uint8Array): OwnSenderKey {
  const r = new ByteReader(bytes);
  readStateHeader(r, STATE_KIND_OWN);
  const ids = readIds(r);
  const keyId = r.u32('keyId');
  const iteration = r.u32('iteration');
  const chainKey = r.raw(chainKeyBytes(), 'chainKey');
  const seed = r.raw(sodium().crypto_sign_SEEDBYTES, 'signing seed');
  const createdAt = r.u64('createdAt');
  r.end('own sender key');
  const signing = ed25519KeyPair(seed);
  wipe(seed);
  return { ...ids, keyId, iteration, chainKey, signing, createdAt };
}

/**
 * Serialize a receiver state (PROTOCOL.md §8.5):
 * `u8 version ‖ u8 2 ‖ string8 groupId ‖ string8 username ‖ string8 deviceId ‖ u32 keyId ‖
 * u32 firstIteration ‖ u32 iteration ‖ chainKey[32] ‖ signingPublicKey[32] ‖ u16 n ‖
 * n × (u32 iteration ‖ messageKey[32])` (skipped keys oldest first).
 */
export function serializeReceiverState(state: SenderKeyReceiverState): Uint8Array {
  checkIds(state.groupId, state.username, state.deviceId);
  const w = new ByteWriter()
    .u8(SENDER_KEY_VERSION)
    .u8(STATE_KIND_RECEIVER)
    .string8(state.groupId)
    .string8(state.username)
    .string8(state.deviceId)
    .u32(state.keyId)
    .u32(state.firstIteration)
    .u32(state.iteration)
    .raw(state.chainKey)
    .raw(state.signingPublicKey)
    .u16(state.skipped.size);
  for (const [i, k] of state.skipped) w.u32(i).raw(k);
  return w.finish();
}

/** Inverse of {@link serializeReceiverState}; strict. */
export function deserializeReceiverState(bytes: Uint8Array): SenderKeyReceiverState {
  const r = new ByteReader(bytes);
  readStateHeader(r, STATE_KIND_RECEIVER);
  const ids = readIds(r);
  const keyId = r.u32('keyId');
  const firstIteration = r.u32('firstIteration');
  const iteration = r.u32('iteration');
  if (iteration < firstIteration) throw new CryptoError('MALFORMED', 'iteration before first');
  const chainKey = r.raw(chainKeyBytes(), 'chainKey');
  const signingPublicKey = r.raw(sodium().crypto_sign_PUBLICKEYBYTES, 'signingPublicKey');
  const n = r.u16('skipped count');
  if (n > SENDER_KEY_MAX_STORED_SKIPPED) throw new CryptoError('MALFORMED', 'too many skipped');
  const skipped = new Map<number, Uint8Array>();
  for (let j = 0; j < n; j++) {
    const i = r.u32('skipped iteration');
    if (i < firstIteration || i >= iteration || skipped.has(i)) {
      throw new CryptoError('MALFORMED', 'skipped key out of range');
    }
    skipped.set(i, r.raw(chainKeyBytes(), 'skipped key'));
  }
  r.end('sender key receiver state');
  return { ...ids, keyId, firstIteration, iteration, chainKey, signingPublicKey, skipped };
}
