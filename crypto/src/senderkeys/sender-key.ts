/**
 * Sender Keys for groups (PROTOCOL.md §8.2–8.4; Signal's Sender Keys as the model).
 *
 * Each member device has, per group, a sender chain (a 32-byte chain key that
 * advances one symmetric KDF step per message, an iteration counter and a key
 * id) and an Ed25519 signing key. It hands the chain's current position and
 * the signing public key to every other member device as a
 * {@link SenderKeyDistribution} inside the pairwise sessions (a SENDER_KEY
 * envelope whose plaintext is {@link encodeSenderKeyDistribution}). A group
 * message is encrypted once with the chain's message key (XChaCha20-Poly1305)
 * and signed with the signing key, so a member cannot forge another member's
 * messages even though all members share the chain.
 *
 * States are plain mutable objects: {@link groupEncrypt} and
 * {@link groupDecrypt} advance them in place, and only on success: a failing
 * call leaves its state exactly as it was (transactional).
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter, concat, equalBytes, wipe } from '../bytes.ts';
import { EnvelopeType, ENVELOPE_VERSION, frameEnvelope, unframeEnvelope } from '../envelope.ts';
import { CryptoError } from '../errors.ts';
import { ed25519KeyPair, ed25519Sign, ed25519Verify } from '../internal/groups-ed25519.ts';
import { chainStep, kdf, LABELS } from '../kdf.ts';
import type { KeyPair } from '../keys.ts';
import { sodium } from '../sodium.ts';
import { DEVICE_ID_PATTERN, GROUP_ID_PATTERN, USERNAME_PATTERN } from '../wire/topics.ts';

/** Version byte of distributions and serialized sender-key states. */
export const SENDER_KEY_VERSION = 1;

/** Most message keys a receiver derives ahead in one step (a larger gap is TOO_MANY_SKIPPED). */
export const SENDER_KEY_MAX_SKIP = 1000;

/** Most skipped message keys kept per sender chain; the oldest are dropped first. */
export const SENDER_KEY_MAX_STORED_SKIPPED = 2000;

/** Rotate at least this often (DESIGN.md §3): messages per chain. */
export const SENDER_KEY_MAX_MESSAGES = 1000;

/** Rotate at least this often (DESIGN.md §3): age of a chain in ms (7 days). */
export const SENDER_KEY_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** Domain string prepended to the bytes a group message signature covers. */
export const GROUP_SIGNATURE_CONTEXT = 'Sotto_v1_GroupMessageSignature';

/** KDF label that expands an injected 32-byte seed into a chain key, signing seed and key id. */
const SEED_LABEL = 'Sotto_v1_SenderKeySeed';

const STATE_KIND_OWN = 1;
const STATE_KIND_RECEIVER = 2;
const MAX_U32 = 0xffffffff;

/** Sender key material handed to other members (PROTOCOL.md §8.2). */
export interface SenderKeyDistribution {
  groupId: string;
  /** The sending member's username and device id. */
  username: string;
  deviceId: string;
  /** Identifies this chain among the sender's rotations. */
  keyId: number;
  /** Iteration of `chainKey`: the receiver can decrypt messages from here on, not before. */
  iteration: number;
  chainKey: Uint8Array;
  /** Ed25519 public key every message of the chain is signed with. */
  signingPublicKey: Uint8Array;
}

/** A device's own sending chain in one group. Secret: persist encrypted at rest. */
export interface OwnSenderKey {
  groupId: string;
  username: string;
  deviceId: string;
  keyId: number;
  /** Iteration the next message will use (= messages sent on this chain). */
  iteration: number;
  chainKey: Uint8Array;
  signing: KeyPair;
  /** When the chain was created (ms, caller's clock): drives {@link needsRotation}. */
  createdAt: number;
}

/** What a receiving device holds for one sender's chain (one key id). */
export interface SenderKeyReceiverState {
  groupId: string;
  username: string;
  deviceId: string;
  keyId: number;
  /** Iteration of the distribution: messages before it were never ours to read. */
  firstIteration: number;
  /** Next iteration the chain key would produce. */
  iteration: number;
  chainKey: Uint8Array;
  signingPublicKey: Uint8Array;
  /** Message keys derived past a gap and not used yet, by iteration (insertion = age order). */
  skipped: Map<number, Uint8Array>;
}

/** Routing data from a group envelope's header, readable without any key. */
export interface GroupEnvelopeHeader {
  username: string;
  deviceId: string;
  keyId: number;
  iteration: number;
}

function chainKeyBytes(): number {
  return sodium().crypto_generichash_BYTES;
}

function checkIds(groupId: string, username: string, deviceId: string): void {
  if (!GROUP_ID_PATTERN.test(groupId)) throw new RangeError('invalid groupId');
  if (!USERNAME_PATTERN.test(username)) throw new RangeError('invalid username');
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new RangeError('invalid deviceId');
}

