/**
 * Creating, rotating and receiving sender-key chains (PROTOCOL.md §8.2, §8.4).
 *
 * Runtime: any.
 */
import { wipe } from '../bytes.ts';
import { ed25519KeyPair } from '../internal/groups-ed25519.ts';
import { kdf } from '../kdf.ts';
import { sodium } from '../sodium.ts';
import { decodeSenderKeyDistribution, encodeSenderKeyDistribution } from './distribution.ts';
import { chainKeyBytes, checkIds } from './ids.ts';
import type { KeyPair } from '../keys.ts';
import {
  type OwnSenderKey,
  SENDER_KEY_MAX_AGE_MS,
  SENDER_KEY_MAX_MESSAGES,
  type SenderKeyDistribution,
  type SenderKeyReceiverState,
} from './state.ts';

/** KDF label that expands an injected 32-byte seed into a chain key, signing seed and key id. */
const SEED_LABEL = 'Sotto_v1_SenderKeySeed';

/** Arguments of {@link createSenderKey}. */
export interface CreateSenderKeyOptions {
  groupId: string;
  username: string;
  deviceId: string;
  /** Current time in ms (caller's clock). */
  now: number;
  /**
   * 32 bytes from which chain key, signing key and key id are derived, for
   * deterministic test vectors only. Omit in real use (libsodium randomness).
   */
  seed?: Uint8Array;
  /** Key id to avoid (the one being rotated away from). */
  previousKeyId?: number;
}

/**
 * Start a fresh sender chain for this device in a group: random chain key,
 * fresh Ed25519 signing key, random key id, iteration 0.
 * Returns the own state and the distribution to send to every member device.
 */
export function createSenderKey(opts: CreateSenderKeyOptions): {
  state: OwnSenderKey;
  distribution: SenderKeyDistribution;
} {
  const s = sodium();
  checkIds(opts.groupId, opts.username, opts.deviceId);
  if (!Number.isSafeInteger(opts.now) || opts.now < 0) throw new RangeError('now must be ms');
  let chainKey: Uint8Array;
  let signing: KeyPair;
  let keyId: number;
  if (opts.seed !== undefined) {
    const ckLen = chainKeyBytes();
    const seedLen = s.crypto_sign_SEEDBYTES;
    if (opts.seed.length !== ckLen) throw new RangeError(`seed must be ${ckLen} bytes`);
    const material = kdf(opts.seed, null, SEED_LABEL, ckLen + seedLen + 4);
    chainKey = material.slice(0, ckLen);
    signing = ed25519KeyPair(material.slice(ckLen, ckLen + seedLen));
    keyId = new DataView(material.buffer, material.byteOffset + ckLen + seedLen, 4).getUint32(0);
    wipe(material);
  } else {
    chainKey = s.randombytes_buf(chainKeyBytes());
    signing = ed25519KeyPair();
    const idBytes = s.randombytes_buf(4);
    keyId = new DataView(idBytes.buffer, idBytes.byteOffset, 4).getUint32(0);
  }
  if (keyId === opts.previousKeyId) keyId = (keyId + 1) >>> 0;
  const state: OwnSenderKey = {
    groupId: opts.groupId,
    username: opts.username,
    deviceId: opts.deviceId,
    keyId,
    iteration: 0,
    chainKey,
    signing,
    createdAt: opts.now,
  };
  return { state, distribution: senderKeyDistribution(state) };
}

/**
 * Replace `state`'s chain with a fresh one (new key id, chain key and signing
 * key) and wipe the old secrets. Send the returned distribution to the members
 * that remain: a removed member keeps only the old chain and cannot read on.
 */
export function rotateSenderKey(
  state: OwnSenderKey,
  opts: { now: number; seed?: Uint8Array },
): { state: OwnSenderKey; distribution: SenderKeyDistribution } {
  const next = createSenderKey({
    groupId: state.groupId,
    username: state.username,
    deviceId: state.deviceId,
    now: opts.now,
    previousKeyId: state.keyId,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  wipe(state.chainKey, state.signing.secretKey);
  return next;
}

/** The distribution for `state`'s current position (for a member who joins now). */
export function senderKeyDistribution(state: OwnSenderKey): SenderKeyDistribution {
  return {
    groupId: state.groupId,
    username: state.username,
    deviceId: state.deviceId,
    keyId: state.keyId,
    iteration: state.iteration,
    chainKey: state.chainKey.slice(),
    signingPublicKey: state.signing.publicKey.slice(),
  };
}

/** Rotation policy knobs for {@link needsRotation}. */
export interface RotationPolicy {
  /** Current time in ms. */
  now: number;
  /** Default {@link SENDER_KEY_MAX_MESSAGES}. */
  maxMessages?: number;
  /** Default {@link SENDER_KEY_MAX_AGE_MS}. */
  maxAgeMs?: number;
}

/**
 * True when the chain has carried `maxMessages` messages or is `maxAgeMs` old
 * (DESIGN.md §3). Rotation on membership change is the caller's duty.
 */
export function needsRotation(state: OwnSenderKey, policy: RotationPolicy): boolean {
  const maxMessages = policy.maxMessages ?? SENDER_KEY_MAX_MESSAGES;
  const maxAgeMs = policy.maxAgeMs ?? SENDER_KEY_MAX_AGE_MS;
  return state.iteration >= maxMessages || policy.now - state.createdAt >= maxAgeMs;
}

/**
 * A receiver state from a distribution that arrived over an authenticated
 * pairwise session. The caller must check that the session's peer is
 * `dist.username`/`dist.deviceId` and a current member of `dist.groupId`.
 */
export function createReceiverState(dist: SenderKeyDistribution): SenderKeyReceiverState {
  const checked = decodeSenderKeyDistribution(encodeSenderKeyDistribution(dist));
  return {
    groupId: checked.groupId,
    username: checked.username,
    deviceId: checked.deviceId,
    keyId: checked.keyId,
    firstIteration: checked.iteration,
    iteration: checked.iteration,
    chainKey: checked.chainKey,
    signingPublicKey: checked.signingPublicKey,
    skipped: new Map(),
  };
}
