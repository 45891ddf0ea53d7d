/**
 * Group messages (PROTOCOL.md §8.3): the GROUP envelope, encrypted once with the
 * sender chain's message key (XChaCha20-Poly1305) and signed with its Ed25519 key.
 * {@link groupEncrypt} and {@link groupDecrypt} advance the state in place, and
 * only on success.
 *
 * Runtime: any.
 */
import { ByteReader, ByteWriter, concat, wipe } from '../bytes.ts';
import { EnvelopeType, ENVELOPE_VERSION, frameEnvelope, unframeEnvelope } from '../envelope.ts';
import { CryptoError } from '../errors.ts';
import { ed25519Sign, ed25519Verify } from '../internal/groups-ed25519.ts';
import { chainStep, kdf, LABELS } from '../kdf.ts';
import { sodium } from '../sodium.ts';
import { MAX_U32 } from './ids.ts';
import { DEVICE_ID_PATTERN, USERNAME_PATTERN } from '../wire/topics.ts';
import {
  GROUP_SIGNATURE_CONTEXT,
  type GroupEnvelopeHeader,
  type OwnSenderKey,
  SENDER_KEY_MAX_SKIP,
  SENDER_KEY_MAX_STORED_SKIPPED,
  type SenderKeyReceiverState,
} from './state.ts';

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