function readIds(r: ByteReader): { groupId: string; username: string; deviceId: string } {
  const groupId = r.string8('groupId');
  const username = r.string8('username');
  const deviceId = r.string8('deviceId');
  if (!GROUP_ID_PATTERN.test(groupId)) throw new CryptoError('MALFORMED', 'invalid groupId');
  if (!USERNAME_PATTERN.test(username)) throw new CryptoError('MALFORMED', 'invalid username');
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new CryptoError('MALFORMED', 'invalid deviceId');
  return { groupId, username, deviceId };
}

// ---------------------------------------------------------------------------
// Creation and rotation

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

// ---------------------------------------------------------------------------
// Distribution codec

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

// ---------------------------------------------------------------------------
// Group messages

function messageAead(messageKey: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const s = sodium();
  const keyLen = s.crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
  const nonceLen = s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  const okm = kdf(messageKey, null, LABELS.senderMessageKeys, keyLen + nonceLen);
  const out = { key: okm.slice(0, keyLen), nonce: okm.slice(keyLen) };
  wipe(okm);
  return out;
}

function encodeHeader(h: GroupEnvelopeHeader): Uint8Array {
  return new ByteWriter()
    .string8(h.username)
    .string8(h.deviceId)
    .u32(h.keyId)
    .u32(h.iteration)
    .finish();
}

function groupIdBytes(groupId: string): Uint8Array {
  return new ByteWriter().string8(groupId).finish();
}

/** AD = version ‖ type ‖ string8 groupId ‖ header. */
function associatedData(groupId: string, header: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(ENVELOPE_VERSION, EnvelopeType.GROUP), groupIdBytes(groupId), header);
}

/** Signed bytes = string8 context ‖ string8 groupId ‖ envelope-without-signature. */
function signedBytes(groupId: string, unsignedEnvelope: Uint8Array): Uint8Array {
  return new ByteWriter()
    .string8(GROUP_SIGNATURE_CONTEXT)
    .string8(groupId)
    .raw(unsignedEnvelope)
    .finish();
}

interface ParsedGroupEnvelope {
  header: GroupEnvelopeHeader;
  headerBytes: Uint8Array;
  ciphertext: Uint8Array;
  signature: Uint8Array;
  unsigned: Uint8Array;
}

function parseGroupEnvelope(bytes: Uint8Array): ParsedGroupEnvelope {
  const s = sodium();
  const { type, body } = unframeEnvelope(bytes);
  if (type !== EnvelopeType.GROUP) {
    throw new CryptoError('UNKNOWN_TYPE', `envelope type ${type} is not GROUP`);
  }
  const r = new ByteReader(body);
  const username = r.string8('sender username');
  const deviceId = r.string8('sender deviceId');
  if (!USERNAME_PATTERN.test(username)) throw new CryptoError('MALFORMED', 'invalid username');
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new CryptoError('MALFORMED', 'invalid deviceId');
  const keyId = r.u32('keyId');
  const iteration = r.u32('iteration');
  const headerLength = body.length - r.remaining;
  const sigLen = s.crypto_sign_BYTES;
  if (r.remaining < s.crypto_aead_xchacha20poly1305_ietf_ABYTES + sigLen) {
    throw new CryptoError('MALFORMED', 'group envelope too short for ciphertext and signature');
  }
  const ciphertext = r.raw(r.remaining - sigLen, 'ciphertext');
  const signature = r.raw(sigLen, 'signature');
  r.end('group envelope');
  return {
    header: { username, deviceId, keyId, iteration },
    headerBytes: body.slice(0, headerLength),
    ciphertext,
    signature,
    unsigned: bytes.subarray(0, bytes.length - sigLen),
  };
}

/**
 * Sender, device and key id of a group envelope, for picking the receiver
 * state. Unauthenticated: {@link groupDecrypt} checks everything.
 */
export function peekGroupEnvelope(bytes: Uint8Array): GroupEnvelopeHeader {
  return parseGroupEnvelope(bytes).header;
}

/**
 * Encrypt `plaintext` (already padded by the caller, see padding.ts) for the
 * group and sign it (PROTOCOL.md §8.3). Advances `state` by one iteration and
 * wipes the used keys. Returns the GROUP envelope bytes.
 */
export function groupEncrypt(state: OwnSenderKey, plaintext: Uint8Array): Uint8Array {
  const s = sodium();
  if (state.iteration >= MAX_U32) {
    throw new CryptoError('OVERSIZED', 'sender chain exhausted: rotate the sender key');
  }
  const headerBytes = encodeHeader({
    username: state.username,
    deviceId: state.deviceId,
    keyId: state.keyId,
    iteration: state.iteration,
  });
  const { messageKey, nextChainKey } = chainStep(state.chainKey);
  const { key, nonce } = messageAead(messageKey);
  const ciphertext = s.crypto_aead_xchacha20poly1305_ietf_encrypt(
    plaintext,
    associatedData(state.groupId, headerBytes),
    null,
    nonce,
    key,
  );
  wipe(messageKey, key, nonce);
  const unsigned = frameEnvelope(EnvelopeType.GROUP, concat(headerBytes, ciphertext));
  const signature = ed25519Sign(signedBytes(state.groupId, unsigned), state.signing.secretKey);
  wipe(state.chainKey);
  state.chainKey = nextChainKey;
  state.iteration += 1;
  return concat(unsigned, signature);
}

/**
 * Verify and decrypt a GROUP envelope from the chain `state` holds
 * (PROTOCOL.md §8.4). Order: parse; sender, device and key id must match the
 * state (else NO_SESSION); the signature must verify (BAD_SIGNATURE) before
 * any key is derived; then the message key comes from the skipped store or by
 * stepping the chain forward (at most {@link SENDER_KEY_MAX_SKIP},
 * TOO_MANY_SKIPPED); an already used key is DUPLICATE_MESSAGE; AEAD failure is
 * DECRYPT_FAILED. `state` changes only when the plaintext is returned.
 */
export function groupDecrypt(
  state: SenderKeyReceiverState,
  envelope: Uint8Array,
  groupId: string,
): Uint8Array {
  const s = sodium();
  const parsed = parseGroupEnvelope(envelope);
  const { header } = parsed;
  if (
    groupId !== state.groupId ||
    header.username !== state.username ||
    header.deviceId !== state.deviceId ||
    header.keyId !== state.keyId
  ) {
    throw new CryptoError('NO_SESSION', 'no sender key for this group, sender and key id');
  }
  if (
    !ed25519Verify(parsed.signature, signedBytes(groupId, parsed.unsigned), state.signingPublicKey)
  ) {
    throw new CryptoError('BAD_SIGNATURE', 'group message signature does not verify');
  }

  const n = header.iteration;
  let messageKey: Uint8Array;
  // Keys derived while stepping forward; committed only on success.
  const newSkipped: [number, Uint8Array][] = [];
  let newChainKey: Uint8Array | null = null;
  if (n < state.iteration) {
    const stored = state.skipped.get(n);
    if (!stored) {
      if (n < state.firstIteration) {
        throw new CryptoError('NO_SESSION', 'message predates the sender key we hold');
      }
      throw new CryptoError('DUPLICATE_MESSAGE', `group message ${n} already decrypted or expired`);
    }
    messageKey = stored.slice();
  } else {
    if (n - state.iteration > SENDER_KEY_MAX_SKIP) {
      throw new CryptoError('TOO_MANY_SKIPPED', `gap of ${n - state.iteration} group messages`);
    }
    let ck: Uint8Array = state.chainKey.slice();
    for (let i = state.iteration; i < n; i++) {
      const step = chainStep(ck);
      newSkipped.push([i, step.messageKey]);
      wipe(ck);
      ck = step.nextChainKey;
    }
    const last = chainStep(ck);
    wipe(ck);
    messageKey = last.messageKey;
    newChainKey = last.nextChainKey;
  }

  const { key, nonce } = messageAead(messageKey);
  let plaintext: Uint8Array;
  try {
    plaintext = s.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      parsed.ciphertext,
      associatedData(groupId, parsed.headerBytes),
      nonce,
      key,
    );
  } catch (cause) {
    wipe(messageKey, key, nonce, newChainKey);
    for (const [, k] of newSkipped) wipe(k);
    throw new CryptoError('DECRYPT_FAILED', 'group message does not authenticate', { cause });
  } finally {
    wipe(key, nonce);
  }
  wipe(messageKey);

  // Commit.
  if (newChainKey === null) {
    const used = state.skipped.get(n);
    state.skipped.delete(n);
    wipe(used);
  } else {
    for (const [i, k] of newSkipped) state.skipped.set(i, k);
    wipe(state.chainKey);
    state.chainKey = newChainKey;
    state.iteration = n + 1;
    for (const [i, k] of state.skipped) {
      if (state.skipped.size <= SENDER_KEY_MAX_STORED_SKIPPED) break;
      state.skipped.delete(i);
      wipe(k);
    }
  }
  return plaintext;
}

// ---------------------------------------------------------------------------
// State persistence

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

/** True when two distributions describe the same chain position (helper for de-duplication). */
export function sameDistribution(a: SenderKeyDistribution, b: SenderKeyDistribution): boolean {
  return equalBytes(encodeSenderKeyDistribution(a), encodeSenderKeyDistribution(b));
}
